"""The generated template-update workflow (.github/workflows/template-update.yml): it validates against GitHub's
workflow schema, and its own `run:` steps, executed in order as the runner would (step outputs, GITHUB_ENV, `if:`
conditions), upgrade a project to a newer tag of a cloned template and open a pull request through a stand-in `gh`;
with no newer tag they stop after the check; with a conflicting edit they fail naming the file and push nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from environment import clean_env
from template_clone import TEMPLATE_TAG, git, run_copier_cli

VENV_BIN = Path(sys.executable).parent
WORKFLOW = Path(".github") / "workflows" / "template-update.yml"
NEWER_TAG = "v0.0.1"  # newer than conftest's TEMPLATE_TAG (v0.0.0)
RELEASE_NOTE = "Release note: this line arrived with v0.0.1."
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
                "GIT_COMMITTER_EMAIL": "t@example.invalid"}
# A stand-in for the GitHub CLI: records its arguments; `pr list` finds no open pull request.
FAKE_GH = """#!/bin/sh
printf '%s\\n' "$*" >> "$GH_LOG"
exit 0
"""
CONDITION = "steps.check.outputs.newer == 'true'"


def generated_workflow(project: Path) -> dict:
    return yaml.safe_load((project / WORKFLOW).read_text())


def newer_template(template_repo: Path, root: Path, readme_title: str | None = None) -> Path:
    """A clone of the template with one more release: a README line (and optionally a new README title)."""
    newer = root / "template-newer"
    git(root, "clone", "-q", str(template_repo), str(newer))
    readme = newer / "template" / "README.md.jinja"
    text = readme.read_text() + f"\n{RELEASE_NOTE}\n"
    if readme_title:
        _, rest = text.split("\n", 1)
        text = f"{readme_title}\n{rest}"
    readme.write_text(text)
    git(newer, "commit", "-qam", "a template change")
    git(newer, "tag", NEWER_TAG)
    return newer


def project_with_origin(template: Path, root: Path, answers: dict) -> tuple[Path, Path]:
    """A project generated at TEMPLATE_TAG of `template`, committed, with a bare repository as its origin."""
    project = root / "project"
    result = run_copier_cli(template, project, "--vcs-ref", TEMPLATE_TAG, data=answers)
    assert result.returncode == 0, result.stderr
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "generated")
    origin = root / "origin.git"
    git(root, "init", "-q", "--bare", str(origin))
    git(project, "remote", "add", "origin", str(origin))
    git(project, "push", "-q", "origin", "main")
    return project, origin


def run_workflow(project: Path, root: Path) -> list[dict]:
    """The job's steps as the runner runs them: `uses:` steps are the runner's setup (checkout, Python) and the pip
    step installs what this test's venv already has; every other `run:` step runs with bash -e in the project, with
    GITHUB_OUTPUT, GITHUB_ENV and the one `if:` condition the workflow uses. Stops at the first failing step."""
    job = generated_workflow(project)["jobs"]["update"]
    bin_dir = root / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "gh").write_text(FAKE_GH)
    (bin_dir / "gh").chmod(0o755)
    runner_temp = root / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    env = clean_env(root / "home", **GIT_IDENTITY, **job.get("env", {}), RUNNER_TEMP=str(runner_temp),
                    GH_LOG=str(root / "gh.log"))
    env["PATH"] = f"{bin_dir}:{VENV_BIN}:{env['PATH']}"  # gh, then the pinned copier requirements-dev.txt names
    (root / "home").mkdir(exist_ok=True)
    outputs: dict[str, dict[str, str]] = {}
    results = []
    for step in job["steps"]:
        if "uses" in step or step.get("run", "").startswith("pip install"):
            continue
        condition = step.get("if")
        assert condition in (None, CONDITION), f"a condition this runner stand-in does not know: {condition}"
        if condition and outputs.get("check", {}).get("newer") != "true":
            results.append({"name": step.get("name"), "skipped": True})
            continue
        output_file, env_file = runner_temp / "output", runner_temp / "env"
        output_file.write_text("")
        env_file.touch()
        step_env = {**env, **{k: str(v) for k, v in step.get("env", {}).items()},
                    "GITHUB_OUTPUT": str(output_file), "GITHUB_ENV": str(env_file)}
        step_env.update(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
        proc = subprocess.run(["bash", "-eo", "pipefail", "-c", step["run"]], cwd=project, env=step_env,
                              capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, check=False)
        if "id" in step:
            outputs[step["id"]] = dict(line.split("=", 1) for line in output_file.read_text().splitlines() if line)
        results.append({"name": step.get("name") or step["run"], "rc": proc.returncode,
                        "out": proc.stdout + proc.stderr})
        if proc.returncode != 0:
            break
    return results


def test_workflow_validates_against_the_github_workflow_schema(generate):
    project = generate(cost_tracking=True)
    result = subprocess.run([str(VENV_BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                             str(project / WORKFLOW), str(project / ".github" / "workflows" / "checks.yml")],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    workflow = generated_workflow(project)
    assert "schedule" in workflow[True] and "workflow_dispatch" in workflow[True]  # YAML 1.1 reads `on` as True
    steps = workflow["jobs"]["update"]["steps"]
    assert any("scripts/migrate.sh C --upgrade" in s.get("run", "") for s in steps)
    assert "${{ secrets.TEMPLATE_UPDATE_TOKEN || github.token }}" in (project / WORKFLOW).read_text()
    assert "copier==" in (project / "requirements-dev.txt").read_text()


@pytest.mark.parametrize("answers", [{}, {"cost_tracking": True, "gateway_runtime": "process"}],
                         ids=["pattern-a", "pattern-c"])
def test_a_newer_release_is_applied_checked_and_proposed(template_repo, tmp_path, answers):
    newer = newer_template(template_repo, tmp_path)
    project, origin = project_with_origin(newer, tmp_path, answers)
    results = run_workflow(project, tmp_path)
    failed = [r for r in results if r.get("rc")]
    assert not failed, failed
    assert not any(r.get("skipped") for r in results)
    assert "a newer template release is out" in results[0]["out"]
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"] == NEWER_TAG
    assert RELEASE_NOTE in git(origin, "show", "template-update:README.md")
    assert f"Template update to {NEWER_TAG}" in git(origin, "log", "-1", "--format=%s", "template-update")
    gh_calls = (tmp_path / "gh.log").read_text().splitlines()
    assert gh_calls[0].startswith("pr list --head template-update")
    assert gh_calls[1].startswith(f"pr create --head template-update --title Template update to {NEWER_TAG}")
    doctor = next(r for r in results if "check-status.sh --offline" in r["name"])
    assert "FAIL" not in doctor["out"] and "ok    config:" in doctor["out"]
    assert git(project, "status", "--porcelain") == ""  # nothing left behind uncommitted


def test_an_up_to_date_repository_stops_after_the_check(template_repo, tmp_path):
    project, origin = project_with_origin(template_repo, tmp_path, {})
    results = run_workflow(project, tmp_path)
    assert results[0]["rc"] == 0 and "is the newest" in results[0]["out"]
    assert all(r.get("skipped") for r in results[1:]) and len(results) > 3
    assert not (tmp_path / "gh.log").exists()
    assert "template-update" not in git(origin, "branch", "--list")


def test_a_conflicting_edit_fails_the_job_naming_the_file_and_opens_nothing(template_repo, tmp_path):
    newer = newer_template(template_repo, tmp_path, readme_title="# Claude Code setup (title of the new release)")
    project, origin = project_with_origin(newer, tmp_path, {})
    readme = project / "README.md"
    _, rest = readme.read_text().split("\n", 1)
    readme.write_text("# Our team's Claude Code setup (edited by hand)\n" + rest)
    git(project, "commit", "-qam", "edit the title the release also changes")
    git(project, "push", "-q", "origin", "main")
    results = run_workflow(project, tmp_path)
    upgrade = results[-1]
    assert "Upgrade" in upgrade["name"] and upgrade["rc"] == 3, results
    assert "::error::the new template release conflicts with your edits in: README.md;" in upgrade["out"]
    assert not (tmp_path / "gh.log").exists()
    assert "template-update" not in git(origin, "branch", "--list")


def test_the_steps_pass_shellcheck(generate, tmp_path):
    """Each run step is a bash script: lint it as one (with the workflow's ${{ }} expressions kept out of it)."""
    project = generate(cost_tracking=True, corporate_proxy=True, proxy_url="http://proxy.example.com:8080")
    shellcheck = VENV_BIN / "shellcheck"
    for i, step in enumerate(generated_workflow(project)["jobs"]["update"]["steps"]):
        if "run" not in step:
            continue
        script = tmp_path / f"step{i}.sh"
        script.write_text("#!/usr/bin/env bash\nset -e\n" + step["run"])
        result = subprocess.run([str(shellcheck), "-S", "warning", str(script)], capture_output=True, text=True,
                                timeout=60, env={**os.environ}, check=False)
        assert result.returncode == 0, (step.get("name"), result.stdout)

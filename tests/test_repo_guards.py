"""Guards in generated repositories: the pre-commit hooks (local only) run with the pinned pre-commit and catch
a planted conflict marker and a planted .rej file; the CI workflow's doctor step passes on a bare machine (for the
Claude apps gateway too, where nobody signs in)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from environment import clean_env
from template_clone import git

VENV_BIN = Path(sys.executable).parent


def pre_commit(project: Path, home: Path) -> subprocess.CompletedProcess:
    env = clean_env(home, PRE_COMMIT_HOME=str(home / "pre-commit"))
    env["PATH"] = f"{VENV_BIN}:{env['PATH']}"  # pre-commit, shellcheck and check-jsonschema, all pinned
    return subprocess.run([str(VENV_BIN / "pre-commit"), "run", "--all-files"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def repo(project: Path) -> Path:
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    return project


@pytest.mark.parametrize("answers", [{}, {"cost_tracking": True}])
def test_hooks_pass_on_a_fresh_repository(generate, tmp_path, answers):
    project = repo(generate(**answers))
    result = pre_commit(project, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "shellcheck" in result.stdout and "Passed" in result.stdout
    if answers:
        assert "gateway/docker-compose.yml against the Compose Specification" in result.stdout


def test_hooks_catch_a_conflict_marker_and_a_rej_file(generate, tmp_path):
    project = generate()
    env_sh = project / "client" / "env.sh"
    env_sh.write_text(env_sh.read_text() + "<<<<<<< before updating\nexport X=1\n=======\n>>>>>>> after updating\n")
    (project / "client" / "settings.json.rej").write_text("@@ -1 +1 @@\n")
    result = pre_commit(repo(project), tmp_path)
    assert result.returncode == 1
    assert "no merge conflict markers" in result.stdout and "client/env.sh:" in result.stdout
    assert "no .rej files" in result.stdout and "client/settings.json.rej" in result.stdout


@pytest.mark.parametrize("answers", [
    {}, {"providers": ["vertex"], "gcp_project_id": "my-team-prod"},
    {"corporate_proxy": True, "proxy_url": "http://proxy.example.com:8080", "proxy_username": "alice"},
    {"cost_tracking": True},
])
def test_ci_workflow_doctor_step_passes_without_secrets(generate, tmp_path, answers):
    project = generate(**answers)
    workflow = yaml.safe_load((project / ".github" / "workflows" / "checks.yml").read_text())
    steps = workflow["jobs"]["checks"]["steps"]
    assert any(s.get("run") == "pre-commit run --all-files --show-diff-on-failure" for s in steps)
    conformance = next(s["run"] for s in steps if "conformance" in s.get("name", ""))
    offline = subprocess.run(["bash", "-eo", "pipefail", "-c", conformance], cwd=project, env=clean_env(tmp_path),
                             capture_output=True, text=True, timeout=60, check=False)
    assert offline.returncode == 0 and "PASS  pins" in offline.stdout, offline.stdout + offline.stderr
    doctor = steps[-1]["run"]
    result = subprocess.run(["bash", "-eo", "pipefail", "-c", doctor], cwd=project, env=clean_env(tmp_path),
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ci-placeholder" not in result.stdout


@pytest.mark.parametrize("answers", [
    {"oidc_issuer": "https://login.example.com"},
    {"oidc_issuer": "https://login.example.com", "corporate_proxy": True, "proxy_url": "http://proxy.example.com:8080",
     "deploy_gateway": False, "gateway_url": "https://gw.corp.example.com"},
], ids=["C", "D-client-only"])
def test_ci_workflow_passes_for_the_apps_gateway_without_a_sign_in(generate, tmp_path, answers):
    """Nobody signs in on a runner: the conformance kit's offline checks pass (the pins come from the gateway's managed
    policy), and the doctor reads the generated settings and a placeholder sign-in, never a session."""
    project = generate(cost_tracking=True, gateway_engine="claude_apps_gateway", **answers)
    steps = yaml.safe_load((project / ".github" / "workflows" / "checks.yml").read_text())["jobs"]["checks"]["steps"]
    conformance = next(s["run"] for s in steps if "conformance" in s.get("name", ""))
    offline = subprocess.run(["bash", "-eo", "pipefail", "-c", conformance], cwd=project, env=clean_env(tmp_path),
                             capture_output=True, text=True, timeout=60, check=False)
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert offline.stdout.splitlines()[-1].startswith("all 4 checks passed"), offline.stdout
    result = subprocess.run(["bash", "-eo", "pipefail", "-c", steps[-1]["run"]], cwd=project, env=clean_env(tmp_path),
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok    config: forceLoginMethod=gateway" in result.stdout
    assert "ok    credential: signed in to the gateway" in result.stdout and "ci-placeholder" not in result.stdout

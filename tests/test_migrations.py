"""Migrations between patterns with the generated scripts/migrate.sh (copier update underneath), against a committed
and tagged clone of the template, and upgrades from a real older release through the template's `_migrations`:
nothing the user owns or edited is lost."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from claude_gateway_template import versions
from claude_gateway_template.answer_migrations import ANSWERS_FILE_MARKER
from claude_gateway_template.patterns import MIGRATIONS, PATTERNS
from environment import REPO_ROOT, clean_env
from template_clone import TEMPLATE_TAG, WORKING_TREE_TAG, clone_template_since, git, run_copier_cli

PROXY = "http://proxy.example.com:8080"
SOURCES = {
    "A": {},
    "B": {"corporate_proxy": True, "proxy_url": PROXY},
    "C": {"cost_tracking": True, "gateway_runtime": "process"},
    "D": {"cost_tracking": True, "corporate_proxy": True, "proxy_url": PROXY, "gateway_runtime": "process",
          "spend_database": False},
}
FLAGS = {p.letter: (p.cost_tracking, p.corporate_proxy) for p in PATTERNS.values()}
# The migration paths of the pattern table (the seed's paths and their rollbacks).
PATHS = [(m.source, m.target) for m in MIGRATIONS]
SHARED_EDIT = "# team note: kept across migrations\n"
MIGRATE_TIMEOUT = 180


def target_data(source: str, target: str) -> dict:
    """What the user passes to migrate.sh: only what the target needs and the source does not have."""
    return {"proxy_url": PROXY} if FLAGS[target][1] and not FLAGS[source][1] else {}


def target_answers(project: Path, source: str, target: str) -> dict:
    """The answers the migrated project should have: everything the source recorded (copier keeps given answers),
    the target's two decision answers, and what the user passed for the target."""
    recorded = {k: v for k, v in yaml.safe_load((project / ".copier-answers.yml").read_text()).items()
                if not k.startswith("_")}
    cost_tracking, corporate_proxy = FLAGS[target]
    return {**recorded, **target_data(source, target), "cost_tracking": cost_tracking,
            "corporate_proxy": corporate_proxy}


def new_project(template_repo: Path, dest: Path, answers: dict, ref: str = TEMPLATE_TAG) -> Path:
    result = run_copier_cli(template_repo, dest, "--vcs-ref", ref, data=answers)
    assert result.returncode == 0, result.stderr
    return dest


def committed_project(template_repo: Path, tmp_path: Path, source: str) -> Path:
    project = new_project(template_repo, tmp_path / "project", SOURCES[source])
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "generated")
    return project


def migrate(project: Path, home: Path, target: str, *args: str, cwd: Path | None = None, env: dict | None = None,
            **data: str) -> subprocess.CompletedProcess:
    """Run the project's scripts/migrate.sh, from the project (or from `cwd`, by a relative path to the script)."""
    data_args = [a for k, v in data.items() for a in ("--data", f"{k}={v}")]
    script = os.path.relpath(project / "scripts" / "migrate.sh", cwd) if cwd else "scripts/migrate.sh"
    if "/" not in script:
        script = f"./{script}"
    return subprocess.run([script, target, *args, *data_args], cwd=cwd or project, capture_output=True,
                          text=True, timeout=MIGRATE_TIMEOUT, stdin=subprocess.DEVNULL,
                          env=env if env is not None else migrate_env(home), check=False)


def migrate_env(home: Path, **extra: str) -> dict[str, str]:
    return clean_env(home, **{"COPIER": str(Path(sys.executable).parent / "copier"), "GIT_AUTHOR_NAME": "t",
                              "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
                              "GIT_COMMITTER_EMAIL": "t@example.invalid", **extra})


def tree(root: Path) -> dict[str, bytes]:
    """Every file except git's and the gitignored ones."""
    listed = git(root, "ls-files", "--cached", "--others", "--exclude-standard").split("\n") \
        if (root / ".git").exists() else [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()]
    return {rel: (root / rel).read_bytes() for rel in listed if rel and (root / rel).is_file()}


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file() and ".git/" not in
            str(p.relative_to(root)) + "/"}


@pytest.mark.parametrize(("source", "target"), PATHS, ids=[f"{s}-to-{t}" for s, t in PATHS])
def test_migration_keeps_edits_backups_and_secrets(template_repo, tmp_path, source, target):
    home = tmp_path / "home"
    home.mkdir()
    project = committed_project(template_repo, tmp_path, source)
    fresh_target = new_project(template_repo, tmp_path / "fresh-target", target_answers(project, source, target))
    env_file = project / "gateway" / ".env"
    user_owned = {}
    if env_file.parent.exists():
        assert subprocess.run(["scripts/init-secrets.sh"], cwd=project, env=clean_env(home), capture_output=True,
                              timeout=60, check=False).returncode == 0
        # The user's own LiteLLM settings: created by init-secrets.sh, edited and committed by the user.
        local_config = project / "gateway" / "litellm_config.local.yaml"
        local_config.write_text(local_config.read_text() + "# our own additions\n")
        user_owned["gateway/litellm_config.local.yaml"] = local_config.read_bytes()
        git(project, "add", "-A")
    env_before = env_file.read_bytes() if env_file.exists() else None

    # The user's edits: one in a file both patterns produce, one in a file the migration will remove (if any).
    with (project / "client" / "install.sh").open("a") as f:
        f.write(SHARED_EDIT)
    removed = sorted(set(tree(project)) - set(tree(fresh_target)) - {".copier-answers.yml"} - set(user_owned))
    edited_removed = removed[0] if removed else None
    if edited_removed:
        with (project / edited_removed).open("a") as f:
            f.write("# user edit in a file the migration removes\n")
    git(project, "commit", "-qam", "user edits")

    result = migrate(project, home, target, **target_data(source, target))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"now Pattern {target}" in result.stdout

    # The migrated tree equals a fresh copy with the target answers, apart from the user's edit.
    migrated, fresh = tree(project), tree(fresh_target)
    for rel, content in user_owned.items():  # files the user owns: untouched by the migration
        assert migrated.pop(rel) == content, rel
    assert migrated["client/install.sh"].endswith(SHARED_EDIT.encode())
    migrated["client/install.sh"] = migrated["client/install.sh"][:-len(SHARED_EDIT)]
    assert yaml.safe_load(migrated.pop(".copier-answers.yml")) == yaml.safe_load(fresh.pop(".copier-answers.yml"))
    assert sorted(migrated) == sorted(fresh)
    for rel in fresh:
        assert migrated[rel] == fresh[rel], rel

    if edited_removed:
        assert f"saved your edited copies of: {edited_removed}" in result.stdout
        [saved] = list((project / ".migration-backup").glob(f"*/{edited_removed}"))
        assert saved.read_text().endswith("# user edit in a file the migration removes\n")
    if env_before is not None:
        assert env_file.read_bytes() == env_before  # gateway/.env byte for byte


@pytest.mark.parametrize(("source", "target"), PATHS, ids=[f"{s}-to-{t}" for s, t in PATHS])
def test_conflicting_edit_exits_non_zero_and_names_the_file(template_repo, tmp_path, source, target):
    project = committed_project(template_repo, tmp_path, source)
    readme = project / "README.md"
    lines = readme.read_text().splitlines(keepends=True)
    readme.write_text("# Our team's Claude Code setup (edited by hand)\n" + "".join(lines[1:]))
    git(project, "commit", "-qam", "edit the title the template also changes")
    result = migrate(project, tmp_path, target, **target_data(source, target))
    assert result.returncode == 3, result.stdout + result.stderr
    assert "  CONFLICT README.md" in result.stdout
    assert "resolve:" in result.stderr and "abort:" in result.stderr


@pytest.mark.parametrize(("source", "target"), PATHS, ids=[f"{s}-to-{t}" for s, t in PATHS])
def test_dirty_tree_is_refused_and_preview_changes_nothing(template_repo, tmp_path, source, target):
    project = committed_project(template_repo, tmp_path, source)
    before = snapshot(project)
    preview = migrate(project, tmp_path, target, "--preview", **target_data(source, target))
    assert preview.returncode == 0, preview.stdout + preview.stderr
    assert "preview only: nothing was changed" in preview.stdout
    assert snapshot(project) == before

    (project / "notes.txt").write_text("work in progress\n")
    dirty = migrate(project, tmp_path, target, **target_data(source, target))
    assert dirty.returncode == 1
    assert "uncommitted or untracked changes" in dirty.stderr and "nothing was changed" in dirty.stderr
    assert snapshot(project) == {**before, "notes.txt": b"work in progress\n"}


def test_not_a_git_repository_is_refused(template_repo, tmp_path):
    project = new_project(template_repo, tmp_path / "project", {})
    result = migrate(project, tmp_path, "C")
    assert result.returncode == 1 and "this is not a git repository" in result.stderr


MARKER = ANSWERS_FILE_MARKER


@pytest.fixture(scope="module")
def pattern_a(template_repo, tmp_path_factory) -> Path:
    """One committed Pattern A project for the refusals (none of them changes it)."""
    return committed_project(template_repo, tmp_path_factory.mktemp("pattern-a"), "A")


def assert_refused(result: subprocess.CompletedProcess, reason: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and reason in result.stderr, result.stderr  # one clear line
    assert result.stderr.startswith("migrate.sh: ") and result.stderr.endswith("; nothing was changed\n")


# What the gateway's scripts leave in gateway/ at run time (run-local.sh, build-ca-bundle.sh): never committed.
RUNTIME_FILES = ["gateway/.venv/bin/python", "gateway/litellm.pid", "gateway/litellm.log", "gateway/ca-bundle.pem"]


def status_and_hashes(root: Path) -> tuple[str, dict[str, str]]:
    """git status and a hash of every file (gitignored ones too, .git/ aside): equal means byte-unchanged."""
    return git(root, "status", "--porcelain", "--untracked-files=all", "--ignored"), {
        rel: hashlib.sha256(content).hexdigest() for rel, content in snapshot(root).items()}


def test_a_to_c_to_a_to_c_keeps_the_salt_key_ignores_runtime_files_and_works_from_anywhere(template_repo, pattern_a,
                                                                                           tmp_path):
    """The round trip, with the migrations run from elsewhere (another generated repository, a plain directory):
    each one changes its own repository only; the gateway's runtime files stay ignored after the rollback, so the
    next migration is not refused and `git add -A` does not commit them."""
    project = committed_project(template_repo, tmp_path, "A")
    other = pattern_a  # the caller's own repository (another generated one): must stay untouched
    other_before = status_and_hashes(other)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    first = migrate(project, tmp_path, "C", cwd=other)  # ../project/scripts/migrate.sh C
    assert first.returncode == 0, first.stdout + first.stderr
    assert status_and_hashes(other) == other_before
    git(project, "add", "-A")
    git(project, "commit", "-qm", "to C")
    subprocess.run(["scripts/init-secrets.sh"], cwd=project, env=clean_env(tmp_path), check=True, capture_output=True,
                   timeout=60)
    git(project, "add", "-A")  # the user commits gateway/litellm_config.local.yaml (gateway/.env stays ignored)
    git(project, "commit", "-qm", "secrets and local config")
    env_first = (project / "gateway" / ".env").read_text()
    for rel in RUNTIME_FILES:  # the gateway ran on this host
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text("runtime\n")
    for target, cwd in (("A", other), ("C", elsewhere)):
        result = migrate(project, tmp_path, target, cwd=cwd)
        assert result.returncode == 0, result.stdout + result.stderr
        status = git(project, "status", "--porcelain", "--untracked-files=all")
        assert not [rel for rel in RUNTIME_FILES if rel in status], status
        git(project, "add", "-A")
        git(project, "commit", "-qm", f"to {target}")
        assert not set(RUNTIME_FILES) & set(git(project, "ls-files").split()), target
    assert status_and_hashes(other) == other_before
    assert list(elsewhere.iterdir()) == []
    subprocess.run(["scripts/init-secrets.sh"], cwd=project, env=clean_env(tmp_path), check=True, capture_output=True,
                   timeout=60)
    assert (project / "gateway" / ".env").read_text() == env_first


def test_usage_errors(pattern_a, tmp_path):
    assert migrate(pattern_a, tmp_path, "E").returncode == 2
    refused = migrate(pattern_a, tmp_path, "C", cost_tracking="false")
    assert refused.returncode == 1 and "give the target pattern" in refused.stderr
    # --engine: an engine of the table, for a pattern with a gateway, never through --data.
    no_gateway = migrate(pattern_a, tmp_path, "B", "--engine", "litellm")
    assert no_gateway.returncode == 2 and "--engine needs a pattern with a gateway (C or D), not B" in no_gateway.stderr
    unknown = migrate(pattern_a, tmp_path, "C", "--engine=envoy")
    assert unknown.returncode == 2 and ("--engine envoy: not an engine (litellm, claude_apps_gateway, "
                                        "claude_apps_gateway_with_litellm)") in unknown.stderr
    assert_refused(migrate(pattern_a, tmp_path, "C", gateway_engine="litellm"), "give the engine with --engine")


def test_the_answers_file_carries_the_marker_and_help_documents_the_exit_codes(pattern_a, tmp_path):
    assert MARKER in (pattern_a / ".copier-answers.yml").read_text().splitlines()
    help_text = migrate(pattern_a, tmp_path, "--help").stdout
    assert "Exit:" in help_text and all(f"{code} " in help_text for code in ("0", "1", "2", "3"))


def test_missing_home_git_or_copier_is_one_line_and_changes_nothing(pattern_a, tmp_path):
    before = status_and_hashes(pattern_a)
    no_home = migrate_env(tmp_path)
    del no_home["HOME"]
    assert_refused(migrate(pattern_a, tmp_path, "C", env=no_home), "HOME is not set")
    assert_refused(migrate(pattern_a, tmp_path, "C", env=migrate_env(tmp_path, COPIER=str(tmp_path / "nope"))),
                   "copier not found")
    no_git = tmp_path / "bin-without-git"  # the usual tools, but no git
    no_git.mkdir()
    for name in ("bash", "env", "dirname", "basename", "sed", "grep", "head", "tail", "awk", "cat", "mktemp", "rm"):
        if shutil.which(name):
            (no_git / name).symlink_to(shutil.which(name))
    assert_refused(migrate(pattern_a, tmp_path, "C", env=migrate_env(tmp_path, PATH=str(no_git))), "git not found")
    assert status_and_hashes(pattern_a) == before


def test_a_foreign_copier_project_is_refused_and_none_of_its_template_runs(pattern_a, tmp_path):
    """The script copied into another template's project: its answers file (without and with this template's
    answer names, even with the marker line) never gets its template run with --trust."""
    foreign_template = tmp_path / "foreign-template"
    foreign_template.mkdir()
    (foreign_template / "copier.yml").write_text(
        "_tasks:\n  - command: touch task-ran\n    when: \"{{ _copier_operation == 'update' }}\"\n"
        "name:\n  type: str\n  default: x\n")
    (foreign_template / "README.md.jinja").write_text("hello {{ name }}\n")
    (foreign_template / "{{_copier_conf.answers_file}}.jinja").write_text("{{ _copier_answers|to_nice_yaml -}}\n")
    git(foreign_template, "init", "-q", "-b", "main")
    git(foreign_template, "add", "-A")
    git(foreign_template, "commit", "-qm", "a foreign template")
    git(foreign_template, "tag", "v1.0.0")
    project = new_project(foreign_template, tmp_path / "foreign", {}, ref="v1.0.0")
    shutil.copytree(pattern_a / "scripts", project / "scripts")
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "a foreign project with our script")
    answers = project / ".copier-answers.yml"
    for extra, reason in (("", "was not written by claude-gateway-template"),
                          ("cost_tracking: false\ncorporate_proxy: false\n", "is not claude-gateway-template"),
                          (f"{MARKER}\n", "is not claude-gateway-template")):
        answers.write_text(answers.read_text() + extra)
        git(project, "commit", "-qam", "answers", "--allow-empty")
        before = status_and_hashes(project)
        for args in (("C",), ("A", "--upgrade")):
            assert_refused(migrate(project, tmp_path, *args), reason)
            assert status_and_hashes(project) == before
            assert not (project / "task-ran").exists()


def test_an_answers_file_from_before_the_marker_is_taken_when_its_template_history_has_it(template_repo, tmp_path):
    """Releases before 0.3.0 wrote no marker line. A project from such a release, running this migrate.sh (say,
    fetched on its own), is still migrated: its source's newest release carries the line and the project's
    version is in its history. The upgrade writes the line. (Projects upgraded by their own older migrate.sh:
    test_upgrade_from_an_older_release_...)"""
    template = tmp_path / "template"
    git(tmp_path, "clone", "-q", str(template_repo), str(template))
    # Before the marker: the answers file does not write it, and the template source does not define it as the
    # whole line migrate.sh looks for (the same value, spelled otherwise).
    answers_template = template / "template" / "{{_copier_conf.answers_file}}.jinja"
    definition = template / "extensions" / "claude_gateway_template" / "answer_migrations.py"
    texts = {path: path.read_text() for path in (answers_template, definition)}
    answers_template.write_text(texts[answers_template].replace("{{ answers_file_marker }}\n", ""))
    line = f"ANSWERS_FILE_MARKER = {json.dumps(MARKER)}"
    assert line in texts[definition].splitlines()
    definition.write_text(texts[definition].replace(line, f"ANSWERS_FILE_MARKER = ({json.dumps(MARKER)})"))
    git(template, "commit", "-qam", "a release before the marker")
    git(template, "tag", "v0.0.1")
    for path, text in texts.items():
        path.write_text(text)
    git(template, "commit", "-qam", "the marker")
    git(template, "tag", "v0.0.2")
    project = new_project(template, tmp_path / "project", {}, ref="v0.0.1")
    answers = project / ".copier-answers.yml"
    assert MARKER not in answers.read_text()
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "generated at v0.0.1")
    result = migrate(project, tmp_path, "A", "--upgrade")
    assert result.returncode == 0, result.stdout + result.stderr
    assert MARKER in answers.read_text().splitlines() and yaml.safe_load(answers.read_text())["_commit"] == "v0.0.2"


def test_upgrade_takes_the_new_release_and_keeps_the_pattern(template_repo, tmp_path):
    """`scripts/migrate.sh <same pattern> --upgrade` moves to the template's newest tag, with the same safety net."""
    project = committed_project(template_repo, tmp_path, "C")
    newer = tmp_path / "template-newer"
    git(tmp_path, "clone", "-q", str(template_repo), str(newer))
    readme = newer / "template" / "README.md.jinja"
    readme.write_text(readme.read_text() + "\nRelease note: this line arrived with v0.0.1.\n")
    # The running scripts/migrate.sh is rewritten by the update; a longer start must not derail the run (bash reads
    # a script while it runs it).
    script = newer / "template" / "scripts" / "migrate.sh.jinja"
    script.write_text(script.read_text().replace("\n", "\n# a comment line that arrived with v0.0.1\n", 1))
    git(newer, "commit", "-qam", "a template change")
    git(newer, "tag", "v0.0.1")
    answers_file = project / ".copier-answers.yml"
    answers_file.write_text(answers_file.read_text().replace(str(template_repo), str(newer)))
    git(project, "commit", "-qam", "point at the newer template clone")

    same = migrate(project, tmp_path, "C")
    assert same.returncode == 0 and "already Pattern C; nothing to do" in same.stdout
    result = migrate(project, tmp_path, "C", "--upgrade")
    assert result.returncode == 0, result.stdout + result.stderr
    assert yaml.safe_load(answers_file.read_text())["_commit"] == "v0.0.1"
    assert "Release note: this line arrived with v0.0.1." in (project / "README.md").read_text()
    assert "arrived with v0.0.1" in (project / "scripts" / "migrate.sh").read_text()
    assert "now Pattern C" in result.stdout and not list((project / "scripts").glob(".migrate.sh*"))
    assert yaml.safe_load(answers_file.read_text())["cost_tracking"] is True


# -------------------------------------------------------------------------------------------------------
# Upgrades from a real older release (a tag in the template's own history) to the code under test
# -------------------------------------------------------------------------------------------------------
OLD_RELEASE = "v0.1.0"  # before the answer ca_bundle was renamed corporate_ca_cert (the 0.2.0 migration)


@pytest.fixture(scope="module")
def template_since_old_release(tmp_path_factory) -> Path:
    return clone_template_since(OLD_RELEASE, tmp_path_factory.mktemp("history") / "template")


def test_upgrade_from_an_older_release_runs_its_migration_and_keeps_edits_and_secrets(
        template_since_old_release, tmp_path):
    template, home = template_since_old_release, tmp_path / "home"
    home.mkdir()
    project = new_project(template, tmp_path / "project",
                          {**SOURCES["D"], "ca_bundle": "/etc/corp/ca.pem", "no_proxy_hosts": ".corp.example.com"},
                          ref=OLD_RELEASE)
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "generated at " + OLD_RELEASE)
    assert subprocess.run(["scripts/init-secrets.sh"], cwd=project, env=clean_env(home), capture_output=True,
                          timeout=60, check=False).returncode == 0
    env_file = project / "gateway" / ".env"
    env_before = env_file.read_bytes()
    local_config = project / "gateway" / "litellm_config.local.yaml"
    local_config.write_text(local_config.read_text() + "# our own additions\n")
    # User edits in template-owned files: one the upgrade leaves alone, one it changes (the renamed answer's name).
    # (client/install.sh changed at its end since v0.1.0, so an edit appended there would now rightly conflict.)
    edits = {"scripts/health-check.sh": SHARED_EDIT, "docs/egress-allowlist.md": "\nOur proxy team: #net-help\n"}
    for rel, edit in edits.items():
        with (project / rel).open("a") as f:
            f.write(edit)
    git(project, "add", "-A")
    git(project, "commit", "-qm", "user edits")

    before = snapshot(project)
    preview = migrate(project, home, "D", "--upgrade", "--preview")
    assert preview.returncode == 0, preview.stdout + preview.stderr
    assert "changed .copier-answers.yml" in preview.stdout and "nothing was changed" in preview.stdout
    assert snapshot(project) == before

    result = migrate(project, home, "D", "--upgrade")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "now Pattern D" in result.stdout and "CONFLICT" not in result.stdout

    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == WORKING_TREE_TAG
    # The migration ran: the old answer's value now lives under its new name (without it copier would have dropped
    # the unknown ca_bundle and the CA would be gone).
    assert "ca_bundle" not in answers and answers["corporate_ca_cert"] == "/etc/corp/ca.pem"
    assert "export NODE_EXTRA_CA_CERTS=/etc/corp/ca.pem" in (project / "client" / "env.sh").read_text()

    # The upgraded tree equals a fresh copy at the code under test, apart from the user's edits and own files.
    fresh = tree(new_project(template, tmp_path / "fresh", {k: v for k, v in answers.items() if k[0] != "_"},
                             ref=WORKING_TREE_TAG))
    upgraded = tree(project)
    assert upgraded.pop("gateway/litellm_config.local.yaml").endswith(b"# our own additions\n")
    for rel, edit in edits.items():
        assert upgraded[rel].endswith(edit.encode()), rel
        upgraded[rel] = upgraded[rel][:-len(edit)]
    assert sorted(upgraded) == sorted(fresh)
    for rel in fresh:
        assert upgraded[rel] == fresh[rel], rel
    assert env_file.read_bytes() == env_before  # gateway/.env byte for byte
    assert not (project / ".migration-backup").exists()  # nothing was removed, so nothing needed saving


@pytest.fixture(scope="module")
def template_since_0_2_0(tmp_path_factory) -> Path:
    return clone_template_since("v0.2.0", tmp_path_factory.mktemp("history-0.2.0") / "template")


def test_upgrade_from_0_2_0_brings_the_new_pins_everywhere_and_passes_the_offline_checks(template_since_0_2_0,
                                                                                          tmp_path):
    """The path users take for a LiteLLM bump: a repository generated at the 0.2.0 release (LiteLLM 1.108.7),
    upgraded with `migrate.sh <pattern> --upgrade`, ends with the pins of versions.py in every file and
    `conformance.sh --offline` agrees."""
    template, home = template_since_0_2_0, tmp_path / "home"
    home.mkdir()
    project = new_project(template, tmp_path / "project", SOURCES["C"], ref="v0.2.0")
    assert "litellm[proxy]==1.108.7" in (project / "gateway" / "requirements.txt").read_text()
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "generated at v0.2.0")

    result = migrate(project, home, "C", "--upgrade")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "CONFLICT" not in result.stdout
    requirements = (project / "gateway" / "requirements.txt").read_text()
    assert f"litellm=={versions.LITELLM_VERSION}" in requirements and "1.108.7" not in requirements
    compose = yaml.safe_load((project / "gateway" / "docker-compose.yml").read_text())
    assert compose["services"]["litellm"]["image"] == versions.LITELLM_IMAGE
    assert f"LITELLM_VERSION={versions.LITELLM_VERSION}" in (project / "versions.env").read_text()
    offline = subprocess.run(["scripts/conformance.sh", "--offline"], cwd=project, env=clean_env(home),
                             capture_output=True, text=True, timeout=120, check=False)
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert f"LITELLM_VERSION={versions.LITELLM_VERSION}" in offline.stdout


# copier for migrate.sh whose `update` stops half-way: it changes the tree as an update does, notes its PID, and
# waits (for the test's signal); every other command is the real copier.
HALF_WAY_COPIER = """#!{python}
import os, sys, time
from pathlib import Path
if sys.argv[1:2] != ["update"]:
    os.execv({real!r}, [{real!r}, *sys.argv[1:]])
Path("client/env.sh").write_text("half-migrated\\n")
Path("README.md").unlink()
Path("gateway").mkdir(exist_ok=True)
Path("gateway/litellm_config.yaml").write_text("half-migrated\\n")
Path(os.environ["HALF_WAY_PID"]).write_text(str(os.getpid()))
time.sleep(300)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "State:\tZ" not in Path(f"/proc/{pid}/status").read_text() \
        if Path("/proc").is_dir() else True


SIGINT_DEFAULT_EXEC = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                       "os.execv(sys.argv[1], sys.argv[1:])")


@pytest.mark.parametrize(("signal_number", "exit_code"), [(15, 143), (2, 130)], ids=["SIGTERM", "SIGINT"])
def test_a_migration_stopped_mid_copier_stops_copier_and_leaves_the_old_tree(template_repo, tmp_path, signal_number,
                                                                             exit_code):
    """migrate.sh stopped while copier update runs: copier is stopped (by its PID) and the tree is the commit it
    started from, the user's gitignored gateway/.env untouched."""
    home = tmp_path / "home"
    home.mkdir()
    project = committed_project(template_repo, tmp_path, "A")
    (project / "gateway").mkdir()
    (project / "gateway" / ".env").write_text("LITELLM_MASTER_KEY=sk-mine\n")  # gitignored, the user's
    before = status_and_hashes(project)
    fake, pid_file = tmp_path / "copier", tmp_path / "copier.pid"
    fake.write_text(HALF_WAY_COPIER.format(python=sys.executable, real=str(Path(sys.executable).parent / "copier")))
    fake.chmod(0o755)
    # As from a terminal: a suite started as a background job inherits SIGINT ignored, and bash cannot trap a
    # signal ignored on entry (this test then failed only under `.ci/run &`).
    # (Python resets SIGINT and then execs migrate.sh: the same PID.)
    process = subprocess.Popen([sys.executable, "-c", SIGINT_DEFAULT_EXEC, "scripts/migrate.sh", "C"], cwd=project,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=migrate_env(home, COPIER=str(fake), HALF_WAY_PID=str(pid_file)))
    copier_pid = None
    try:
        for _ in range(MIGRATE_TIMEOUT * 10):  # bounded: until the update is half-way
            if pid_file.exists() and pid_file.read_text() or process.poll() is not None:
                break
            time.sleep(0.1)
        assert pid_file.exists(), process.communicate(timeout=60)
        copier_pid = int(pid_file.read_text())
        assert (project / "client" / "env.sh").read_text() == "half-migrated\n"  # the tree is half-migrated
        process.send_signal(signal_number)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        if copier_pid and alive(copier_pid):
            os.kill(copier_pid, 9)
    assert process.returncode == exit_code, out + err
    assert err.splitlines()[-1] == (f"migrate.sh: stopped; the tree is back at {git(project, 'rev-parse', 'HEAD')[:12]}"
                                    " as it was, nothing was changed"), err
    assert not alive(copier_pid)
    assert status_and_hashes(project) == before


def test_rename_answers_keeps_every_other_line_and_refuses_two_different_values(tmp_path):
    """The migration step itself, as copier runs it: the answers file keeps its comments, order and other values."""
    answers_file = tmp_path / ".copier-answers.yml"
    text = ("# Changes here will be overwritten by Copier\n_commit: v0.1.0\nca_bundle: '/etc/corp/my ca.pem'\n"
            "corporate_proxy: true\nproviders:\n- anthropic\n")
    step = [sys.executable, str(REPO_ROOT / "extensions" / "context.py"), "rename-answers", str(answers_file)]

    answers_file.write_text(text)
    result = subprocess.run(step, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "renamed the answer ca_bundle -> corporate_ca_cert" in result.stdout
    assert answers_file.read_text() == text.replace("ca_bundle:", "corporate_ca_cert:")

    again = subprocess.run(step, capture_output=True, text=True, timeout=60, check=False)  # idempotent: nothing left to rename
    assert again.returncode == 0 and again.stdout == ""
    assert answers_file.read_text() == text.replace("ca_bundle:", "corporate_ca_cert:")

    answers_file.write_text(text + "corporate_ca_cert: /etc/other.pem\n")
    refused = subprocess.run(step, capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode == 1
    assert "both ca_bundle ('/etc/corp/my ca.pem') and corporate_ca_cert ('/etc/other.pem') are set" in refused.stderr
    assert answers_file.read_text() == text + "corporate_ca_cert: /etc/other.pem\n"  # untouched


def test_min_copier_version_is_the_tested_one():
    """`_min_copier_version` promises what the tests run: the pinned copier."""
    pinned = next(line.split("==")[1].strip() for line in (REPO_ROOT / "requirements.txt").read_text().splitlines()
                  if line.startswith("copier=="))
    assert yaml.safe_load((REPO_ROOT / "copier.yml").read_text())["_min_copier_version"] == pinned

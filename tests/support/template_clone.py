"""TEST SUPPORT: the template under test as copier reads it (a committed, tagged git clone of the working tree, or
the template's own history with the working tree on top), and the copier CLI as a user runs it. Also used by bench/."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from environment import REPO_ROOT

TEMPLATE_TAG = "v0.0.0"  # the test clone's tag; copier refuses to update projects from untagged templates
# Released tags and their commits (CHANGELOG.md), for upgrade tests from a real older release: a clone may not
# carry the tags.
RELEASE_COMMITS = {"v0.1.0": "ee22418aa2ec93cf6556ffb9a5eaf5f82f3b17a2",
                   "v0.2.0": "2f3ee3051f7be9accd2bed198bfbbd4d7d27eb32",
                   "v0.3.0": "c86bbaab11987a5a113e0c4160ea24636fc6f61c"}
WORKING_TREE_TAG = "v999.0.0"  # the code under test in a history clone: newer than any release

GIT_ENV = {
    "GIT_AUTHOR_NAME": "template tests", "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "template tests", "GIT_COMMITTER_EMAIL": "tests@example.invalid",
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}, timeout=60).stdout


def copy_working_tree(clone: Path) -> None:
    """The working tree's template files (committed or not) into `clone`; tests, CI and benchmarks stay out."""
    files = git(REPO_ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z").split("\0")
    for rel in filter(None, files):
        source = REPO_ROOT / rel
        if rel.startswith(("tests/", ".ci/", "bench/")) or not source.is_file():
            continue
        (clone / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, clone / rel)


def clone_template(clone: Path) -> Path:
    """The working tree's template as a fresh, committed and tagged git repo at `clone` (copier reads templates
    from git and needs a tag for updates). Also used by bench/."""
    copy_working_tree(clone)
    git(clone, "init", "-q", "-b", "main")
    git(clone, "add", "-A")
    git(clone, "commit", "-qm", "template under test")
    git(clone, "tag", TEMPLATE_TAG)
    return clone


def clone_template_since(release: str, clone: Path) -> Path:
    """The template's own git history from `release` (a real tag) with the working tree committed on top as
    WORKING_TREE_TAG: a project copied at `release` upgrades to the code under test, through every `_migrations`
    step in between. Other tags are dropped so the working tree is the newest release."""
    git(clone.parent, "clone", "-q", "--no-hardlinks", str(REPO_ROOT), str(clone))
    if not git(clone, "tag", "--list", release).strip():  # a clone that did not bring the tags still has the commit
        git(clone, "tag", release, RELEASE_COMMITS[release])
    for tag in git(clone, "tag", "--list").split():
        if tag != release:
            git(clone, "tag", "-d", tag)
    git(clone, "rm", "-rqf", "--", ".")
    copy_working_tree(clone)
    git(clone, "add", "-A")
    git(clone, "commit", "-qm", "working tree under test", "--allow-empty")
    git(clone, "tag", WORKING_TREE_TAG)
    return clone


def copier_cli() -> list[str]:
    return [str(Path(sys.executable).parent / "copier")]


def run_copier_cli(template: Path, dest: Path, *args: str, data: dict | None = None,
                   trust: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The copier CLI as a user runs it (non-interactive); returns the finished process."""
    cmd = [*copier_cli(), "copy", "--defaults", *(["--trust"] if trust else [])]
    for key, value in (data or {}).items():
        rendered = value if isinstance(value, str) else json.dumps(value)  # JSON is YAML, as copier parses it
        cmd += ["--data", f"{key}={rendered}"]
    cmd += [*args, str(template), str(dest)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                          check=False, cwd=cwd)

"""`make lint`: ruff on the paths tests/test_lint.py lists, shellcheck on this repository's own shell scripts, and
commit subjects of at most 72 characters since the last release (merges included).

The last release is the newest `v*` tag; a clone without tags falls back to the newest commit in
the tests' RELEASE_COMMITS (tests/support/template_clone.py). Exit 1 naming every finding."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO_ROOT / "tests"), str(REPO_ROOT / "tests" / "support")]  # test_lint, template_clone
MAX_SUBJECT = 72
# Generated output and recorded trees are checked by the tests (shellcheck on every generated script), not here.
NOT_OURS = ("template/", "includes/", "tests/golden/")
_SHELL = re.compile(rb"^#!.*\b(?:ba|da)?sh\b")


def tool(name: str) -> str:
    return shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name) or name


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout


def ruff() -> int:
    from test_lint import LINTED

    return subprocess.call([tool("ruff"), "check", "--no-cache", "--config", "ruff.toml", *LINTED], cwd=REPO_ROOT)


def shell_scripts() -> list[str]:
    scripts = []
    for path in git("ls-files", "-z").split("\0"):
        if not path or path.startswith(NOT_OURS) or not (REPO_ROOT / path).is_file():
            continue
        with open(REPO_ROOT / path, "rb") as file:
            if path.endswith(".sh") or _SHELL.match(file.readline()):
                scripts.append(path)
    return scripts


def shellcheck() -> int:
    scripts = shell_scripts()
    return subprocess.call([tool("shellcheck"), *scripts], cwd=REPO_ROOT) if scripts else 0


def last_release() -> str:
    tags = git("tag", "--list", "v*", "--sort=-v:refname").split()
    if tags:
        return tags[0]
    from template_clone import RELEASE_COMMITS  # where the tests keep the released tags' commits

    newest = max(RELEASE_COMMITS, key=lambda tag: tuple(int(part) for part in tag[1:].split(".")))
    return RELEASE_COMMITS[newest]


def long_subjects(since: str) -> list[str]:
    log = git("log", "--format=%h %s", f"{since}..HEAD")
    return [line for line in log.splitlines() if len(line.split(" ", 1)[1]) > MAX_SUBJECT]


def main() -> int:
    failed = []
    if ruff():
        failed.append("ruff")
    if shellcheck():
        failed.append("shellcheck")
    since = os.environ.get("LINT_SINCE") or last_release()
    long = long_subjects(since)
    for line in long:
        print(f"commit subject over {MAX_SUBJECT} characters: {line}")
    if long:
        failed.append(f"commit subjects since {since}")
    if failed:
        print("lint failed: " + ", ".join(failed))
        return 1
    print(f"lint: ruff, shellcheck and commit subjects since {since} are clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())

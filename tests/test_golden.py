"""The generated trees for a matrix of answer sets stay byte-identical to tests/golden/ (see golden_trees.py)."""

from __future__ import annotations

import subprocess

import pytest
from environment import REPO_ROOT
from golden_trees import (
    CASES,
    HEADER,
    GoldenFile,
    diff,
    dump,
    golden_commit_problems,
    load,
    render,
    snapshot,
    verbatim_source,
)
from packaging.version import Version
from template_clone import RELEASE_COMMITS, copier_cli, git


@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_tree_matches_golden(case, template_repo, tmp_path):
    render(template_repo, CASES[case], tmp_path / case)
    got, want = snapshot(tmp_path / case), load(case)
    assert sorted(got) == sorted(want), f"{case}: files differ from tests/golden/{case}.txt"
    changed = diff(case, want, got)
    assert not changed, (f"{case} differs from tests/golden/{case}.txt; if intended, run `make goldens` and say "
                         "why in a commit of its own:\n" + "\n".join(changed[:60]))
    for rel, file in got.items():  # copies of template files, unchanged
        if file.data is None:
            assert (tmp_path / case / rel).read_bytes() == verbatim_source(rel).read_bytes(), rel


def test_a_golden_file_reads_back_as_written(tmp_path):
    """dump/load keep bytes, modes and verbatim entries, whatever the content (no trailing newline, a line that
    looks like a header)."""
    files = {"a.sh": GoldenFile(0o755, b"#!/bin/sh\n"), "b/no-newline": GoldenFile(0o644, b"x"),
             "c": GoldenFile(0o644, HEADER.encode() + b"644 3 fake\n"), "d/copied.py": GoldenFile(0o644, None),
             "e with space": GoldenFile(0o600, b"")}
    path = tmp_path / "roundtrip.txt"
    path.write_bytes(dump(files))
    assert load("roundtrip", path) == files


def test_a_refresh_shows_what_it_changes():
    old = {"README.md": GoldenFile(0o644, b"one\ntwo\n"), "run.sh": GoldenFile(0o755, b"x\n"),
           "lib/copied.py": GoldenFile(0o644, None)}
    new = {"README.md": GoldenFile(0o644, b"one\nthree\n"), "run.sh": GoldenFile(0o644, b"x\n"),
           "docs/new.md": GoldenFile(0o644, b"new\n")}
    lines = diff("c-x", old, new)
    assert "-two" in lines and "+three" in lines and "+++ b/c-x/README.md" in lines
    assert "mode 755 -> 644: c-x/run.sh" in lines
    assert "added: c-x/docs/new.md" in lines and "removed: c-x/lib/copied.py" in lines


def test_commits_since_the_release_refresh_goldens_on_their_own_or_say_why():
    """The gate on golden refreshes (docs/testing.md): since the newest release this clone has, a commit that changes
    tests/golden/ changes nothing else, or says in a `Goldens:` line what changed in the output and why."""
    base = next((commit for _, commit in sorted(RELEASE_COMMITS.items(), key=lambda item: Version(item[0][1:]),
                                                reverse=True)
                 if subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=REPO_ROOT,
                                   capture_output=True, timeout=30, check=False).returncode == 0), "HEAD~1")
    assert golden_commit_problems(REPO_ROOT, base) == []


def test_the_golden_gate_names_a_mixed_commit(tmp_path):
    repo = tmp_path / "repo"
    (repo / "tests" / "golden").mkdir(parents=True)
    git(repo.parent, "init", "-q", "-b", "main", str(repo))
    (repo / "tests" / "golden" / "a.txt").write_text("1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    base = git(repo, "rev-parse", "HEAD").strip()
    (repo / "tests" / "golden" / "a.txt").write_text("2\n")
    git(repo, "commit", "-qam", "Goldens refreshed: a")  # alone: fine
    (repo / "tests" / "golden" / "a.txt").write_text("3\n")
    (repo / "code.py").write_text("x = 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "Change code and goldens")
    (repo / "tests" / "golden" / "a.txt").write_text("4\n")
    (repo / "code.py").write_text("x = 2\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "Change code again\n\nGoldens: a.txt counts to 4, as code.py now says")
    [problem] = golden_commit_problems(repo, base)
    assert "'Change code and goldens' changes tests/golden/ and code.py" in problem


def test_an_undefined_name_fails_the_render(template_repo, tmp_path):
    """StrictUndefined (copier.yml `_envops`): a typo in a template stops the copy instead of rendering ""."""
    import shutil

    broken = tmp_path / "template"
    shutil.copytree(template_repo, broken)
    readme = broken / "template" / "README.md.jinja"
    readme.write_text(readme.read_text() + "{{ gateway_filez }}\n")
    git(broken, "commit", "-qam", "typo")
    git(broken, "tag", "-f", "v0.0.1")
    result = subprocess.run([*copier_cli(), "copy", "--trust", "--defaults", str(broken), str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode != 0
    assert "'gateway_filez' is undefined" in result.stderr

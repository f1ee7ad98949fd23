"""The generated trees for a matrix of answer sets stay byte-identical to tests/golden/ (see golden_trees.py)."""

from __future__ import annotations

import os

import pytest
from golden_trees import CASES, GOLDEN_DIR, render, tree, verbatim, verbatim_source
from template_clone import copier_cli


@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_tree_matches_golden(case, template_repo, tmp_path):
    render(template_repo, CASES[case], tmp_path / case)
    got, want = tree(tmp_path / case), tree(GOLDEN_DIR / case)
    assert sorted(got) == sorted(want), f"{case}: files differ from tests/golden/{case}"
    changed = [rel for rel in want if got[rel] != want[rel]]
    assert not changed, (f"{case}: {changed} differ from tests/golden/{case}; if intended, run "
                         f"`.venv/bin/python tests/golden_trees.py --refresh` and say why in the commit")
    for rel in want:  # executable bits are output too
        assert os.access(tmp_path / case / rel, os.X_OK) == os.access(GOLDEN_DIR / case / rel, os.X_OK), rel
    for rel, data in tree(tmp_path / case, with_verbatim=True).items():  # copies of template files, unchanged
        if verbatim(rel):
            assert data == verbatim_source(rel).read_bytes(), rel


def test_an_undefined_name_fails_the_render(template_repo, tmp_path):
    """StrictUndefined (copier.yml `_envops`): a typo in a template stops the copy instead of rendering ""."""
    import shutil
    import subprocess

    from template_clone import git

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

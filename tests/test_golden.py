"""The generated trees for a matrix of answer sets stay byte-identical to tests/golden/ (see golden_trees.py)."""

from __future__ import annotations

import os

import pytest
from golden_trees import CASES, GOLDEN_DIR, render, tree


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

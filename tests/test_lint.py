"""ruff (pinned in requirements-test.txt, configured by ruff.toml) finds nothing in the repository's Python code."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from environment import REPO_ROOT, require_tool

# The whole tree (ruff.toml excludes installed tools and recorded output), and the template's Python files whose names
# carry a Jinja condition (ruff picks files by their .py suffix).
LINTED = (".", *(str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "template").rglob("*.py{% endif %}")))


def test_ruff_finds_nothing():
    venv_bin = Path(sys.executable).parent  # ruff installs next to this interpreter
    ruff = require_tool(shutil.which("ruff", path=str(venv_bin)) or shutil.which("ruff"), "ruff",
                        "install the pinned ruff (requirements-test.txt)")
    result = subprocess.run([ruff, "check", "--no-cache", "--config", str(REPO_ROOT / "ruff.toml"), *LINTED],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr

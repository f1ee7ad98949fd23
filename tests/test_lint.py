"""ruff (pinned in requirements-test.txt, configured by ruff.toml) finds nothing in the Python code it covers."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO_ROOT, require_tool

# Paths ruff checks, relative to the repository. The rest of tests/ and bench/ are not covered yet.
LINTED = ("extensions", "template/client/settings_merge.py", "tests/test_settings_merge.py", "tests/test_lint.py",
          "tests/test_unit_extensions.py", "tests/test_foundry.py", "tests/helpers.py", "tests/golden_trees.py",
          "tests/test_golden.py", "tests/test_answer_rules.py", "tests/test_hostile_answers.py",
          "tests/test_init_secrets.py", "tests/test_live_database.py", "tests/support", "tests/test_access_file.py",
          "tests/test_live_access.py", "tests/test_kubernetes.py", "tests/test_live_ha.py",
          "tests/test_version_pins.py", "tests/test_template_update.py", "tests/test_live_key_info.py",
          "tests/test_conformance.py", "tests/test_conformance_unit.py", "tests/mock_provider.py",
          "tests/test_live_gateway_tuning.py", "bench/bench_overhead.py", "bench/bench_mock.py", "tests/test_docs.py",
          *(str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "template").rglob("*.py*")
            if p.name.endswith((".py", ".py{% endif %}"))))


def test_ruff_finds_nothing():
    venv_bin = Path(sys.executable).parent  # ruff installs next to this interpreter
    ruff = require_tool(shutil.which("ruff", path=str(venv_bin)) or shutil.which("ruff"), "ruff",
                        "install the pinned ruff (requirements-test.txt)")
    result = subprocess.run([ruff, "check", "--no-cache", "--config", str(REPO_ROOT / "ruff.toml"), *LINTED],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr

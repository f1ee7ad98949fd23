"""The test suite's own rules, read from its source (issue 30): a test passes only when it proves its name.

- Test modules never import each other (shared helpers live in tests/support/).
- A test that runs a real external program (the Claude Code CLI, LiteLLM, tinyproxy, Postgres), directly or through
  a fixture of its module, carries the `live` marker.
- Every Hypothesis health check that is switched off says why in a comment on the same line or the line above, and
  none switches them all off.
- A strict xfail names the exception it expects (`raises=`): otherwise a fixture error passes as the expected failure.
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest
from environment import REPO_ROOT

TESTS = REPO_ROOT / "tests"
MODULES = sorted(TESTS.glob("test_*.py"))
# Fixtures (conftest.py) that start or need a real external program.
REAL_PROGRAMS = {"claude_bin", "litellm_bin", "tinyproxy", "database"}


def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def imported_modules(module: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(module):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def is_live_marker(node: ast.expr) -> bool:
    return ast.unparse(node) in ("pytest.mark.live", "mark.live")


def module_is_live(module: ast.Module) -> bool:
    for node in module.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "pytestmark" for t in node.targets):
            values = node.value.elts if isinstance(node.value, ast.List | ast.Tuple) else [node.value]
            return any(is_live_marker(v) for v in values)
    return False


def functions(module: ast.Module) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in module.body if isinstance(n, ast.FunctionDef)}


def uses_a_real_program(name: str, defined: dict[str, ast.FunctionDef], seen: set[str] | None = None) -> bool:
    """Whether function `name` takes a real-program fixture, directly or through a fixture of its own module."""
    seen = seen if seen is not None else set()
    if name in seen or name not in defined:
        return False
    seen.add(name)
    parameters = [a.arg for a in defined[name].args.args]
    return any(p in REAL_PROGRAMS or uses_a_real_program(p, defined, seen) for p in parameters)


def test_no_symlink_is_tracked():
    """A worktree's links to the main checkout's caches once got committed: a fresh clone then had a dangling
    .cache and nowhere to put LiteLLM's venvs."""
    staged = subprocess.run(["git", "ls-files", "-s"], cwd=REPO_ROOT, capture_output=True, text=True, check=True,
                            timeout=60).stdout
    assert [line.split("\t", 1)[1] for line in staged.splitlines() if line.startswith("120000 ")] == []


def test_no_test_module_imports_another():
    imports = {path.name: sorted(n for n in imported_modules(tree(path)) if n.startswith("test_") or n == "conftest")
               for path in MODULES}
    assert {name: found for name, found in imports.items() if found} == {}


def test_every_test_running_a_real_program_is_live():
    unmarked = []
    for path in MODULES:
        module = tree(path)
        if module_is_live(module):
            continue
        defined = functions(module)
        for name, node in defined.items():
            if name.startswith("test_") and uses_a_real_program(name, defined) and \
                    not any(is_live_marker(d) for d in node.decorator_list):
                unmarked.append(f"{path.name}::{name}")
    assert unmarked == []


def test_health_checks_are_switched_off_one_by_one_with_a_reason():
    unexplained = []
    for path in [*MODULES, *sorted((TESTS / "support").glob("*.py"))]:
        if path == Path(__file__):  # this module names the setting without using it
            continue
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            if "suppress_health_check" not in line:
                continue
            if "list(HealthCheck)" in line or "HealthCheck.all()" in line:
                unexplained.append(f"{path.name}:{number + 1}: every health check is off")
            elif "#" not in line and not lines[number - 1].lstrip().startswith("#"):
                unexplained.append(f"{path.name}:{number + 1}: no comment says why")
    assert unexplained == []


def test_strict_xfails_name_the_exception_they_expect():
    loose = []
    for path in MODULES:
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("mark.xfail") and \
                    not any(k.arg == "raises" for k in node.keywords):
                loose.append(f"{path.name}:{node.lineno}")
    assert loose == []


@pytest.mark.parametrize("source", ["from test_client_install import install\n", "import test_lint\n"])
def test_the_import_rule_sees_an_import_of_a_test_module(source):
    assert {n for n in imported_modules(ast.parse(source)) if n.startswith("test_")}


def test_the_live_rule_sees_a_real_program_behind_a_module_fixture():
    module = ast.parse("def gateway(litellm_bin):\n    pass\n\ndef test_x(gateway):\n    pass\n")
    assert uses_a_real_program("test_x", functions(module))
    assert not module_is_live(module)

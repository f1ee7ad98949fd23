"""TEST SUPPORT: a generated Claude apps gateway project (gateway_engine=claude_apps_gateway, process runtime) started
by its own scripts: scripts/init-secrets.sh, the values a platform team fills in, gateway/run-local.sh start with the
pinned CLI (CLAUDE_BIN). Served over https with a certificate from a test CA (the client trusts it through the
generated NODE_EXTRA_CA_CERTS), against the test OIDC issuer, a throwaway Postgres database and the mock provider.
Developers' machines are throwaway HOMEs where client/install.sh ran; `signed_in` writes the stored sign-in."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import ssl
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from apps_gateway import mint_session, sign_in
from cryptography.hazmat.primitives import serialization
from environment import clean_env, free_port, read_env_file

UPSTREAM_KEY = "sk-ant-apps-gateway-upstream-key"
HANG_GUARD = 180  # seconds a script or `claude -p` run gets at most
# Test-only gateway environment: loopback upstreams and issuer are allowed, and a stop drains for 0.5 s, not 25.
TEST_GATEWAY_ENV = {"CLAUDE_GATEWAY_ALLOW_LOOPBACK": "1", "CLAUDE_GATEWAY_DRAIN_TIMEOUT_MS": "500"}


def fill_in(env_file: Path, **values: str) -> None:
    """What the platform team does after scripts/init-secrets.sh: fill in the empty `NAME=` lines it wrote."""
    text = env_file.read_text()
    for name, value in values.items():
        assert f"\n{name}=\n" in text, f"init-secrets.sh wrote no empty line for {name}:\n{text}"
        text = text.replace(f"\n{name}=\n", f"\n{name}={value}\n")
    env_file.write_text(text)


@dataclass
class GeneratedAppsGateway:
    project: Path
    url: str
    claude_bin: str
    ca_path: Path
    leaf_pem: str
    homes: list[Path] = field(default_factory=list)
    run_env: dict[str, str] = field(default_factory=dict)  # more environment for every script run (LITELLM_BIN)

    @property
    def secrets(self) -> dict[str, str]:
        return read_env_file(self.project / "gateway" / ".env")

    @property
    def log(self) -> str:
        path = self.project / "gateway" / "claude-apps-gateway.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def run(self, *cmd: str, home: Path | None = None, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(list(cmd), cwd=self.project, capture_output=True, text=True, timeout=HANG_GUARD,
                              env=clean_env(home or self.project.parent, CLAUDE_BIN=self.claude_bin,
                                            **TEST_GATEWAY_ENV, **{**self.run_env, **env}),
                              stdin=subprocess.DEVNULL, check=False)

    def developer(self, name: str) -> Path:
        """A developer machine: a HOME where `name` (their login name) ran client/install.sh, which merged
        client/settings.json (and, with usage telemetry, their name as the developer attribute)."""
        home = self.project.parent / f"home-{name}"
        home.mkdir()
        installed = self.run("client/install.sh", home=home, USER=name)
        assert installed.returncode == 0, installed.stdout + installed.stderr
        self.homes.append(home)
        return home

    def signed_in(self, home: Path, sub: str, email: str, groups: list[str]) -> None:
        """The stored sign-in /login leaves behind, for a session the gateway's own secret signs."""
        sign_in(home, self.url, self.secrets["GATEWAY_SESSION_SECRET"], sub, email, groups, cert_pem=self.leaf_pem)

    def signed_in_as(self, home: Path, email: str, groups: list[str]) -> None:
        """The stored sign-in as the generated gateway mints it: its config says `oidc.user_id_claim: email`, so the
        session's `sub` is the email (checked against a real /login in tests/test_live_apps_gateway_access.py), and
        spend and user limits are keyed by it."""
        self.signed_in(home, email, email, groups)

    def admin(self, method: str, path: str, body: dict | None = None,
              key: str = "GATEWAY_ADMIN_WRITE_KEY") -> tuple[int, dict | str]:
        """The gateway's admin API with a key init-secrets.sh made (`key`: its name in gateway/.env): a test's own
        calls, next to the ones the generated scripts make."""
        return self.request(method, path, body, {"x-api-key": self.secrets[key]})

    def inference(self, email: str, groups: list[str], model: str) -> tuple[int, dict | str]:
        """POST /v1/messages as a signed-in developer (a session as the gateway mints it), without the CLI, which
        may pick another model by itself when a policy restricts the one asked for."""
        token = mint_session(self.secrets["GATEWAY_SESSION_SECRET"], self.url, email, email, groups)
        return self.request("POST", "/v1/messages", {"model": model, "max_tokens": 16,
                                                     "messages": [{"role": "user", "content": "hi"}]},
                            {"authorization": f"Bearer {token}", "anthropic-version": "2023-06-01"})

    def request(self, method: str, path: str, body: dict | None, headers: dict[str, str]) -> tuple[int, dict | str]:
        url = urlsplit(self.url)
        connection = http.client.HTTPSConnection(url.hostname, url.port, timeout=30,
                                                 context=ssl.create_default_context(cafile=str(self.ca_path)))
        try:
            connection.request(method, path, body=json.dumps(body) if body is not None else None,
                               headers={**headers, "content-type": "application/json"})
            response = connection.getresponse()
            text = response.read().decode(errors="replace")
        finally:
            connection.close()
        return response.status, json.loads(text) if text.startswith("{") else text

    def claude(self, home: Path, *args: str, prompt: str = "say hi") -> subprocess.CompletedProcess:
        """The real CLI on a developer machine: client/env.sh sourced, then `claude -p PROMPT ARGS...`."""
        return subprocess.run(["sh", "-c", '. ./client/env.sh && exec "$CLAUDE_BIN" -p "$@"', "sh", prompt, *args],
                              cwd=self.project, env=clean_env(home, CLAUDE_BIN=self.claude_bin),
                              capture_output=True, text=True, timeout=HANG_GUARD, stdin=subprocess.DEVNULL,
                              check=False)


@contextlib.contextmanager
def started_apps_gateway(copie, template_repo: Path, claude_bin: str, issuer, database, ca, mock_url: str,
                         env: dict[str, str] | None = None, run_env: dict[str, str] | None = None,
                         port: int | None = None, prepare=None, **answers):
    """Generate Pattern C with the Claude apps gateway (`answers` on top), fill in gateway/.env, start it with
    gateway/run-local.sh; always stop it (and LiteLLM behind it, if any) by its pidfile afterwards. `env`: more
    gateway/.env values; `run_env`: more environment for every script run; `prepare(gateway)`: called before the
    start."""
    port = port or free_port()
    url = f"https://localhost:{port}"
    result = copie.copy(template_dir=template_repo, extra_answers={
        "cost_tracking": True, "gateway_engine": "claude_apps_gateway", "gateway_port": port,
        "gateway_bind": "127.0.0.1", "gateway_url": url, "corporate_ca_cert": str(ca.cert_path),
        "oidc_issuer": issuer.url, "oidc_client_id": issuer.client_id, "anthropic_base_url": mock_url,
        "disable_nonessential_traffic": True, **answers})
    assert result.exception is None, result.exception
    project = result.project_dir
    leaf = ca.issue(project.parent / f"tls-{port}", names=("localhost", "127.0.0.1"), chain=True)
    # The leaf alone (cert.pem is the full chain): the CLI pins the leaf's fingerprint at sign-in.
    leaf_pem = leaf.certificate.public_bytes(serialization.Encoding.PEM).decode()
    gateway = GeneratedAppsGateway(project, url, claude_bin, ca.cert_path, leaf_pem, run_env=dict(run_env or {}))
    init = gateway.run("scripts/init-secrets.sh")
    assert init.returncode == 0, init.stdout + init.stderr
    values = {"OIDC_CLIENT_SECRET": issuer.client_secret, "APPS_GATEWAY_DATABASE_URL": database.create_database(f"gateway_{port}"),
              "GATEWAY_TLS_CERT": str(leaf.cert_path), "GATEWAY_TLS_KEY": str(leaf.key_path)}
    if "anthropic" in answers.get("providers", ["anthropic"]):
        values["ANTHROPIC_API_KEY"] = UPSTREAM_KEY
    fill_in(project / "gateway" / ".env", **values)
    if env:
        with open(project / "gateway" / ".env", "a") as handle:
            handle.writelines(f"{name}={value}\n" for name, value in env.items())
    if prepare:
        prepare(gateway)
    started = gateway.run("gateway/run-local.sh", "start")
    try:
        assert started.returncode == 0, started.stdout + started.stderr + gateway.log
        yield gateway
    finally:
        gateway.run("gateway/run-local.sh", "stop")
        for name in ("claude-apps-gateway.pid", "litellm.pid"):
            pidfile = project / "gateway" / name
            if pidfile.exists():  # stop failed: never leave a process behind
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pidfile.read_text()), signal.SIGKILL)

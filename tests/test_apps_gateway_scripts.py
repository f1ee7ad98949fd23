"""The generated scripts for the Claude apps gateway (gateway_engine=claude_apps_gateway), run for real where it is
cheap: client/env.sh and env.ps1 (no key, a hint until a sign-in is stored), scripts/check-status.sh (the sign-in
settings, the stored sign-in, /readyz, the route), scripts/health-check.sh against a loopback stand-in of the
gateway's operational routes, and scripts/conformance.sh (not available for this engine, in one line)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from environment import clean_env, require_tool
from fake_apps_gateway import DISCOVERY, SPEND_LIMITS, FakeAppsGateway
from generated import check_status, failure_summary, sourced_env, write_user_settings

APPS = {"cost_tracking": True, "gateway_engine": "claude_apps_gateway", "oidc_issuer": "https://login.example.com"}
PROXY = {"corporate_proxy": True, "proxy_url": "http://proxy.example.com:8080"}
D = {**APPS, **PROXY, "gateway_url": "https://gw.corp.example.com", "gateway_bind": "0.0.0.0"}
D_CLIENT_ONLY = {**APPS, **PROXY, "deploy_gateway": False, "gateway_url": "https://gw.corp.example.com"}
GATEWAY = "http://127.0.0.1:4000"  # Pattern C's default gateway URL
SESSION = "eyJhbGciOiJIUzI1NiJ9.session-token-never-printed.sig"
ADMIN_KEY = "a" * 64
SIGN_IN_HINT = "not signed in to the gateway yet; run claude, then /login once"



def sign_in(home: Path, url: str = GATEWAY) -> None:
    """The sign-in Claude Code 2.1.332 stores after /login (domain notes, section 7), with a made-up session."""
    (home / ".claude").mkdir(parents=True, exist_ok=True)
    (home / ".claude" / ".credentials.json").write_text(json.dumps({
        "gatewayTrust": {"127.0.0.1:4000": "http-loopback"},
        "enterpriseGateway": {"url": url, "jwt": SESSION, "expiresAt": 4102444800000, "tokenEndpoint": f"{url}/oauth/token",
                              "idpRefreshToken": "refresh-never-printed", "vouchedAtLogin": True}}))


def installed_settings(project: Path, home: Path) -> None:
    """~/.claude/settings.json as client/install.sh leaves it on a fresh machine (the generated settings)."""
    settings = json.loads((project / "client" / "settings.json").read_text())
    settings.pop("$schema", None)
    write_user_settings(home, settings)


def pinned_claude_path(tmp_path: Path) -> str:
    """A PATH whose first `claude` reports the pinned version, so the version check does not depend on this host."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    claude = bin_dir / "claude"
    claude.write_text('#!/bin/sh\necho "2.1.332 (Claude Code)"\n')
    claude.chmod(0o755)
    return f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"


# -------------------------------------------------------------------------------------------------------
# client/env.sh, client/env.ps1
# -------------------------------------------------------------------------------------------------------
def test_env_scripts_set_no_key_and_hint_until_signed_in(generate, tmp_path):
    project = generate(**APPS)
    env_sh = (project / "client" / "env.sh").read_text()
    env_ps1 = (project / "client" / "env.ps1").read_text()
    for text in (env_sh, env_ps1):
        assert "x-litellm-end-user-id" not in text and "ANTHROPIC_CUSTOM_HEADERS" not in text
        assert "no ANTHROPIC_AUTH_TOKEN" not in text
        assert SIGN_IN_HINT in text
        assert "enterpriseGateway" in text and "CLAUDE_CONFIG_DIR" in text
    assert "$IsMacOS" in env_ps1  # the Keychain holds the sign-in there: no hint from a missing file

    home = tmp_path / "home"
    home.mkdir()
    source = ["sh", "-c", ". ./client/env.sh"]
    fresh = subprocess.run(source, cwd=project, env=clean_env(home), capture_output=True, text=True, timeout=30,
                           check=True)
    assert fresh.stderr.strip() == f"client/env.sh: {SIGN_IN_HINT} (your company SSO)"
    sign_in(home)
    signed_in = subprocess.run(source, cwd=project, env=clean_env(home), capture_output=True, text=True, timeout=30,
                               check=True)
    assert signed_in.stderr == ""
    # CLAUDE_CONFIG_DIR moves the sign-in, as it moves settings.json.
    moved = subprocess.run(source, cwd=project, env=clean_env(home, CLAUDE_CONFIG_DIR=str(tmp_path / "elsewhere")),
                           capture_output=True, text=True, timeout=30, check=True)
    assert SIGN_IN_HINT in moved.stderr

    exported = sourced_env(project, home, ANTHROPIC_AUTH_TOKEN="stale", ANTHROPIC_BASE_URL="http://elsewhere")
    assert exported.get("DISABLE_AUTOUPDATER") == "1"
    assert not {"ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "ANTHROPIC_CUSTOM_HEADERS"} & exported.keys()


# -------------------------------------------------------------------------------------------------------
# scripts/check-status.sh
# -------------------------------------------------------------------------------------------------------
def test_check_status_offline_passes_with_the_settings_and_a_stored_sign_in(generate, tmp_path):
    project = generate(**APPS)
    home = tmp_path / "home"
    installed_settings(project, home)
    sign_in(home)
    result = check_status(project, home, "--offline", PATH=pinned_claude_path(tmp_path))
    assert result.returncode == 0, result.stdout
    assert f"ok    config: forceLoginMethod=gateway (from {home}/.claude/settings.json)" in result.stdout
    assert f"ok    config: forceLoginGatewayUrl={GATEWAY} (from {home}/.claude/settings.json)" in result.stdout
    assert (f"ok    credential: signed in to the gateway {GATEWAY} (stored in {home}/.claude/.credentials.json)"
            in result.stdout)
    assert "ok    version: Claude Code 2.1.332" in result.stdout
    assert "skip  network: not contacted (--offline)" in result.stdout
    # No key check, no model call, and the session is never shown.
    assert "ANTHROPIC_AUTH_TOKEN is set" not in result.stdout and "/v1/models" not in result.stdout
    assert SESSION not in result.stdout + result.stderr and "refresh-never-printed" not in result.stdout
    header = (project / "scripts" / "check-status.sh").read_text().split("\nset -eu", 1)[0]
    assert "credential  this machine holds a gateway sign-in" in header and "/readyz answers HTTP 200" in header
    assert "accepts your key" not in header and "model call through the gateway" not in header


CREDENTIALS = {  # what .credentials.json holds -> the credential line check-status.sh prints
    None: "FAIL  credential: not signed in to the gateway (no sign-in in {home}/.claude/.credentials.json); run "
          "claude, then /login once",
    json.dumps({"gatewayTrust": {}}): "FAIL  credential: not signed in to the gateway",
    json.dumps({"enterpriseGateway": {"url": "https://other.example.com", "jwt": SESSION}}):
        "FAIL  credential: the sign-in stored in {home}/.claude/.credentials.json is for https://other.example.com, "
        "not " + GATEWAY,
    "{not json": "FAIL  credential: {home}/.claude/.credentials.json cannot be read as JSON",
}


def test_check_status_names_a_missing_or_foreign_sign_in(generate, tmp_path):
    project = generate(**APPS)
    for n, (credentials, expected) in enumerate(CREDENTIALS.items()):
        home = tmp_path / f"home{n}"
        installed_settings(project, home)
        if credentials is not None:
            (home / ".claude" / ".credentials.json").write_text(credentials)
        result = check_status(project, home, "--offline", PATH=pinned_claude_path(tmp_path))
        assert result.returncode == 1, credentials
        assert expected.format(home=home) in result.stdout, credentials
        assert failure_summary(result.stdout) == (1, "credential")
        assert SESSION not in result.stdout


def test_check_status_names_missing_sign_in_settings_and_a_key_variable(generate, tmp_path):
    project = generate(**APPS)
    home = tmp_path / "home"
    write_user_settings(home, {"forceLoginMethod": "claudeai", "env": {"DISABLE_AUTOUPDATER": "1"}})
    sign_in(home)
    result = check_status(project, home, "--offline", PATH=pinned_claude_path(tmp_path), ANTHROPIC_AUTH_TOKEN="a-key")
    assert result.returncode == 1
    assert (f"FAIL  config: forceLoginMethod is 'claudeai' (from {home}/.claude/settings.json), expected 'gateway'; "
            "run client/install.sh") in result.stdout
    assert ("FAIL  config: forceLoginGatewayUrl is not set, expected 'http://127.0.0.1:4000'; run client/install.sh "
            "(or ask IT for client/managed-settings.json)") in result.stdout
    assert "FAIL  conflicts: ANTHROPIC_AUTH_TOKEN is set (from your shell) but must not be" in result.stdout
    assert "a-key" not in result.stdout
    assert failure_summary(result.stdout) == (3, "config")


def test_check_status_asks_the_gateway_readyz(generate, tmp_path):
    with FakeAppsGateway(ADMIN_KEY) as gateway:
        project = generate(**APPS, gateway_url=gateway.url)
        home = tmp_path / "home"
        installed_settings(project, home)
        sign_in(home, gateway.url)
        ready = check_status(project, home, PATH=pinned_claude_path(tmp_path))
        gateway.down.add("/readyz")
        not_ready = check_status(project, home, PATH=pinned_claude_path(tmp_path))
    assert ready.returncode == 0, ready.stdout
    assert f"ok    gateway: {gateway.url}/readyz answered HTTP 200 (up and ready)" in ready.stdout
    assert not_ready.returncode == 1
    assert (f"FAIL  gateway: {gateway.url}/readyz answered HTTP 503, not 200 (not ready: its database? or not the "
            "Claude apps gateway)") in not_ready.stdout
    assert failure_summary(not_ready.stdout) == (1, "gateway")
    assert gateway.admin_keys_seen == []  # a developer's check holds no admin key and asks no admin route


def test_check_status_pattern_d_fails_the_route_when_the_gateway_host_is_proxied(generate, tmp_path):
    project = generate(**D)
    header = (project / "scripts" / "check-status.sh").read_text().split("\nset -eu", 1)[0]
    assert "route       the gateway is reached directly, not through the proxy (its host is in NO_PROXY)" in header
    home = tmp_path / "home"
    home.mkdir()
    # The proxy variables without the gateway host in NO_PROXY: nothing is contacted (the proxy does not exist).
    result = check_status(project, home, PATH=pinned_claude_path(tmp_path), HTTPS_PROXY="http://proxy.example.com:8080",
                          HTTP_PROXY="http://proxy.example.com:8080", NO_PROXY="localhost,127.0.0.1")
    assert ("FAIL  route: gw.corp.example.com is not in NO_PROXY, so Claude Code would send the gateway traffic "
            "through the proxy; source client/env.sh (the gateway is reached directly)") in result.stdout
    assert "proxy:" not in result.stdout and "gateway:" not in result.stdout


@pytest.mark.parametrize("address", ["203.0.113.10", "[2001:db8::10]"])  # TEST-NET-3, IPv6 documentation
def test_check_status_names_a_public_gateway_address_without_contacting_it(generate, tmp_path, address):
    """The resolver's answer is judged before anything is contacted: under strace, no connect() to the address."""
    strace = require_tool(shutil.which("strace"), "strace", "apt-get install strace")
    url = f"https://{address}:8443"
    project = generate(**{**D_CLIENT_ONLY, "gateway_url": url})
    home = tmp_path / "home"
    installed_settings(project, home)
    sign_in(home, url)
    trace = tmp_path / "connect.trace"
    env = clean_env(home, PATH=pinned_claude_path(tmp_path), HTTPS_PROXY="http://proxy.example.com:8080",
                    HTTP_PROXY="http://proxy.example.com:8080", NO_PROXY=f"localhost,127.0.0.1,{address.strip('[]')}")
    result = subprocess.run([strace, "-f", "-qq", "-e", "trace=connect", "-o", str(trace), "scripts/check-status.sh"],
                            cwd=project, env=env, capture_output=True, text=True, timeout=60, check=False)
    bare = address.strip("[]")
    assert result.returncode == 1, result.stdout
    assert f"ok    url: {url} is https" in result.stdout
    assert (f"FAIL  dns: {bare} resolves to the public address {bare} (of {bare}): Claude Code refuses a gateway "
            "with any public address (a public AAAA record too); publish only private records for it") in result.stdout
    assert "tls:" not in result.stdout and "gateway:" not in result.stdout and "pin:" not in result.stdout
    assert result.stdout.splitlines()[-1].endswith("first failing hop: dns")
    connects = trace.read_text()
    assert "connect(" not in connects or bare not in connects, connects


def test_check_status_names_an_http_gateway_that_is_not_loopback(generate, tmp_path):
    project = generate(**APPS)
    home = tmp_path / "home"
    installed_settings(project, home)
    settings = json.loads((home / ".claude" / "settings.json").read_text())
    write_user_settings(home, {**settings, "forceLoginGatewayUrl": "http://gw.corp.example.com"})
    result = check_status(project, home, "--offline", PATH=pinned_claude_path(tmp_path))
    assert ("FAIL  url: http://gw.corp.example.com is not https: Claude Code signs in to an https gateway only (http "
            "on localhost); fix forceLoginGatewayUrl (gateway_url)") in result.stdout


def fake_macos(tmp_path: Path, keychain: str | None) -> str:
    """A PATH where `uname` says Darwin and `security` holds `keychain` (None: no such item, exit 44 as on macOS);
    `security` records its arguments. Then the pinned `claude`."""
    bin_dir = tmp_path / "macos-bin"
    bin_dir.mkdir()
    (bin_dir / "uname").write_text("#!/bin/sh\necho Darwin\n")
    (tmp_path / "keychain.json").write_text(keychain or "")
    found = 'cat "$KEYCHAIN_FILE"' if keychain is not None else "exit 44"
    (bin_dir / "security").write_text('#!/bin/sh\nprintf \'%s|\' "$@" >>"$SECURITY_LOG"; echo >>"$SECURITY_LOG"\n'
                                      f'case "$*" in *-w*) {found} ;; esac\n')
    for tool in ("uname", "security"):
        (bin_dir / tool).chmod(0o755)
    return f"{bin_dir}:{pinned_claude_path(tmp_path)}"


def test_check_status_reads_the_macos_keychain_without_printing_it(generate, tmp_path):
    project = generate(**APPS)
    home = tmp_path / "home"
    installed_settings(project, home)
    keychain = json.dumps({"gatewayTrust": {"127.0.0.1": "http-loopback"},
                           "enterpriseGateway": {"url": GATEWAY, "jwt": SESSION, "idpRefreshToken": "refresh-secret"}})
    path = fake_macos(tmp_path, keychain)
    log = tmp_path / "security.log"
    env = {"PATH": path, "USER": "alice", "SECURITY_LOG": str(log), "KEYCHAIN_FILE": str(tmp_path / "keychain.json")}
    result = check_status(project, home, "--offline", **env)
    assert result.returncode == 0, result.stdout
    assert ('ok    credential: signed in to the gateway http://127.0.0.1:4000 (stored in the Keychain '
            '("Claude Code-credentials"))') in result.stdout
    assert SESSION not in result.stdout + result.stderr and "refresh-secret" not in result.stdout + result.stderr
    assert log.read_text().splitlines() == ["find-generic-password|-a|alice|-w|-s|Claude Code-credentials|"]

    # CLAUDE_CONFIG_DIR names another item, as the CLI does: the first 8 hex digits of its SHA-256.
    moved = home / "elsewhere"
    moved.mkdir()
    (moved / "settings.json").write_text((home / ".claude" / "settings.json").read_text())
    elsewhere = check_status(project, home, "--offline", **env, CLAUDE_CONFIG_DIR=str(moved))
    suffix = hashlib.sha256(str(moved).encode()).hexdigest()[:8]
    assert f'(stored in the Keychain ("Claude Code-credentials-{suffix}"))' in elsewhere.stdout

    empty = tmp_path / "empty"
    empty.mkdir()
    absent = check_status(project, home, "--offline", **{**env, "PATH": fake_macos(empty, None)})
    assert ('FAIL  credential: not signed in to the gateway (no sign-in in the Keychain ("Claude Code-credentials")); '
            "run claude, then /login once") in absent.stdout


# -------------------------------------------------------------------------------------------------------
# scripts/health-check.sh (the gateway host)
# -------------------------------------------------------------------------------------------------------
def health_project(generate, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A Pattern C project whose gateway/.env holds the admin read key, and an environment whose `curl` records its
    command lines and its stdin (then runs the real curl), and whose CLAUDE_BIN reports the pinned version."""
    project = generate(**APPS)
    (project / "gateway" / ".env").write_text(f"GATEWAY_SESSION_SECRET={'s' * 64}\nGATEWAY_ADMIN_READ_KEY={ADMIN_KEY}\n")
    bin_dir = tmp_path / "curl-bin"
    bin_dir.mkdir()
    real_curl = subprocess.run(["sh", "-c", "command -v curl"], capture_output=True, text=True, check=True).stdout
    wrapper = bin_dir / "curl"
    wrapper.write_text('#!/bin/sh\nprintf \'%s\\n\' "$*" >>"$CURL_ARGV_LOG"\n'
                       f'tee -a "$CURL_STDIN_LOG" | {real_curl.strip()} "$@"\n')
    wrapper.chmod(0o755)
    path = pinned_claude_path(tmp_path)
    env = clean_env(tmp_path, PATH=f"{bin_dir}:{path}", CLAUDE_BIN=str(tmp_path / "bin" / "claude"),
                    CURL_ARGV_LOG=str(tmp_path / "argv.log"), CURL_STDIN_LOG=str(tmp_path / "stdin.log"),
                    GATEWAY_ADMIN_READ_KEY="not-the-one-in-gateway-env")
    return project, env


def health_check(project: Path, env: dict[str, str], url: str) -> subprocess.CompletedProcess:
    return subprocess.run(["scripts/health-check.sh"], cwd=project, env={**env, "GATEWAY_URL": url},
                          capture_output=True, text=True, timeout=60, check=False)


def test_health_check_passes_every_step_with_the_key_on_stdin_only(generate, tmp_path, shellcheck):
    project, env = health_project(generate, tmp_path)
    with FakeAppsGateway(ADMIN_KEY) as gateway:
        result = health_check(project, env, gateway.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        f"ok    healthz: {gateway.url} is up",
        f"ok    readyz: {gateway.url} is ready",
        f"ok    sign-in: the discovery document names the issuer {gateway.url}",
        "ok    admin: the read key from gateway/.env is accepted (GET /v1/organizations/spend_limits)",
        f"ok    version: {env['CLAUDE_BIN']} is Claude Code 2.1.332",
        "all 5 steps passed",
    ]
    # The key is gateway/.env's (not the environment's), reached curl on its stdin, and never a command line.
    assert gateway.admin_keys_seen == [ADMIN_KEY]
    assert f'header = "x-api-key: {ADMIN_KEY}"' in (tmp_path / "stdin.log").read_text()
    argv = (tmp_path / "argv.log").read_text()
    assert "--config -" in argv and ADMIN_KEY not in argv
    assert ADMIN_KEY not in result.stdout + result.stderr
    shellcheck(project)


FAILING_STEPS = [  # (path answering 503, the step named, its line)
    ("/healthz", "1 (healthz)", "FAIL  healthz: {url}/healthz answered HTTP 503; is it the Claude apps gateway?"),
    ("/readyz", "2 (readyz)", ("FAIL  readyz: {url}/readyz answered HTTP 503: up but not ready; is Postgres at "
                               "APPS_GATEWAY_DATABASE_URL reachable?")),
    (DISCOVERY, "3 (sign-in)", ("FAIL  sign-in: {url}/.well-known/oauth-authorization-server answered HTTP 503, so "
                                "/login cannot start")),
    (SPEND_LIMITS, "4 (admin)", "FAIL  admin: GET /v1/organizations/spend_limits answered HTTP 503"),
]


def test_health_check_stops_at_the_first_failing_step_and_names_it(generate, tmp_path):
    project, env = health_project(generate, tmp_path)
    for down, step, expected in FAILING_STEPS:
        with FakeAppsGateway(ADMIN_KEY, down=(down,)) as gateway:
            result = health_check(project, env, gateway.url)
        assert result.returncode == 1, down
        *passed, failed, verdict = result.stdout.splitlines()
        assert all(line.startswith("ok    ") for line in passed) and len(passed) == int(step[0]) - 1, down
        assert failed.startswith(expected.format(url=gateway.url)), failed
        assert verdict == f"health check failed at step {step}"


def test_health_check_names_a_refused_key_a_silent_host_and_a_wrong_binary(generate, tmp_path):
    project, env = health_project(generate, tmp_path)
    with FakeAppsGateway("another-key-" + "b" * 52) as gateway:
        refused = health_check(project, env, gateway.url)
    assert ("FAIL  admin: the read key from gateway/.env was refused (HTTP 401); the gateway runs with another one? "
            "restart it after changing gateway/.env") in refused.stdout
    assert ADMIN_KEY not in refused.stdout

    silent = health_check(project, env, gateway.url)  # stopped: nothing listens there any more
    assert silent.returncode == 1
    assert silent.stdout.startswith(f"FAIL  healthz: nothing answers at {gateway.url} (curl: (7) ")
    assert silent.stdout.splitlines()[-1] == "health check failed at step 1 (healthz)"

    old = tmp_path / "old-claude"
    old.write_text('#!/bin/sh\necho "2.1.300 (Claude Code)"\n')
    old.chmod(0o755)
    with FakeAppsGateway(ADMIN_KEY) as gateway:
        wrong = health_check(project, {**env, "CLAUDE_BIN": str(old)}, gateway.url)
    assert wrong.stdout.splitlines()[-2:] == [
        f"FAIL  version: {old} is Claude Code '2.1.300', this gateway is tested with 2.1.332 (versions.env)",
        "health check failed at step 5 (version)"]

    (project / "gateway" / ".env").write_text("GATEWAY_ADMIN_READ_KEY=\n")
    with FakeAppsGateway(ADMIN_KEY) as gateway:
        no_key = health_check(project, env, gateway.url)
    assert ("FAIL  admin: no GATEWAY_ADMIN_READ_KEY in gateway/.env; run scripts/init-secrets.sh, then restart the "
            "gateway") in no_key.stdout
    assert gateway.admin_keys_seen == []


def test_health_check_verifies_the_certificate_for_the_public_name_on_the_local_listener(generate, tmp_path,
                                                                                         test_ca):
    """Pattern D's gateway serves TLS itself: the check connects to this host's listener (127.0.0.1) but verifies the
    certificate for the public name (127.0.0.2, the test CA's server certificate), as every developer's Claude Code
    does, trusting NODE_EXTRA_CA_CERTS as they do; never --insecure."""
    with FakeAppsGateway(ADMIN_KEY, tls=(test_ca["cert"], test_ca["key"])) as gateway:
        project = generate(**{**D, "gateway_url": f"https://127.0.0.2:{gateway.port}", "gateway_port": gateway.port})
        _, env = health_project(generate, tmp_path)
        (project / "gateway" / ".env").write_text(f"GATEWAY_ADMIN_READ_KEY={ADMIN_KEY}\n")
        env.pop("GATEWAY_URL", None)

        def run(**extra: str) -> subprocess.CompletedProcess:
            return subprocess.run(["scripts/health-check.sh"], cwd=project, env={**env, **extra},
                                  capture_output=True, text=True, timeout=60, check=False)

        untrusted, trusted = run(), run(NODE_EXTRA_CA_CERTS=test_ca["ca"])
    public = f"https://127.0.0.2:{gateway.port}"
    assert untrusted.returncode == 1
    assert untrusted.stdout.startswith(f"FAIL  healthz: the certificate of {public} is not trusted (curl: (60) ")
    assert "set NODE_EXTRA_CA_CERTS to the root CA (PEM) that signed it" in untrusted.stdout
    assert trusted.returncode == 0, trusted.stdout
    assert trusted.stdout.splitlines()[0] == f"ok    healthz: {public} is up"
    script = (project / "scripts" / "health-check.sh").read_text()
    code = [line for line in script.splitlines() if not line.lstrip().startswith("#")]
    assert not [line for line in code if "insecure" in line or " -k " in line]


def test_run_local_gives_the_gateway_the_proxy_and_the_corporate_ca_and_an_empty_no_proxy_when_asked(generate,
                                                                                                       tmp_path):
    """Pattern D: what `gateway/run-local.sh run` hands the gateway (a stand-in binary that prints its environment):
    the generated proxy settings and corporate CA, gateway/.env's overrides, and GATEWAY_NO_PROXY= (set but empty)
    emptying NO_PROXY for the proxy-only egress mode."""
    project = generate(**D, corporate_ca_cert="/etc/ssl/corp-ca.pem")
    claude = tmp_path / "claude"
    claude.write_text('#!/bin/sh\nif [ "$1" = --version ]; then echo "2.1.332 (Claude Code)"; else env; fi\n')
    claude.chmod(0o755)
    filled = {"GATEWAY_SESSION_SECRET": "s" * 64, "GATEWAY_ADMIN_READ_KEY": "r" * 64,
              "GATEWAY_ADMIN_WRITE_KEY": "w" * 64, "GATEWAY_ACCESS_SYNC_KEY": "a" * 64, "OIDC_CLIENT_SECRET": "c",
              "APPS_GATEWAY_DATABASE_URL": "postgresql://x@h/d",
              "GATEWAY_TLS_CERT": "/tls/cert.pem", "GATEWAY_TLS_KEY": "/tls/key.pem", "ANTHROPIC_API_KEY": "k"}

    def gateway_env(**extra: str) -> dict[str, str]:
        lines = [f"{name}={value}" for name, value in {**filled, **extra}.items()]
        (project / "gateway" / ".env").write_text("\n".join(lines) + "\n")
        result = subprocess.run(["gateway/run-local.sh", "run"], cwd=project, env=clean_env(tmp_path, CLAUDE_BIN=str(claude)),
                                capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)

    generated = gateway_env()
    assert generated["HTTPS_PROXY"] == generated["HTTP_PROXY"] == "http://proxy.example.com:8080"
    assert generated["NO_PROXY"] == "localhost,127.0.0.1,::1"
    assert generated["NODE_EXTRA_CA_CERTS"] == "/etc/ssl/corp-ca.pem"
    overridden = gateway_env(NODE_EXTRA_CA_CERTS="/opt/ca.pem", GATEWAY_HTTPS_PROXY="http://u:p@proxy:3128")
    assert overridden["NODE_EXTRA_CA_CERTS"] == "/opt/ca.pem" and overridden["HTTPS_PROXY"] == "http://u:p@proxy:3128"
    egress_only = gateway_env(CLAUDE_GATEWAY_PROXY_IS_EGRESS_BOUNDARY="1", GATEWAY_NO_PROXY="")
    assert egress_only["NO_PROXY"] == "" and egress_only["CLAUDE_GATEWAY_PROXY_IS_EGRESS_BOUNDARY"] == "1"
    docs = (project / "docs" / "claude-apps-gateway.md").read_text()
    assert "not exercised by the template's tests" in docs and "CLAUDE_GATEWAY_ALLOW_LOOPBACK" in docs
    assert "go **directly** even with a proxy set" in docs


# -------------------------------------------------------------------------------------------------------
# scripts/conformance.sh, and every script of the three setups
# -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("answers", [pytest.param(APPS, id="C"), pytest.param(D, id="D"),
                                     pytest.param(D_CLIENT_ONLY, id="D-client-only")])
def test_conformance_needs_a_sign_in_and_every_script_is_clean(generate, shellcheck, answers, tmp_path):
    """--offline passes on the generated setup (the pins come from the gateway's managed policy); without a sign-in
    the network run stops in one line naming what to do; --replay is refused in one line."""
    project = generate(**answers)
    scripts = shellcheck(project)
    assert ("scripts/health-check.sh" in scripts) == (answers.get("deploy_gateway", True))
    for rel in scripts:
        if not rel.startswith(("scripts/lib/", "client/env")):
            assert os.access(project / rel, os.X_OK), rel
    home = tmp_path / "home"
    home.mkdir()

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run(["scripts/conformance.sh", *args], cwd=project, env=clean_env(home), input=stdin,
                              capture_output=True, text=True, timeout=60, check=False)

    offline = run("--offline")
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert "PASS  settings      client/settings.json pins opus=claude-opus-5-5, sonnet=claude-sonnet-5-5, " \
           "haiku=claude-haiku-5-5" in offline.stdout
    url = answers.get("gateway_url", GATEWAY)
    unsigned, empty, replay = run(), run("--session-token-stdin"), run("--replay")
    assert unsigned.returncode == 2 and unsigned.stdout == ""
    assert unsigned.stderr == (f"conformance.sh: this machine holds no sign-in to {url}; run claude, then /login once "
                               "(or pass a session token with --session-token-stdin)\n")
    assert empty.returncode == 2 and empty.stderr == "conformance.sh: --session-token-stdin: no session token on stdin\n"
    assert replay.returncode == 2 and "--replay is not available for the Claude apps gateway" in replay.stderr
    sign_in(home, url)
    expired = json.loads((home / ".claude" / ".credentials.json").read_text())
    expired["enterpriseGateway"]["expiresAt"] = 1000
    (home / ".claude" / ".credentials.json").write_text(json.dumps(expired))
    stale = run()
    assert stale.returncode == 2 and "the session this machine stored at sign-in has expired" in stale.stderr
    header = (project / "scripts" / "conformance.sh").read_text().split("\nset -eu", 1)[0]
    assert "--session-token-stdin read the session token from stdin" in header
    docs = (project / "docs" / "conformance.md").read_text()
    assert "--session-token-stdin" in docs and "Not available" not in docs

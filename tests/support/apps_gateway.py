"""TEST SUPPORT: Anthropic's Claude apps gateway (`claude gateway --config FILE`) as a subprocess, and a stored
sign-in that lets a headless `claude -p` use it.

    with AppsGateway(claude_bin, config_path, env={...}, workdir=tmp_path) as gateway:
        gateway.url, gateway.events("inference")
    sign_in(home, gateway.url, jwt_secret, sub=..., email=..., groups=[...], cert_pem=leaf.pem)

The gateway runs with a throwaway HOME, `CLAUDE_GATEWAY_ALLOW_LOOPBACK=1` (loopback upstreams and issuers are refused
as "metadata endpoints" without it; tests only) and a short drain (`CLAUDE_GATEWAY_DRAIN_TIMEOUT_MS`; it drains 25 s
on SIGTERM by default). It writes its log lines (`[gateway] <time> info ...`) and its events, one JSON object a line
(`{"ts": ..., "evt": "inference", ...}`), to stderr (2.1.332: stdout stays empty); both streams are read here, in order.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.cookiejar
import json
import os
import signal
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Self
from urllib.parse import urlencode, urlsplit

import jwt

# The stored sign-in's shape (`~/.claude/.credentials.json`: gatewayTrust + enterpriseGateway) and the session token's
# claims were read from this CLI version's binary (checked live by tests/test_live_apps_gateway_support.py). They are
# not documented: when versions.CLAUDE_CODE_VERSION moves, check them again and then move this constant.
SIGN_IN_SHAPE_VERSION = "2.1.332"
SESSION_AUDIENCE = "claude-gateway"
HTTP_LOOPBACK_TRUST = "http-loopback"  # gatewayTrust value for an http:// gateway on a loopback host
READY_TIMEOUT = 60.0  # seconds the gateway gets to answer /readyz (it boots in about 1 s here)
STOP_TIMEOUT = 10.0  # seconds after SIGTERM before SIGKILL
DRAIN_MS = "500"


def _get(url: str, cafile: str | None = None, timeout: float = 5.0) -> tuple[int, str]:
    context = ssl.create_default_context(cafile=cafile) if url.startswith("https") else None
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


class AppsGateway:
    """One `claude gateway` process. `url` is where it listens (https when `tls` is given); `cafile` is the CA a
    client needs for it. `start()` waits (bounded) for /readyz to answer 200; `stop()` ends it by its PID."""

    def __init__(self, claude_bin: str, config: Path, url: str, env: dict[str, str] | None = None,
                 workdir: Path | None = None, cafile: str | None = None):
        self.claude_bin, self.config, self.url, self.cafile = claude_bin, Path(config), url.rstrip("/"), cafile
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="apps-gateway-"))
        self.home = self.workdir / "gateway-home"
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": str(self.home),
                    "CLAUDE_GATEWAY_ALLOW_LOOPBACK": "1", "CLAUDE_GATEWAY_DRAIN_TIMEOUT_MS": DRAIN_MS,
                    **({"NODE_EXTRA_CA_CERTS": cafile} if cafile else {}), **(env or {})}
        self.lines: list[str] = []  # stdout and stderr, merged, in order
        self.log_path = self.workdir / "gateway.log"
        self.process: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None

    # ---- running it ------------------------------------------------------------------------------------------------
    def launch(self) -> subprocess.Popen:
        """Start the process without waiting for it to be ready (for boot failures: see `wait_exit`)."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen([self.claude_bin, "gateway", "--config", str(self.config)],
                                        env=self.env, cwd=self.workdir, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()
        return self.process

    def _read_output(self) -> None:
        assert self.process and self.process.stdout
        with open(self.log_path, "a", encoding="utf-8") as log:
            for raw in self.process.stdout:  # ends when the process closes its end (it exits)
                line = raw.decode(errors="replace").rstrip("\n")
                self.lines.append(line)
                log.write(line + "\n")
                log.flush()

    def start(self, timeout: float = READY_TIMEOUT) -> Self:
        self.launch()
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"claude gateway exited ({self.process.returncode}) before /readyz:\n{self.output()}")
            with contextlib.suppress(OSError, ssl.SSLError):
                status, body = _get(f"{self.url}/readyz", self.cafile, timeout=2)
                if status == 200:
                    return self
                last = f"{status} {body}"
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"claude gateway was not ready within {timeout} s (last /readyz: {last}):\n{self.output()}")

    def wait_exit(self, timeout: float = 30.0) -> int:
        """For a gateway that must refuse to boot: its exit code (SIGKILL and an error if it is still running)."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise RuntimeError(f"claude gateway still running after {timeout} s:\n{self.output()}") from None
        finally:
            if self._reader:
                self._reader.join(timeout=5)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        if self._reader:
            self._reader.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- what it said ----------------------------------------------------------------------------------------------
    def output(self, last: int = 80) -> str:
        return "\n".join(self.lines[-last:])

    def all_events(self) -> list[dict]:
        found = []
        for line in list(self.lines):
            if not line.startswith("{"):
                continue
            with contextlib.suppress(ValueError):
                value = json.loads(line)
                if isinstance(value, dict):
                    found.append(value)
        return found

    def events(self, kind: str | None = None) -> list[dict]:
        """The JSON-lines events (`evt`), those of kind `kind` when given (e.g. "inference", "managed.serve")."""
        return [e for e in self.all_events() if kind is None or e.get("evt") == kind]

    def wait_for_event(self, kind: str, timeout: float = 10.0, **match) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events(kind):
                if all(event.get(k) == v for k, v in match.items()):
                    return event
            time.sleep(0.1)
        raise AssertionError(f"no {kind} event matching {match} within {timeout} s:\n{self.output()}")

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
        context = ssl.create_default_context(cafile=self.cafile) if self.url.startswith("https") else None
        request = urllib.request.Request(f"{self.url}{path}", headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10, context=context) as response:
                return response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def request(self, method: str, path: str, body: dict | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict | str]:
        context = ssl.create_default_context(cafile=self.cafile) if self.url.startswith("https") else None
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method,
                                         headers={"content-type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=30, context=context) as response:
                status, text = response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode(errors="replace")
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text


# ---- signing in -------------------------------------------------------------------------------------------------
def device_login(gateway_url: str, cafile: str | None = None) -> tuple[int, dict | str]:
    """The sign-in `/login` runs, with this process as the browser: device authorization, the /device approval
    (the IdP, e.g. oidc_issuer.RunningIssuer, signs its user in without a page), the callback, then the device-code
    token request. Returns the gateway's /oauth/token answer (200: access_token = the session JWT, refresh_token =
    the IdP's refresh token; 400 {"error": "access_denied"} when the gateway refused the user)."""
    url = gateway_url.rstrip("/")
    context = ssl.create_default_context(cafile=cafile) if url.startswith("https") else None

    def post(opener, path: str, form: dict[str, str], headers: dict[str, str] | None = None):
        request = urllib.request.Request(f"{url}{path}", data=urlencode(form).encode(), headers=headers or {})
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    plain = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))
    status, text = post(plain, "/oauth/device_authorization", {})
    if status != 200:
        return status, text
    device = json.loads(text)
    # The browser: cookies kept (the callback checks the browser that approved), redirects followed (to the IdP
    # and back), Origin set as a browser sets it on a form post (the gateway refuses cross-site posts).
    browser = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context),
                                          urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with browser.open(device["verification_uri_complete"], timeout=30) as page:
        page.read()
    post(browser, "/device", {"user_code": device["user_code"]}, {"Origin": url, "Sec-Fetch-Site": "same-origin"})
    status, text = post(plain, "/oauth/token", {"grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                                                "device_code": device["device_code"]})
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


# ---- the stored sign-in -----------------------------------------------------------------------------------------
def session_kid(jwt_secret: str) -> str:
    """The session token's `kid`: the first 8 bytes of sha256(secret), in hex."""
    return hashlib.sha256(jwt_secret.encode()).digest()[:8].hex()


def mint_session(jwt_secret: str, issuer: str, sub: str, email: str, groups: list[str], name: str | None = None,
                 ttl_seconds: int = 3600, extra_claims: dict | None = None) -> str:
    """A gateway session token as the gateway mints it (HS256 over session.jwt_secret)."""
    now = int(time.time())
    claims = {"sub": sub, "email": email, "name": name or email.split("@")[0], "groups": list(groups),
              "aud": SESSION_AUDIENCE, "iss": issuer, "iat": now, "exp": now + ttl_seconds, **(extra_claims or {})}
    return jwt.encode(claims, jwt_secret, algorithm="HS256", headers={"kid": session_kid(jwt_secret)})


def certificate_sha256(cert_pem: str) -> str:
    """The leaf certificate's SHA-256 (lower-case hex of the DER): the CLI's gatewayTrust value for an https gateway."""
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(cert_pem)).hexdigest()


def sign_in(home: Path, gateway_url: str, jwt_secret: str, sub: str, email: str, groups: list[str],
            name: str | None = None, cert_pem: str | None = None, issuer: str | None = None,
            ttl_seconds: int = 3600, idp_refresh_token: str | None = None, session_jwt: str | None = None) -> dict:
    """Write the sign-in `claude /login` stores (`home/.claude/.credentials.json`) for a gateway, so that a headless
    `claude -p` under HOME=home talks to it as this user. Shape read from Claude Code SIGN_IN_SHAPE_VERSION.

    gateway_url: the gateway's URL as the client reaches it (what forceLoginGatewayUrl says).
    issuer: the token's `iss` (default: gateway_url). The gateway sets it to listen.public_url and leaves it out
    without one; 2.1.332 accepts a token with an `iss` from a gateway that has no public_url (checked).
    cert_pem: the gateway's leaf certificate (an https gateway: the CLI pins its SHA-256); None for http loopback.
    session_jwt: a token the gateway minted (device_login) instead of one minted here.
    Returns what was written."""
    url = gateway_url.rstrip("/")
    host = urlsplit(url).hostname or ""
    if url.startswith("https://"):
        if cert_pem is None:
            raise ValueError("an https gateway needs cert_pem: the CLI trusts the certificate's SHA-256")
        trust = certificate_sha256(cert_pem)
    else:
        trust = HTTP_LOOPBACK_TRUST
    token = session_jwt or mint_session(jwt_secret, (issuer or url).rstrip("/"), sub, email, groups, name, ttl_seconds)
    gateway = {"url": url, "jwt": token, "expiresAt": int(time.time() + ttl_seconds) * 1000,
               "tokenEndpoint": f"{url}/oauth/token", "vouchedAtLogin": False}
    if idp_refresh_token:
        gateway["idpRefreshToken"] = idp_refresh_token
    credentials = {"gatewayTrust": {host: trust}, "enterpriseGateway": gateway}
    directory = Path(home) / ".claude"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / ".credentials.json"
    path.write_text(json.dumps(credentials, indent=2))
    path.chmod(0o600)
    return credentials


def client_settings(home: Path, gateway_url: str, **extra) -> Path:
    """User settings that make the CLI sign in to (and only to) this gateway: forceLoginMethod "gateway" and
    forceLoginGatewayUrl (managed settings say this on a real machine; user settings do where none exist)."""
    path = Path(home) / ".claude" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"forceLoginMethod": "gateway", "forceLoginGatewayUrl": gateway_url.rstrip("/"),
                                **extra}, indent=2))
    return path

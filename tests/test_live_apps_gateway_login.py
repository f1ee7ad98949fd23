"""The Claude apps gateway's sign-in as a developer does it (issue 31): the pinned CLI's interactive first run in a
terminal (tmux send-keys / capture-pane), on a HOME where the generated client/install.sh ran, against the generated
gateway over https (test CA), the test OIDC issuer, a throwaway Postgres and the mock provider.

The first run of 2.1.332 on such a HOME opens the same sign-in `/login` opens (checked by hand: typing `/login` later
shows the same "Cloud gateway … Enter to connect" screen): theme, "Cloud gateway" with the URL from the settings
install.sh wrote, "Trust gateway localhost?" with the certificate's fingerprint, a device code, then (this process as
the browser: /device, the issuer signs its user in without a page, /oauth/callback) "Connected to Cloud gateway".
Afterwards the stored sign-in names the gateway, the issuer was asked for offline_access, and `claude -p` through
client/env.sh prints the mock's reply. Every wait is bounded; the tmux server is ended by its socket name."""

from __future__ import annotations

import http.cookiejar
import json
import re
import shutil
import ssl
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from apps_gateway import certificate_sha256
from environment import clean_env, require_tool
from generated_apps_gateway import started_apps_gateway
from mock_provider import DEFAULT_REPLY
from oidc_issuer import RunningIssuer, TestUser

pytestmark = pytest.mark.live

ALICE = TestUser(sub="00u-alice", email="alice@example.com", groups=["engineering"])
SCREEN_WAIT = 60  # seconds any one screen gets to appear
DEVICE_CODE = re.compile(r"Code:\s+([A-Z0-9]{4}-[A-Z0-9]{4})")


@pytest.fixture(scope="module")
def issuer():
    with RunningIssuer(user=ALICE) as running:
        yield running


@pytest.fixture(scope="module")
def gateway(copie_module, template_repo, claude_bin, issuer, gateway_db, gateway_ca, module_mock):
    with started_apps_gateway(copie_module, template_repo, claude_bin, issuer, gateway_db, gateway_ca, module_mock.url,
                              oidc_allowed_groups="engineering") as gw:
        yield gw


class Terminal:
    """One command in a detached tmux session on a private socket; `close()` ends that tmux server."""

    def __init__(self, command: str, cwd: Path, env: dict[str, str]):
        tmux = require_tool(shutil.which("tmux"), "tmux", "apt-get install tmux")
        self.tmux = [tmux, "-L", f"agw-login-{uuid.uuid4().hex[:8]}"]
        self.env = env
        subprocess.run([*self.tmux, "-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "200", "-y", "50",
                        "-c", str(cwd), f"{command}; echo CLAUDE-EXITED=$?; sleep 600"],
                       env=env, check=True, timeout=30)

    def screen(self) -> str:
        return subprocess.run([*self.tmux, "capture-pane", "-p", "-J", "-t", "t"], capture_output=True, text=True,
                              timeout=30, check=False, env=self.env).stdout

    def wait_for(self, text: str, timeout: float = SCREEN_WAIT) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            if "CLAUDE-EXITED=" in screen:
                break
            time.sleep(0.3)
        raise AssertionError(f"{text!r} did not appear within {timeout} s; screen:\n{self.screen()}")

    def keys(self, *keys: str) -> None:
        for key in keys:
            subprocess.run([*self.tmux, "send-keys", "-t", "t", key], check=True, timeout=30, env=self.env)
            time.sleep(0.3)  # the TUI redraws between keys

    def close(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], capture_output=True, timeout=30, check=False, env=self.env)


def approve_in_browser(gateway_url: str, cafile: str, user_code: str) -> int:
    """The browser half of the device flow for the code the terminal shows: the /device page, then its form, which
    redirects to the issuer's /authorize (it signs its user in without a page) and back to /oauth/callback."""
    context = ssl.create_default_context(cafile=cafile)
    browser = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context),
                                          urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with browser.open(f"{gateway_url}/device?user_code={quote(user_code)}", timeout=30) as page:
        page.read()
    form = urllib.request.Request(f"{gateway_url}/device", data=urlencode({"user_code": user_code}).encode(),
                                  headers={"Origin": gateway_url, "Sec-Fetch-Site": "same-origin"})
    with browser.open(form, timeout=30) as callback:
        callback.read()
        assert "/oauth/callback" in callback.url, callback.url
        return callback.status


def test_a_developer_signs_in_on_the_first_run_and_then_gets_the_providers_reply(gateway, issuer):
    home = gateway.developer("alice")
    env = clean_env(home, TERM="xterm-256color", CLAUDE_BIN=gateway.claude_bin)
    term = Terminal("""sh -c '. ./client/env.sh && exec "$CLAUDE_BIN"'""", gateway.project, env)
    try:
        term.wait_for("Choose the text style")
        term.keys("Enter")  # theme: the default
        screen = term.wait_for("Enter to connect")
        assert "Cloud gateway" in screen and f"Gateway:  {gateway.url}" in screen, screen
        term.keys("Enter")
        screen = term.wait_for("Trust gateway localhost?")
        fingerprint = re.search(r"Certificate fingerprint \(SHA-256\): ([0-9a-f]+)", screen)
        assert fingerprint and certificate_sha256(gateway.leaf_pem).startswith(fingerprint[1]), screen
        term.keys("Up")  # the default is "No, cancel login"
        term.wait_for("❯ Yes, trust this gateway")
        term.keys("Enter")
        screen = term.wait_for("Waiting for sign-in")
        code = DEVICE_CODE.search(screen)
        assert code and f"{gateway.url}/device" in screen, screen
        assert approve_in_browser(gateway.url, str(gateway.ca_path), code[1]) == 200
        term.wait_for("Connected to Cloud gateway")
        term.keys("Enter")
        # A first run goes on with the security notes and trusting this folder (this gateway pushes no managed
        # settings that need approving), then the prompt, with the gateway named under the model.
        term.wait_for("Security notes")
        term.keys("Enter")
        term.wait_for("Yes, I trust this folder")
        term.keys("Down")  # the default is "No, exit"
        term.wait_for("❯ Yes, I trust this folder")
        term.keys("Enter")
        term.wait_for("· Cloud gateway")
    finally:
        term.close()

    credentials = json.loads((home / ".claude" / ".credentials.json").read_text())
    assert credentials["enterpriseGateway"]["url"] == gateway.url, sorted(credentials["enterpriseGateway"])
    assert credentials["gatewayTrust"] == {"localhost": certificate_sha256(gateway.leaf_pem)}
    assert any("offline_access" in scopes for scopes in issuer.scopes_asked()), issuer.scopes_asked()

    result = gateway.claude(home)
    assert result.returncode == 0, result.stdout + result.stderr + gateway.log[-3000:]
    assert DEFAULT_REPLY in result.stdout

"""The test support for Anthropic's Claude apps gateway works, live: the OIDC issuer (tests/support/oidc_issuer.py),
the test CA (tls_ca.py), and apps_gateway.py (the gateway as a subprocess, the device sign-in, and `sign_in`, the
stored sign-in a headless `claude -p` uses), against a hand-written gateway config, a real Postgres and the mock
provider. The generated gateway files are tested elsewhere; this module only proves the tools those tests stand on.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import ssl
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import jwt
import postgres
import pytest
from apps_gateway import SESSION_AUDIENCE, AppsGateway, client_settings, device_login, session_kid, sign_in
from environment import clean_env, free_port, require_tool
from mock_provider import RunningMock
from oidc_issuer import RunningIssuer, TestUser
from tls_ca import TestCA

pytestmark = pytest.mark.live

JWT_SECRET = "apps-gateway-test-session-secret-0123456789"
HANG_GUARD = 180  # seconds a `claude -p` run gets at most


@pytest.fixture(scope="module")
def gateway_db():
    """A throwaway Postgres 15 (an empty database: the gateway applies its own migrations at boot)."""
    require_tool(postgres.PG_BIN / "initdb", "PostgreSQL 15", "apt-get install postgresql")
    with postgres.Postgres() as db:
        yield db


def write_config(path: Path, config: dict) -> Path:
    path.write_text(json.dumps(config, indent=2))  # JSON is YAML
    return path


def base_config(port: int, issuer, database_url: str, upstreams: list[dict], **more) -> dict:
    return {"listen": {"host": "127.0.0.1", "port": port},
            "upstreams": upstreams,
            "oidc": {"issuer": issuer.url, "client_id": issuer.client_id, "client_secret": issuer.client_secret},
            "session": {"jwt_secret": JWT_SECRET},
            "store": {"postgres_url": database_url}, **more}


def no_redirects() -> urllib.request.OpenerDirector:
    class Keep(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None
    return urllib.request.build_opener(Keep)


def test_issuer_code_flow_with_pkce_and_refresh():
    user = TestUser(sub="u-42", email="ada@example.com", name="Ada", groups=["eng", "ops"])
    with RunningIssuer(user=user) as issuer:
        discovery = json.load(urllib.request.urlopen(f"{issuer.url}/.well-known/openid-configuration", timeout=10))
        assert discovery["issuer"] == issuer.url
        keys = jwt.PyJWKSet.from_dict(json.load(urllib.request.urlopen(discovery["jwks_uri"], timeout=10)))
        verifier = "a-pkce-verifier-that-is-long-enough-0123456789abcdef"
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        redirect_uri = "http://127.0.0.1:1/callback"

        def authorize(scope: str) -> str:
            query = urllib.parse.urlencode({"response_type": "code", "client_id": issuer.client_id, "scope": scope,
                                            "redirect_uri": redirect_uri, "state": "s1", "nonce": "n1",
                                            "code_challenge": challenge, "code_challenge_method": "S256"})
            with pytest.raises(urllib.error.HTTPError) as redirect:
                no_redirects().open(f"{discovery['authorization_endpoint']}?{query}", timeout=10)
            assert redirect.value.code == 302
            location = urllib.parse.urlsplit(redirect.value.headers["Location"])
            params = dict(urllib.parse.parse_qsl(location.query))
            assert location.path == "/callback" and params["state"] == "s1"
            return params["code"]

        def token(form: dict) -> tuple[int, dict]:
            data = urllib.parse.urlencode({"client_id": issuer.client_id, "client_secret": issuer.client_secret,
                                           **form}).encode()
            try:
                with urllib.request.urlopen(discovery["token_endpoint"], data, timeout=10) as response:
                    return response.status, json.load(response)
            except urllib.error.HTTPError as error:
                return error.code, json.load(error)

        code = authorize("openid email offline_access")
        assert token({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                      "code_verifier": "wrong"})[0] == 400  # PKCE checked (and the code is spent)
        status, answer = token({"grant_type": "authorization_code", "code": authorize("openid email offline_access"),
                                "redirect_uri": redirect_uri, "code_verifier": verifier})
        assert status == 200, answer
        claims = jwt.decode(answer["id_token"], keys[issuer.kid].key, algorithms=["RS256"], audience=issuer.client_id,
                            issuer=issuer.url)
        assert (claims["sub"], claims["email"], claims["name"], claims["groups"], claims["nonce"]) == \
            ("u-42", "ada@example.com", "Ada", ["eng", "ops"], "n1")
        status, refreshed = token({"grant_type": "refresh_token", "refresh_token": answer["refresh_token"]})
        assert status == 200 and refreshed["id_token"] and refreshed["access_token"]

        # No offline_access, no refresh token; every request recorded.
        status, answer = token({"grant_type": "authorization_code", "code": authorize("openid email"),
                                "redirect_uri": redirect_uri, "code_verifier": verifier})
        assert status == 200 and "refresh_token" not in answer
        assert issuer.scopes_asked() == [["openid", "email", "offline_access"]] * 2 + [["openid", "email"]]


def test_ca_issues_leaves_a_client_verifies_and_a_second_for_rotation(tmp_path):
    ca = TestCA.create(tmp_path / "ca")
    first, second = ca.issue(tmp_path / "leaf-1"), ca.issue(tmp_path / "leaf-2")
    assert first.sha256 != second.sha256
    client = ssl.create_default_context(cafile=str(ca.cert_path))
    for leaf in (first, second):
        with RunningMock(tls=(str(leaf.cert_path), str(leaf.key_path))) as mock:
            for name in ("127.0.0.1", "localhost"):  # both in the certificate's names
                with socket.create_connection(("127.0.0.1", mock.port), timeout=10) as raw, \
                        client.wrap_socket(raw, server_hostname=name) as tls:
                    assert hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest() == leaf.sha256
            with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
                urllib.request.urlopen(f"https://127.0.0.1:{mock.port}/v1/models",
                                       context=ssl.create_default_context(), timeout=10)


def test_claude_p_signed_in_through_the_gateway(claude_bin, gateway_db, tmp_path):
    """TLS from the test CA; the first upstream is down (failover); a managed policy's cli.env picks the Opus model id,
    and the models catalog maps it to the wire id the mock must see; sign_in() signs the real CLI in."""
    ca = TestCA.create(tmp_path / "ca")
    leaf = ca.issue(tmp_path / "leaf")
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    with RunningIssuer() as issuer, RunningMock() as mock:
        config = base_config(
            port, issuer, gateway_db.create_database("gateway_cli"),
            upstreams=[{"provider": "anthropic", "name": "down", "base_url": f"http://127.0.0.1:{free_port()}",
                        "auth": {"api_key": "unused-key"}},
                       {"provider": "anthropic", "name": "mock", "base_url": mock.url,
                        "auth": {"api_key": "${MOCK_API_KEY}"}}],
            models=[{"id": "claude-opus-test", "upstream_model": {"mock": "mock-opus-wire-id", "down": "unused"}}],
            managed={"policies": [{"match": {"groups": ["engineering"]},
                                   "cli": {"env": {"ANTHROPIC_DEFAULT_OPUS_MODEL": "claude-opus-test"}}}]})
        config["listen"] |= {"public_url": url, "tls": {"cert": str(leaf.cert_path), "key": str(leaf.key_path)}}
        config_path = write_config(tmp_path / "claude-apps-gateway.yaml", config)
        with AppsGateway(claude_bin, config_path, url, env={"MOCK_API_KEY": "mock-provider-key"},
                         workdir=tmp_path / "gateway", cafile=str(ca.cert_path)) as gateway:
            assert gateway.get("/healthz") == (200, "ok") and gateway.get("/readyz") == (200, "ready")
            home = tmp_path / "home"
            written = sign_in(home, url, JWT_SECRET, sub="user-1", email="dev@example.com", groups=["engineering"],
                              cert_pem=leaf.pem)
            assert written["gatewayTrust"] == {"127.0.0.1": leaf.sha256}
            client_settings(home, url)
            result = subprocess.run([claude_bin, "-p", "say hi", "--model", "opus"], cwd=tmp_path, text=True,
                                    capture_output=True, timeout=HANG_GUARD, stdin=subprocess.DEVNULL, check=False,
                                    env=clean_env(home, NODE_EXTRA_CA_CERTS=str(ca.cert_path),
                                                  DISABLE_NONESSENTIAL_TRAFFIC="1"))
            assert result.returncode == 0, result.stderr + gateway.output()
            assert mock.reply in result.stdout
            assert [r.body["model"] for r in mock.requests if r.path.startswith("/v1/messages")] == \
                ["mock-opus-wire-id"]
            assert mock.requests[-1].headers.get("x-api-key") == "mock-provider-key"
            served = gateway.wait_for_event("inference", status=200)
            assert (served["sub"], served["model"], served["upstream"]) == ("user-1", "claude-opus-test", "mock")
            assert gateway.events("managed.serve")[0]["policy_index"] == 0
            assert any("upstream failed, trying next" in line and "down:" in line for line in gateway.lines)


def test_device_login_mints_a_session_for_allowed_groups_only(claude_bin, gateway_db, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with RunningIssuer(user=TestUser(sub="user-7", email="eve@example.com", groups=["engineering"])) as issuer:
        config = base_config(port, issuer, gateway_db.create_database("gateway_login"),
                             upstreams=[{"provider": "anthropic", "base_url": f"http://127.0.0.1:{free_port()}",
                                         "auth": {"api_key": "unused-key"}}])
        config["oidc"]["allowed_groups"] = ["engineering"]
        with AppsGateway(claude_bin, write_config(tmp_path / "gateway.yaml", config), url,
                         workdir=tmp_path / "gateway") as gateway:
            status, answer = device_login(url)
            assert status == 200, f"{answer}\n{gateway.output()}"
            assert jwt.get_unverified_header(answer["access_token"])["kid"] == session_kid(JWT_SECRET)
            claims = jwt.decode(answer["access_token"], JWT_SECRET, algorithms=["HS256"], audience=SESSION_AUDIENCE)
            assert (claims["sub"], claims["email"], claims["groups"]) == ("user-7", "eve@example.com", ["engineering"])
            assert answer["refresh_token"] in {a.get("refresh_token") for a in issuer.issued}
            assert issuer.scopes_asked() == [["openid", "profile", "email", "offline_access"]]

            issuer.user = TestUser(sub="user-8", email="mal@example.com", groups=["contractors"])
            assert device_login(url) == (400, {"error": "access_denied"})
            denied = gateway.wait_for_event("session.mint", result="fail")
            assert denied["err"] == "user is not a member of an allowed group"


def test_an_unset_variable_fails_the_boot(claude_bin, tmp_path):
    config = write_config(tmp_path / "gateway.yaml", {
        "listen": {"host": "127.0.0.1", "port": free_port()},
        "store": {"postgres_url": "postgresql://${GATEWAY_DB_PASSWORD_NOT_SET}@127.0.0.1/gateway"}})
    gateway = AppsGateway(claude_bin, config, "http://127.0.0.1:1", workdir=tmp_path / "gateway")
    gateway.launch()
    assert gateway.wait_exit() == 1
    assert "undefined env var in config: GATEWAY_DB_PASSWORD_NOT_SET" in gateway.output()

"""TEST SUPPORT: a small OpenID Connect issuer on a loopback address, for the Claude apps gateway's sign-in.

Not product code. It serves what a relying party (the gateway) reads from a real identity provider:

- `/.well-known/openid-configuration` (discovery) and `/jwks` (one RS256 key, generated at start);
- `/authorize`: the authorization code flow with PKCE (S256 or plain). There is no login page: it signs in the
  configured test user (`issuer.user`: sub, email, name, groups) at once and redirects to `redirect_uri` with
  `code` and `state` (or with `error=access_denied` while `issuer.deny` is set);
- `/token`: `authorization_code` (client authentication by client_secret_basic or client_secret_post, the
  redirect_uri and the PKCE verifier checked) and `refresh_token`; answers `id_token` (RS256, with `nonce`),
  `access_token` (an RS256 JWT), and a `refresh_token` only when `offline_access` was among the scopes;
- `/userinfo` (bearer access token).

Every request is recorded (`issuer.requests`, `issuer.scopes_asked()`), so a test can assert what the gateway asked.
Runs in a thread of the test process (`with RunningIssuer(...) as issuer:`), HTTP or HTTPS (`tls=(cert, key)`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit, urlunsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

CODE_TTL = 300  # seconds an authorization code stays valid
TOKEN_TTL = 3600  # seconds an ID or access token stays valid


@dataclass
class TestUser:
    """The person the issuer signs in: every /authorize signs in `issuer.user` as it is at that moment."""

    __test__ = False  # not a pytest test class

    sub: str = "user-1"
    email: str = "dev@example.com"
    name: str = "Test Developer"
    groups: list[str] = field(default_factory=lambda: ["engineering"])
    extra_claims: dict = field(default_factory=dict)


@dataclass
class IssuerRequest:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    challenge: str | None
    challenge_method: str
    user: TestUser
    expires: float


class OidcIssuer:
    """The issuer's state: `url` is the issuer identifier (what `oidc.issuer` says), no trailing slash."""

    def __init__(self, host: str, port: int, client_id: str, client_secret: str, user: TestUser, tls: bool,
                 groups_claim: str):
        self.host, self.port, self.tls = host, port, tls
        self.client_id, self.client_secret = client_id, client_secret
        self.user = user
        self.groups_claim = groups_claim
        self.deny = False  # while True, /authorize answers error=access_denied
        self.requests: list[IssuerRequest] = []
        self.issued: list[dict] = []  # every /token answer, in order
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(8)
        self._codes: dict[str, _Grant] = {}
        self._refresh: dict[str, _Grant] = {}
        self._access: dict[str, TestUser] = {}
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    # ---- what a test asks ------------------------------------------------------------------------------------------
    def requests_to(self, path: str) -> list[IssuerRequest]:
        return [r for r in self.requests if r.path == path]

    def scopes_asked(self) -> list[list[str]]:
        """The scopes of each /authorize request, in order."""
        return [r.query.get("scope", "").split() for r in self.requests_to("/authorize")]

    def discovery(self) -> dict:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile", "groups", "offline_access"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256", "plain"],
            "claims_supported": ["sub", "email", "email_verified", "name", self.groups_claim],
        }

    def jwks(self) -> dict:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def user_claims(self, user: TestUser) -> dict:
        return {"sub": user.sub, "email": user.email, "email_verified": True, "name": user.name,
                self.groups_claim: list(user.groups), **user.extra_claims}

    def sign(self, claims: dict) -> str:
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})

    # ---- the endpoints ---------------------------------------------------------------------------------------------
    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], dict | None]:
        """(status, headers, json body): a redirect to redirect_uri, or a 400 when it cannot redirect."""
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id or not redirect_uri:
            return 400, {}, {"error": "invalid_request", "error_description": "unknown client_id or no redirect_uri"}
        params = {"state": query["state"]} if "state" in query else {}
        if self.deny:
            params["error"] = "access_denied"
        elif query.get("response_type") != "code":
            params["error"] = "unsupported_response_type"
        elif "openid" not in query.get("scope", "").split():
            params["error"] = "invalid_scope"
        else:
            code = secrets.token_urlsafe(24)
            with self._lock:
                self._codes[code] = _Grant(self.client_id, redirect_uri, query.get("scope", ""), query.get("nonce"),
                                           query.get("code_challenge"), query.get("code_challenge_method", "plain"),
                                           TestUser(**vars(self.user)), time.time() + CODE_TTL)
            params["code"] = code
        parts = urlsplit(redirect_uri)
        location = urlunsplit(parts._replace(query="&".join(filter(None, [parts.query, urlencode(params)]))))
        return 302, {"Location": location}, None

    def _client_ok(self, form: dict[str, str], headers: dict[str, str]) -> bool:
        basic = headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            except ValueError:
                return False
            client_id, secret = unquote_plus(client_id), unquote_plus(secret)
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        return client_id == self.client_id and secrets.compare_digest(secret, self.client_secret)

    def token(self, form: dict[str, str], headers: dict[str, str]) -> tuple[int, dict]:
        if not self._client_ok(form, headers):
            return 401, {"error": "invalid_client"}
        grant_type = form.get("grant_type")
        with self._lock:
            if grant_type == "authorization_code":
                grant = self._codes.pop(form.get("code", ""), None)
                if grant is None or grant.expires < time.time():
                    return 400, {"error": "invalid_grant", "error_description": "unknown or expired code"}
                if form.get("redirect_uri") != grant.redirect_uri:
                    return 400, {"error": "invalid_grant", "error_description": "redirect_uri differs"}
                if grant.challenge is not None:
                    verifier = form.get("code_verifier", "")
                    if grant.challenge_method == "S256":
                        computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
                        computed = computed.decode()
                    else:
                        computed = verifier
                    if not verifier or computed != grant.challenge:
                        return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
            elif grant_type == "refresh_token":
                grant = self._refresh.get(form.get("refresh_token", ""))
                if grant is None:
                    return 400, {"error": "invalid_grant", "error_description": "unknown refresh_token"}
                grant = _Grant(**{**vars(grant), "nonce": None})
            else:
                return 400, {"error": "unsupported_grant_type"}
            answer = self._tokens(grant)
            self.issued.append(answer)
        return 200, answer

    def _tokens(self, grant: _Grant) -> dict:
        now = int(time.time())
        base = {"iss": self.url, "sub": grant.user.sub, "iat": now, "exp": now + TOKEN_TTL}
        id_claims = {**base, "aud": grant.client_id, "auth_time": now, **self.user_claims(grant.user)}
        if grant.nonce:
            id_claims["nonce"] = grant.nonce
        access = self.sign({**base, "aud": grant.client_id, "scope": grant.scope, "jti": secrets.token_hex(8)})
        self._access[access] = grant.user
        answer = {"access_token": access, "token_type": "Bearer", "expires_in": TOKEN_TTL,
                  "id_token": self.sign(id_claims), "scope": grant.scope}
        if "offline_access" in grant.scope.split():
            refresh = secrets.token_urlsafe(32)
            self._refresh[refresh] = grant
            answer["refresh_token"] = refresh
        return answer

    def userinfo(self, headers: dict[str, str]) -> tuple[int, dict]:
        auth = headers.get("authorization", "")
        user = self._access.get(auth[7:]) if auth.lower().startswith("bearer ") else None
        return (200, self.user_claims(user)) if user else (401, {"error": "invalid_token"})


def _handler(issuer: OidcIssuer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet
            pass

        def _record(self, form: dict[str, str]) -> tuple[str, dict[str, str], dict[str, str]]:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            headers = {k.lower(): v for k, v in self.headers.items()}
            issuer.requests.append(IssuerRequest(self.command, parts.path, query, form, headers))
            return parts.path, query, headers

        def _send(self, status: int, body: dict | None, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if body is not None:
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            path, query, headers = self._record({})
            if path == "/.well-known/openid-configuration":
                self._send(200, issuer.discovery())
            elif path == "/jwks":
                self._send(200, issuer.jwks())
            elif path == "/authorize":
                status, extra, body = issuer.authorize(query)
                self._send(status, body, extra)
            elif path == "/userinfo":
                self._send(*issuer.userinfo(headers))
            else:
                self._send(404, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
            path, query, headers = self._record(form)
            if path == "/token":
                self._send(*issuer.token(form, headers))
            elif path == "/userinfo":
                self._send(*issuer.userinfo(headers))
            elif path == "/authorize":
                status, extra, body = issuer.authorize({**query, **form})
                self._send(status, body, extra)
            else:
                self._send(404, {"error": "not_found"})

    return Handler


class RunningIssuer:
    """Context manager: the issuer on a loopback address in a thread of this process, stopped on exit.

    `host` must be a loopback address (the gateway needs CLAUDE_GATEWAY_ALLOW_LOOPBACK=1 to accept it).
    tls: (certificate, key) PEM files to serve HTTPS (the gateway then needs the CA in NODE_EXTRA_CA_CERTS)."""

    def __init__(self, client_id: str = "claude-gateway-test", client_secret: str = "issuer-test-client-secret",
                 user: TestUser | None = None, host: str = "127.0.0.1", tls: tuple[str, str] | None = None,
                 groups_claim: str = "groups"):
        if not host.startswith("127.") and host not in ("localhost", "::1"):
            raise ValueError(f"the test issuer listens on loopback addresses only, not {host}")
        self._server = ThreadingHTTPServer((host, 0), None)
        self._server.daemon_threads = True
        self.issuer = OidcIssuer(host, self._server.server_address[1], client_id, client_secret, user or TestUser(),
                                 bool(tls), groups_claim)
        self._server.RequestHandlerClass = _handler(self.issuer)
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True,
                                                      do_handshake_on_connect=False)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> OidcIssuer:
        self._thread.start()
        return self.issuer

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> OidcIssuer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


if __name__ == "__main__":  # manual use: python tests/support/oidc_issuer.py
    with RunningIssuer() as running:
        print(running.url, flush=True)
        time.sleep(3600)

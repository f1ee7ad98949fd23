"""TEST SUPPORT: a loopback stand-in for the Claude apps gateway's operational routes (no sign-in, no inference):
/healthz, /readyz, the sign-in discovery document and the admin API's spend limits, enough for the generated
scripts/health-check.sh and scripts/check-status.sh. Each route answers as the 2.1.332 gateway does when it is
healthy; `down` makes the named paths answer 503; `tls` (certificate, key) serves https. It records the x-api-key each
admin request carried."""

from __future__ import annotations

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

DISCOVERY = "/.well-known/oauth-authorization-server"
SPEND_LIMITS = "/v1/organizations/spend_limits"


class FakeAppsGateway:
    def __init__(self, admin_key: str, down: tuple[str, ...] = (), tls: tuple[str, str] | None = None):
        self.admin_key = admin_key
        self.down = set(down)
        self.admin_keys_seen: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self._server.server_address[1]
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path in gateway.down:
                    return self.answer(503, {"status": "unavailable"})
                if path in ("/healthz", "/readyz"):
                    return self.answer(200, {"status": "ok"})
                if path == DISCOVERY:
                    return self.answer(200, {"issuer": gateway.url, "token_endpoint": f"{gateway.url}/oauth/token",
                                             "device_authorization_endpoint": f"{gateway.url}/oauth/device_authorization"})
                if path == SPEND_LIMITS:
                    key = self.headers.get("x-api-key", "")
                    gateway.admin_keys_seen.append(key)
                    if key != gateway.admin_key:
                        return self.answer(401, {"type": "error", "error": {"type": "authentication_error"}})
                    return self.answer(200, {"data": [], "has_more": False})
                return self.answer(404, {"type": "error", "error": {"type": "not_found_error"}})

            def answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def __enter__(self) -> Self:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

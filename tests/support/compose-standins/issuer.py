"""TEST SUPPORT: tests/support/oidc_issuer.py inside a compose network (see Containerfile): the issuer on all of the
container's addresses (its own network namespace, not the test machine's), over TLS.

    python3 issuer.py NAME PORT CERT KEY      (tests/support mounted at /opt/support)"""

import signal
import ssl
import sys
from http.server import ThreadingHTTPServer

sys.path.insert(0, "/opt/support")
from oidc_issuer import OidcIssuer, TestUser, _handler

name, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
issuer = OidcIssuer(name, port, "claude-gateway-test", "issuer-test-client-secret", TestUser(), True, "groups")
server = ThreadingHTTPServer(("0.0.0.0", port), _handler(issuer))
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print(f"issuer {issuer.url}", flush=True)
server.serve_forever()

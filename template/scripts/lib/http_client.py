"""http_client.py: the one HTTP client of the scripts that send a key (the admin tools and the conformance kit).

Standard library only. Its rules, the same for every caller:
- A redirect is never followed: the 3xx answer comes back as it is, for the caller to refuse in one line naming
  where it pointed (urllib would re-send the Authorization header to whatever host a Location names).
- One wall-clock deadline bounds the whole exchange: connecting (and a proxy's CONNECT), the TLS handshake, the
  status line, the headers and every read of the body. A watchdog shuts the socket down at the deadline, so a
  server that drips one byte a second, or sends a line without its newline, cannot keep a caller past it (a
  socket timeout alone bounds each read, not their sum). Name resolution is the one step it cannot interrupt.
- Bodies are read up to a cap (`max_bytes`); a bigger answer is an error, never held whole in memory.
- HTTP_PROXY, HTTPS_PROXY and NO_PROXY apply as urllib applies them (urllib.request.getproxies and proxy_bypass):
  https through a CONNECT tunnel, http as an absolute-URI request, user:password@ in the proxy URL as
  Proxy-Authorization. The Authorization header goes to the host named, through the proxy the user named.
- Every failure is a ClientError whose message is one line without the URL's credentials; callers name the call.
"""

from __future__ import annotations

import base64
import http.client
import json
import math
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
from typing import Any

MAX_BYTES = 8 << 20  # a JSON answer; callers pass another cap where they expect more (Prometheus text)
MAX_ERROR_BYTES = 64 << 10  # an error answer: only its message is shown
MAX_JSON_DIGITS = 30  # an integer in a JSON answer longer than this is not a count or an amount
READ_SIZE = 65536


class ClientError(Exception):
    """No usable answer; the message is one line (no URL, no key: the caller names the call)."""

    def __init__(self, message: str, timed_out: bool = False):
        super().__init__(" ".join(message.split())[:300])
        self.timed_out = timed_out


def redirect_note(location: str | None) -> str:
    """What every caller says about a 3xx answer (the location without credentials, bounded)."""
    where = _without_userinfo(" ".join((location or "").split()))[:200] or "(no Location)"
    return f"a redirect to {where}, not followed (the key would go along); use the address that answers"


def _without_userinfo(url: str) -> str:
    head, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, path = rest.partition("/")
    return head + sep + authority.rpartition("@")[2] + slash + path


class Response:
    """An answer whose status and headers arrived; its body is read with `read` or `readline`, within the same
    deadline. Use as a context manager (or call close): it stops the watchdog and closes the connection."""

    def __init__(self, connection: http.client.HTTPConnection, response: http.client.HTTPResponse,
                 watchdog: _Watchdog, max_bytes: int):
        self._connection, self._response, self._watchdog = connection, response, watchdog
        self.status, self.reason, self.headers = response.status, response.reason, response.headers
        self.max_bytes = max_bytes

    def __enter__(self):  # -> Self: typing.Self needs Python 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._watchdog.stop()
        try:
            self._response.close()
            self._connection.close()
        except OSError:
            pass

    def read(self, max_bytes: int | None = None) -> bytes:
        """The whole body, at most `max_bytes` (default: the request's cap); ClientError when it is bigger, breaks
        off or does not end before the deadline."""
        cap = self.max_bytes if max_bytes is None else max_bytes
        length = self._response.length
        if length is not None and length > cap:
            raise ClientError(f"the answer is {length} bytes, more than the {cap} this tool reads")
        chunks, size = [], 0
        while True:
            chunk = self._guarded(self._response.read, min(READ_SIZE, cap + 1 - size))
            if not chunk:
                self._watchdog.check()  # a socket shut down at the deadline reads as the end
                return b"".join(chunks)
            chunks.append(chunk)
            size += len(chunk)
            if size > cap:
                raise ClientError(f"the answer is more than the {cap} bytes this tool reads")

    def readline(self, limit: int) -> bytes:
        """One line of the body (at most `limit` bytes); b"" at its end."""
        line = self._guarded(self._response.readline, limit)
        if not line or not line.endswith(b"\n"):
            self._watchdog.check()
        return line

    def _guarded(self, read, size: int) -> bytes:
        try:
            return read(size)
        except (OSError, ValueError, http.client.HTTPException) as error:
            self._watchdog.check()
            raise ClientError(f"the answer broke off ({_reason(error)})") from None


class _Watchdog:
    """Shuts the connection's socket down at the deadline: any blocked connect, handshake or read then returns."""

    def __init__(self, connection: http.client.HTTPConnection, deadline: float, budget: float):
        self.connection, self.deadline, self.budget = connection, deadline, budget
        self.sock: socket.socket | None = None  # set once connected: http.client drops its own reference when
        # an answer ends the connection (Connection: close), while the answer still reads from the socket
        self.expired = False
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.expired = True
        sock = self.sock or self.connection.sock
        if sock is not None:
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's, under any TLS layer
            except OSError:
                pass

    def check(self) -> None:
        if self.expired or time.monotonic() >= self.deadline:
            self.expired = True
            raise ClientError(f"no complete answer within {self.budget:.0f} s", timed_out=True)

    def stop(self) -> None:
        self._timer.cancel()

    def create_connection(self, address, timeout=None, source_address=None):
        """socket.create_connection, bounded by the deadline over all addresses (not the timeout per address),
        each socket known to the watchdog from its first byte (a TLS handshake or a proxy's CONNECT answer that
        drips is cut too)."""
        host, port = address
        error: OSError = OSError(f"{host} has no address")
        for family, kind, proto, _, sockaddr in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                break
            sock = socket.socket(family, kind, proto)
            self.sock = sock
            try:
                sock.settimeout(remaining)
                if source_address:
                    sock.bind(source_address)
                sock.connect(sockaddr)
                sock.settimeout(timeout)
                return sock
            except OSError as failed:
                error = failed
                sock.close()
        self.check()
        raise error


def _reason(error: BaseException) -> str:
    reason = getattr(error, "reason", None) or str(error) or type(error).__name__
    return f"{type(error).__name__}: {reason}"[:200]


def _proxy_for(scheme: str, netloc: str) -> urllib.parse.SplitResult | None:
    """The proxy urllib would use for this URL (HTTP(S)_PROXY, NO_PROXY), parsed; None: connect directly."""
    proxy = urllib.request.getproxies().get(scheme)
    if not proxy or urllib.request.proxy_bypass(netloc.rpartition("@")[2]):
        return None
    if "://" not in proxy:
        proxy = "http://" + proxy
    parsed = urllib.parse.urlsplit(proxy)
    if not parsed.hostname:
        raise ClientError(f"the {scheme.upper()}_PROXY setting is not a proxy URL")
    return parsed


def _proxy_authorization(proxy: urllib.parse.SplitResult) -> dict[str, str]:
    if proxy.username is None:
        return {}
    user_pass = f"{urllib.parse.unquote(proxy.username)}:{urllib.parse.unquote(proxy.password or '')}"
    return {"Proxy-Authorization": "Basic " + base64.b64encode(user_pass.encode()).decode()}


def request(method: str, url: str, *, headers: dict[str, str] | None = None, body: bytes | None = None,
            deadline: float, read_timeout: float | None = None, context: ssl.SSLContext | None = None,
            max_bytes: int = MAX_BYTES) -> Response:
    """Send METHOD URL and return the answer once its status and headers arrived, whatever the status (3xx
    included: never followed). `deadline` is a time.monotonic() value bounding everything, reads of the body
    included; `read_timeout` also bounds each single wait. ClientError when there is no answer."""
    budget = deadline - time.monotonic()
    if budget <= 0:
        raise ClientError("not sent: no time left in the time budget", timed_out=True)
    try:
        parsed = urllib.parse.urlsplit(url)
        port = parsed.port
    except ValueError as error:
        raise ClientError(f"not a valid URL ({error})") from None
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ClientError("not an http(s) URL")
    host = parsed.hostname
    port = port or (443 if parsed.scheme == "https" else 80)
    target = parsed.path or "/"
    if parsed.query:
        target += "?" + parsed.query
    timeout = min(budget, read_timeout) if read_timeout else budget
    headers = dict(headers or {})
    proxy = _proxy_for(parsed.scheme, parsed.netloc)
    if proxy is None:
        connection = (http.client.HTTPSConnection(host, port, timeout=timeout, context=context or
                                                  ssl.create_default_context())
                      if parsed.scheme == "https" else http.client.HTTPConnection(host, port, timeout=timeout))
    else:
        proxy_port = proxy.port or (443 if proxy.scheme == "https" else 80)
        if parsed.scheme == "https":
            connection = http.client.HTTPSConnection(proxy.hostname, proxy_port, timeout=timeout,
                                                     context=context or ssl.create_default_context())
            connection.set_tunnel(host, port, headers=_proxy_authorization(proxy))
        else:
            connection = http.client.HTTPConnection(proxy.hostname, proxy_port, timeout=timeout)
            headers.update(_proxy_authorization(proxy))
            target = urllib.parse.urlunsplit((parsed.scheme, parsed.netloc.rpartition("@")[2], parsed.path or "/",
                                              parsed.query, ""))
    watchdog = _Watchdog(connection, deadline, budget)
    connection._create_connection = watchdog.create_connection  # http.client's own hook for making the socket
    try:
        connection.connect()
        watchdog.sock = connection.sock
        watchdog.check()  # the watchdog may have fired before the socket existed
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        watchdog.check()
    except ClientError:
        watchdog.stop()
        connection.close()
        raise
    except (OSError, ValueError, http.client.HTTPException) as error:
        watchdog.stop()
        connection.close()
        watchdog.check()
        raise ClientError(_reason(error)) from None
    return Response(connection, response, watchdog, max_bytes)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_JSON_DIGITS:
        raise ValueError(f"a number of {len(text)} digits")
    return int(text)


def decode_json(body: bytes) -> Any:
    """Strict JSON: UTF-8, finite numbers of sane length, no NaN/Infinity; ValueError (one line) otherwise."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_refuse_constant, parse_float=_finite_float,
                          parse_int=_bounded_int)
    except UnicodeDecodeError:
        raise ValueError("not UTF-8") from None
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except ValueError as error:
        raise ValueError(" ".join(str(error).split())[:120]) from None

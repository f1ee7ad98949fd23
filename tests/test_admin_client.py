"""The admin tools' HTTP client (template/scripts/lib/http_client.py under gateway_api.py), against a hostile
loopback gateway: generated statuses, headers, bodies, redirects, drips and sizes. Whatever it answers, a call ends
within its deadline (plus a generous margin: a hang guard, not a timing assertion) with a result or one GatewayError
line naming the call, and the key never reaches another host (a second loopback server records every Authorization
header it sees). Both servers start once for the module and are stopped by it."""

from __future__ import annotations

import itertools
import json
import os
import socket
import socketserver
import threading
import time

import pytest
from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st
from template_lib import load

# HYPOTHESIS_PROFILE=no-shrink: report the first failing example at once (against old code, shrinking a case that
# hangs 12 s per try takes many minutes).
settings.register_profile("no-shrink", phases=[Phase.explicit, Phase.generate])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


gateway_api = load("gateway_api")
conformance_client = load("conformance_client")  # the kit's client

KEY = "sk-admin-test-key-0123456789"
TIMEOUT = 1.0  # seconds per call, the client's deadline
MARGIN = 4.0  # the hang guard on top of it (generous: the box is shared)
DRIP_EVERY = 0.25  # a byte this often: each read succeeds well within any per-read socket timeout
DRIP_FOR = 12.0  # a dripping answer stops by itself after this long (every loop of the servers is bounded)
CAP = 64 << 10  # the response cap the generated calls run with
SCENARIOS: dict[str, dict] = {}
_ids = itertools.count()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, handler):
        super().__init__(("127.0.0.1", 0), handler)
        self.stopping = threading.Event()
        self.seen: list[dict] = []  # (elsewhere) the headers of every request it received
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()
        self.thread.join(timeout=10)


def _read_head(conn: socket.socket) -> tuple[str, dict[str, str]]:
    conn.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    lines = data.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers


class _Hostile(socketserver.BaseRequestHandler):
    """Answers GET /s/<id>/... with scenario <id>."""

    def handle(self):
        conn, server = self.request, self.server
        try:
            request_line, _ = _read_head(conn)
            scenario = SCENARIOS.get(request_line.split(" ")[1].split("/")[2], {}) if " /s/" in request_line else {}
        except (OSError, IndexError):
            return
        status, body = scenario.get("status", 404), scenario.get("body", b"")
        reason = "Found" if 300 <= status < 400 else "Whatever"
        head = [f"HTTP/1.1 {status} {reason}"]
        head += [f"{name}: {value}" for name, value in scenario.get("headers", [])]
        if 300 <= status < 400 and scenario.get("location"):
            head.append(f"Location: {scenario['location']}")
        body += b" " * scenario.get("padding", 0)
        framing = scenario.get("framing", "length")
        if framing == "length":
            head.append(f"Content-Length: {len(body)}")
        elif framing == "lying":  # announces more than it sends, then stays silent
            head.append(f"Content-Length: {len(body) + 1000}")
        elif framing == "huge":
            head.append("Content-Length: 300000000")
        head.append("Connection: close")
        payload = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        drip = scenario.get("drip")
        split = {"status": 5, "headers": len(head[0]) + 4, "body": len(payload) - len(body) + 1}.get(drip)
        try:
            if scenario.get("silent"):
                server.stopping.wait(DRIP_FOR)
                return
            if split is None:
                conn.sendall(payload)
                if framing == "lying":
                    server.stopping.wait(DRIP_FOR)
                return
            conn.sendall(payload[:split])
            end = time.monotonic() + DRIP_FOR
            for byte in itertools.cycle(payload[split:] or b"x"):
                if time.monotonic() > end or server.stopping.wait(DRIP_EVERY):
                    return
                conn.sendall(bytes([byte]) if drip != "headers" else b"x")  # a header line that never ends
        except OSError:
            return


class _Elsewhere(socketserver.BaseRequestHandler):
    """Another host: records the headers of whatever reaches it, answers 200 with JSON."""

    def handle(self):
        try:
            _, headers = _read_head(self.request)
            self.server.seen.append(headers)
            self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                                 b"Connection: close\r\n\r\n[]")
        except OSError:
            pass


@pytest.fixture(scope="module")
def servers():
    hostile, elsewhere = _Server(_Hostile), _Server(_Elsewhere)
    try:
        yield hostile, elsewhere
    finally:
        hostile.stop()
        elsewhere.stop()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def scenario(**fields) -> str:
    name = str(next(_ids))
    SCENARIOS[name] = fields
    return name


def api_for(server, name: str, timeout: float = TIMEOUT, total: float | None = None,
            max_bytes: int = CAP) -> gateway_api.GatewayAPI:
    """The client for scenario `name` (options set as attributes: the same test runs against older code)."""
    api = gateway_api.GatewayAPI(f"{server.url}/s/{name}", KEY, timeout=timeout)
    api.max_bytes = max_bytes
    if total is not None:
        api.run_deadline = time.monotonic() + total
    return api


def run_call(api, method: str):
    """(result, error line, seconds) of one admin call."""
    started = time.monotonic()
    try:
        result = {"call": lambda: api.call("GET", "/thing"), "keys": api.keys, "teams": api.teams,
                  "daily": lambda: api.daily_activity("user", "2026-11-01", "2026-11-07")}[method]()
        return result, None, time.monotonic() - started
    except gateway_api.GatewayError as error:
        return None, str(error), time.monotonic() - started


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                   max_size=4), max_leaves=12)
SHAPED = st.fixed_dictionaries({  # the shapes LiteLLM answers, with generated values in them
    "keys": st.lists(st.dictionaries(st.sampled_from(["token", "user_id", "max_budget", "models", "metadata"]),
                                     JSON, max_size=5), max_size=3),
    "total_pages": JSON, "results": JSON, "metadata": JSON})
BODIES = st.one_of(JSON.map(lambda v: json.dumps(v).encode()), SHAPED.map(lambda v: json.dumps(v).encode()),
                   st.binary(max_size=300), st.sampled_from([b"", b"NaN", b"1e999", b"[" * 5000, b"9" * 5000,
                                                            b'{"keys": [{"token": "x", "max_budget": 1e308}]}',
                                                            b'{"keys": [], "total_pages": 1e300}']))
HEADER = st.tuples(st.sampled_from(["X-Thing", "Content-Type", "Set-Cookie", "Retry-After", "X-Litellm-Version"]),
                   st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=40))


@settings(max_examples=40, deadline=None)  # health checks on: `servers` is module-scoped
@given(status=st.sampled_from([200, 200, 200, 201, 204, 301, 302, 303, 307, 308, 400, 401, 403, 404, 429, 500, 502]),
       body=BODIES, headers=st.lists(HEADER, max_size=4),
       framing=st.sampled_from(["length", "length", "close", "lying", "huge"]),
       padding=st.sampled_from([0, 0, 0, CAP + 1]),
       drip=st.sampled_from([None, None, None, "status", "headers", "body"]),
       silent=st.sampled_from([False] * 9 + [True]),
       location=st.sampled_from(["elsewhere", "elsewhere", "/relative", "", "http://user:pw@127.0.0.1:9/x"]),
       method=st.sampled_from(["call", "call", "keys", "teams", "daily"]))
@example(status=200, body=b"null", headers=[], framing="length", padding=0, drip="body",
         silent=False, location="elsewhere", method="call")
def test_any_answer_ends_in_time_in_a_result_or_one_line_and_the_key_stays_home(
        servers, status, body, headers, framing, padding, drip, silent, location, method):
    hostile, elsewhere = servers
    name = scenario(status=status, body=body, headers=headers, framing=framing, padding=padding, drip=drip,
                    silent=silent, location=elsewhere.url + "/stolen" if location == "elsewhere" else location)
    result, error, seconds = run_call(api_for(hostile, name, total=3 * TIMEOUT), method)
    assert seconds < 3 * TIMEOUT + MARGIN, (seconds, error)
    if error is not None:
        assert "\n" not in error and KEY not in error and "admin-test" not in error
        assert error.startswith("GET ") and len(error) < 700, error
    else:
        # A dripped body with a Content-Length may legitimately end in time: its last byte comes after
        # (length - 1) drips (found with a random example: b'null', three drips, 0.75 s).
        ends_in_time = drip == "body" and framing == "length" and (len(body) + padding - 1) * DRIP_EVERY < TIMEOUT
        assert 200 <= status < 300 and (not drip or ends_in_time) and not silent
        if method != "call":
            assert isinstance(result, list) and all(isinstance(item, dict) for item in result)
    assert not any("authorization" in seen for seen in elsewhere.seen), "the key reached another host"


@pytest.mark.parametrize("drip", ["status", "headers", "body"])
def test_a_dripping_gateway_cannot_hold_a_call_past_its_deadline(servers, drip):
    """One byte every 0.25 s never trips a per-read timeout: only a deadline over the whole call ends it."""
    name = scenario(status=200, body=b'{"a": 1}' * 50, drip=drip)
    result, error, seconds = run_call(api_for(servers[0], name), "call")
    assert result is None and seconds < TIMEOUT + MARGIN, (seconds, error)
    assert error.startswith("GET /thing: no complete answer within 1 s (GATEWAY_API_TIMEOUT"), error


def test_a_redirect_is_one_line_naming_where_it_pointed_and_the_key_never_follows(servers):
    hostile, elsewhere = servers
    name = scenario(status=307, location=elsewhere.url + "/key/list")
    _, error, _ = run_call(api_for(hostile, name), "keys")
    assert error == (f"GET /key/list answered HTTP 307, a redirect to {elsewhere.url}/key/list, not followed (the "
                     "key would go along); use the address that answers (GATEWAY_URL)")
    assert elsewhere.seen == []


def test_a_run_ends_within_its_own_budget_across_calls(servers):
    name = scenario(status=200, body=b'{"keys": [], "total_pages": 5}', drip="body")
    api = api_for(servers[0], name, total=1.5)
    started = time.monotonic()
    for _ in range(5):  # each call would take TIMEOUT; the run's budget is 1.5 s
        _, error, _ = run_call(api, "call")
    assert time.monotonic() - started < 1.5 + MARGIN
    assert "no time left" in error or "no complete answer" in error


@pytest.mark.parametrize(("fields", "expected"), [
    ({"padding": 9 << 20, "framing": "close"}, "GET /thing: the answer is more than the 8388608 bytes this tool reads (GATEWAY_API_MAX_MB)"),
    ({"framing": "huge"}, "GET /thing: the answer is 300000000 bytes, more than the 8388608 this tool reads"),
    ({"body": b'{"a": NaN}'}, "GET /thing answered with something that is not JSON this tool reads (NaN is not a"),
    ({"body": b"[" * 100000}, "GET /thing answered with something that is not JSON this tool reads (nested too"),
    ({"body": b'{"a": 1' + b"0" * 5000 + b"}"}, "GET /thing answered with something that is not JSON this tool"),
    ({"body": b"\xff\xfe"}, "GET /thing answered with something that is not JSON this tool reads (not UTF-8)"),
])
def test_size_and_shape_limits_are_one_line(servers, fields, expected):
    name = scenario(status=200, **{"body": b"{}", **fields})
    api = gateway_api.GatewayAPI(f"{servers[0].url}/s/{name}", KEY, timeout=20)  # the default cap: 8 MiB
    _, error, _ = run_call(api, "call")
    assert error.startswith(expected), error


@pytest.mark.parametrize(("body", "expected"), [
    (b"[]", "GET /key/list: the gateway answered a list where an object was expected"),
    (b'{"keys": {"a": 1}}', "GET /key/list keys: the gateway answered an object where a list was expected"),
    (b'{"keys": [{"user_id": "a"}]}', "GET /key/list: a key without token"),
    (b'{"keys": [{"token": "h", "max_budget": "lots"}]}', "GET /key/list: a key's max_budget is 'lots', not what"),
    (b'{"keys": [{"token": "h", "models": [1]}]}', "GET /key/list: a key's models is '[1]', not what LiteLLM"),
    (b'{"keys": [], "total_pages": "many"}', "GET /key/list total_pages: 'many' is not a page count"),
])
def test_an_answer_of_the_wrong_shape_names_the_call(servers, body, expected):
    name = scenario(status=200, body=body)
    _, error, _ = run_call(api_for(servers[0], name), "keys")
    assert error.startswith(expected), error


def test_the_proxy_settings_apply_as_urllib_applies_them(servers, monkeypatch):
    """HTTP_PROXY: an absolute-URI request to the proxy (a recording server plays it), with the proxy's
    credentials; NO_PROXY: direct. As urllib did, so as the README and the live proxy tests expect."""
    hostile = servers[0]
    proxy = _Server(_Elsewhere)
    try:
        name = scenario(status=200, body=b"{}")
        monkeypatch.setenv("HTTP_PROXY", proxy.url.replace("://", "://bob:s%40cret@"))
        monkeypatch.setenv("NO_PROXY", "example.invalid")
        result, error, _ = run_call(api_for(hostile, name), "teams")
        assert (result, error) == ([], None) and len(proxy.seen) == 1
        assert proxy.seen[0]["host"] == hostile.url.removeprefix("http://")
        assert proxy.seen[0]["proxy-authorization"] == "Basic Ym9iOnNAY3JldA=="  # bob:s@cret
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        result, error, _ = run_call(api_for(hostile, name), "call")
        assert (result, error) == ({}, None) and len(proxy.seen) == 1
    finally:
        proxy.stop()


def test_a_tls_handshake_that_drips_is_cut_at_the_deadline():
    """https: the handshake reads the server's records; one byte every 0.25 s keeps each read alive."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(10)
    done = threading.Event()

    def drip():
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            for _ in range(int(DRIP_FOR / DRIP_EVERY)):
                if done.wait(DRIP_EVERY):
                    return
                try:
                    conn.sendall(b"\x16")
                except OSError:
                    return

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    try:
        api = gateway_api.GatewayAPI(f"https://127.0.0.1:{listener.getsockname()[1]}", KEY, timeout=TIMEOUT)
        result, error, seconds = run_call(api, "call")
    finally:
        done.set()
        listener.close()
        thread.join(timeout=10)
    assert result is None and seconds < TIMEOUT + MARGIN, (seconds, error)
    assert error.startswith("GET /thing: no complete answer within 1 s"), error


@settings(max_examples=20, deadline=None)  # health checks on: no function-scoped fixture
@given(status=st.sampled_from([200, 200, 301, 302, 307, 308, 400, 401, 500]),
       body=st.one_of(BODIES, st.just(b"event: message_start\ndata: {}\n\n"), st.just(b"data: " + b"x" * 300)),
       framing=st.sampled_from(["length", "close", "lying"]),
       drip=st.sampled_from([None, "status", "headers", "body"]),
       streamed=st.booleans())
def test_the_conformance_kit_follows_the_same_rules(servers, tmp_path_factory, status, body, framing, drip, streamed):
    """The kit's client: within its deadline whatever the endpoint does, a redirect never followed."""
    hostile, elsewhere = servers
    name = scenario(status=status, body=body, framing=framing, drip=drip, location=elsewhere.url + "/stolen")
    config = conformance_client.Config(root=tmp_path_factory.getbasetemp(), pattern="C", mode="gateway", settings_env={},
                                models={}, base_url=f"{hostile.url}/s/{name}", key=KEY)
    client = conformance_client.Client(config, timeout=TIMEOUT)
    started = time.monotonic()
    request = {"model": "m", "max_tokens": 8, "messages": []}
    reply = client.stream(request) if streamed else client.post("/v1/messages/count_tokens", request)
    assert time.monotonic() - started < TIMEOUT + MARGIN, reply
    assert not reply.complete
    if 300 <= status < 400 and drip not in ("status", "headers"):
        assert reply.error.startswith(f"a redirect to {elsewhere.url}/stolen, not followed"), reply
    assert KEY not in f"{reply.error} {reply.stream_error}"
    assert not any("authorization" in seen for seen in elsewhere.seen), "the key reached another host"

"""Unit tests of the conformance kit's modules as a library (template/scripts/lib/conformance*.py): the pinned
version and its recording, the gateway's model groups, the providers' data file, the SSE accumulation, the
verdicts and the redaction of keys."""

from __future__ import annotations

import importlib
import json
import shutil
import sys
import time
from pathlib import Path

import pytest
from claude_gateway_template import kit
from claude_gateway_template.providers import PROVIDERS, REGISTRY, TIERS
from environment import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "template" / "scripts" / "lib"))  # the kit's modules import each other
conformance = importlib.import_module("conformance")
setup = importlib.import_module("conformance_setup")
kit_client = importlib.import_module("conformance_client")
checks = importlib.import_module("conformance_checks")
RECORDING = REPO_ROOT / "template" / "scripts" / "conformance" / "claude-code-2.1.332.json"


@pytest.fixture
def root(tmp_path) -> Path:
    (tmp_path / "scripts" / "conformance").mkdir(parents=True)
    shutil.copy(RECORDING, tmp_path / "scripts" / "conformance")
    (tmp_path / "scripts" / "conformance" / "providers.json").write_text(kit.providers_json({"providers": PROVIDERS}))
    (tmp_path / "client").mkdir()
    (tmp_path / "client" / "settings.json").write_text(json.dumps({"env": {
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:4000", "ANTHROPIC_DEFAULT_OPUS_MODEL": "o",
        "ANTHROPIC_DEFAULT_SONNET_MODEL": "s", "ANTHROPIC_DEFAULT_HAIKU_MODEL": "h"}}))
    return tmp_path


def test_pinned_version_from_versions_env_else_the_newest_recording(root):
    (root / "scripts" / "conformance" / "claude-code-2.1.40.json").write_text("{}")
    (root / "scripts" / "conformance" / "claude-code-2.1.9.json").write_text("{}")
    assert setup.pinned_version(root)[0] == "2.1.332"  # numeric order, not text order
    (root / "versions.env").write_text("# pins\nLITELLM_VERSION=1.108.14\nCLAUDE_CODE_VERSION=2.1.40\n")
    assert setup.pinned_version(root) == ("2.1.40", "versions.env")
    (root / "versions.env").write_text("LITELLM_VERSION=1.108.14\n")
    with pytest.raises(setup.ConfigError, match="CLAUDE_CODE_VERSION"):
        setup.pinned_version(root)


def test_a_broken_recording_is_a_config_error(root):
    path = root / "scripts" / "conformance" / "claude-code-2.1.332.json"
    recording = setup.load_recording(path)
    assert recording["routes"][recording["default_route"]]["tiers"]["haiku"]["betas"]
    path.write_text('{"tiers": {}}')  # the shape before routes
    with pytest.raises(setup.ConfigError, match="lacks the routes"):
        setup.load_recording(path)
    recording["routes"]["mantle"]["tiers"].pop("haiku")
    path.write_text(json.dumps(recording))
    with pytest.raises(setup.ConfigError, match="beta lists of tiers .* on route mantle"):
        setup.load_recording(path)
    path.write_text("not json")
    with pytest.raises(setup.ConfigError, match="not valid JSON"):
        setup.load_recording(path)


def test_the_recording_has_a_route_per_provider_record():
    """Every provider of the registry is a route of the recording (re-recorded from the real CLI by
    tests/test_conformance.py), with the record's default ids; the default route is the one without a switch."""
    recording = setup.load_recording(RECORDING)
    assert list(recording["routes"]) == list(PROVIDERS)
    assert recording["default_route"] == next(p.key for p in REGISTRY.values() if not p.use_flag)
    for key, route in recording["routes"].items():
        assert [route["tiers"][tier]["model"] for tier in TIERS] == [
            REGISTRY[key].default_model(tier, "us-east-1") for tier in TIERS]


def test_the_kit_sends_the_betas_of_its_route(root):
    """Direct, the kit sends what Claude Code sends on that provider's route; towards the gateway, the default
    route's: the lists differ per route."""
    recording = setup.load_recording(RECORDING)
    by_mode = {}
    for mode in ("gateway", *(key for key in PROVIDERS if not REGISTRY[key].signs_requests)):
        config = setup.load_config(root, "A", mode)
        by_mode[mode] = kit_client.Client(config, 5).tiers["opus"]["betas"]
        route = recording["routes"][setup.route_name(recording, mode)]
        assert by_mode[mode] == route["tiers"]["opus"]["betas"], mode
    assert by_mode["gateway"] == recording["routes"][recording["default_route"]]["tiers"]["opus"]["betas"]
    assert len({tuple(b) for b in by_mode.values()}) > 1  # at least two routes differ
    assert len({tuple(r["tiers"]["opus"]["betas"]) for r in recording["routes"].values()}) > 2


def test_a_route_missing_from_the_recording_fails_offline_and_is_a_config_error(root):
    path = root / "scripts" / "conformance" / "claude-code-2.1.332.json"
    recording = json.loads(path.read_text())
    del recording["routes"]["foundry"]
    path.write_text(json.dumps(recording))
    results = {r.name: r for r in setup.offline_checks(root, "A", "foundry")}
    assert results["recording"].status == "FAIL" and "records no route foundry" in results["recording"].detail
    assert {r.name: r for r in setup.offline_checks(root, "C", "gateway")}["recording"].status == "PASS"
    with pytest.raises(setup.ConfigError, match="records no route foundry"):
        setup.load_config(root, "A", "foundry")


def test_offline_checks_compare_the_pins_with_the_model_groups(root):
    (root / "gateway").mkdir()
    (root / "gateway" / "litellm_config.yaml").write_text("model_list:\n- model_name: o\n- model_name: 's'\n")
    results = {r.name: r for r in setup.offline_checks(root, "C", "gateway")}
    assert results["models"].status == "FAIL" and results["models"].detail.endswith("for h")
    (root / "gateway" / "litellm_config.local.yaml").write_text("model_list:\n  - model_name: h\n")
    results = {r.name: r for r in setup.offline_checks(root, "C", "gateway")}
    assert results.pop("pins").status == "SKIP"  # no versions.env here (tests/test_version_pins.py has the pins)
    assert {r.status for r in results.values()} == {"PASS"}


@pytest.mark.parametrize(("url", "problem"), [("http://127.0.0.1:4000", ""), ("https://gw.example.com/", ""),
                                              ("https://gw.example.com/v1", "ends in /v1"),
                                              ("gw.example.com", "not an http(s) URL"), ("", "not an http(s) URL")])
def test_endpoint_problem(url, problem):
    assert (problem in setup.endpoint_problem(url)) and bool(problem) == bool(setup.endpoint_problem(url))


def sse(*events: tuple[str, dict]) -> list[tuple[str, str]]:
    return [(name, json.dumps(data)) for name, data in events]


def test_stream_events_are_put_together_as_an_sdk_does():
    reply, blocks, partial = kit_client.Reply(200), {}, {}
    for name, raw in sse(
            ("message_start", {"type": "message_start"}),
            ("content_block_start", {"index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
            ("content_block_delta", {"index": 0, "delta": {"type": "thinking_delta", "thinking": "hm"}}),
            ("content_block_delta", {"index": 0, "delta": {"type": "signature_delta", "signature": "SIG"}}),
            ("content_block_stop", {"index": 0}),
            ("content_block_start", {"index": 1, "content_block": {"type": "tool_use", "id": "t1", "name": "echo"}}),
            ("content_block_delta", {"index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"te'}}),
            ("content_block_delta", {"index": 1, "delta": {"type": "input_json_delta", "partial_json": 'xt": "a"}'}}),
            ("content_block_stop", {"index": 1}),
            ("message_delta", {"delta": {"stop_reason": "tool_use"}}),
            ("message_stop", {})):
        kit_client.Client._event(reply, name, raw, blocks, partial)
    reply.content = [blocks[i] for i in sorted(blocks)]
    assert reply.complete and reply.stop_reason == "tool_use"
    assert reply.content == [{"type": "thinking", "thinking": "hm", "signature": "SIG"},
                             {"type": "tool_use", "id": "t1", "name": "echo", "input": {"text": "a"}}]


def test_an_error_event_makes_the_stream_incomplete():
    reply = kit_client.Reply(200, events=["message_start"])
    kit_client.Client._event(reply, "error", '{"error": {"message": "Overloaded"}}', {}, {})
    kit_client.Client._event(reply, "message_stop", "{}", {}, {})
    assert not reply.complete and "Overloaded" in reply.stream_error


def test_failed_call_names_a_missing_model_group_and_a_refused_key(root):
    config = setup.load_config(root, "C", "gateway")
    missing = kit_client.Reply(400, "{'error': 'Invalid model name passed in model=x'}")
    assert "no model group named x" in kit_client.failed_call("a call", missing, config, "x")
    assert "key was refused" in kit_client.failed_call("a call", kit_client.Reply(401, "nope"), config, "x")
    assert "no answer" in kit_client.failed_call("a call", kit_client.Reply(0, "refused"), config, "x")


# ---- the providers' data file (scripts/conformance/providers.json, rendered from the registry) ------------------
@pytest.mark.parametrize(("env", "expected"), [
    ({}, ("https://api.anthropic.com", "", "authorization")),
    ({"ANTHROPIC_AUTH_TOKEN": "sk-token-1"}, ("https://api.anthropic.com", "sk-token-1", "authorization")),
    ({"ANTHROPIC_AUTH_TOKEN": "sk-token-1", "ANTHROPIC_API_KEY": "sk-key-2", "ANTHROPIC_BASE_URL": "https://a.example"},
     ("https://a.example", "sk-key-2", "x-api-key")),
])
def test_the_anthropic_endpoint_and_key_come_from_its_entry(root, monkeypatch, env, expected):
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    provider = setup.provider_entry(root, "anthropic")
    assert setup.endpoint("anthropic", {}, provider) == expected


def test_the_foundry_endpoint_is_its_resource_url_unless_a_base_url_is_set(root, monkeypatch):
    for name in ("ANTHROPIC_FOUNDRY_BASE_URL", "ANTHROPIC_FOUNDRY_RESOURCE", "ANTHROPIC_FOUNDRY_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    provider = setup.provider_entry(root, "foundry")
    settings = {"ANTHROPIC_FOUNDRY_RESOURCE": "my-res"}
    assert setup.endpoint("foundry", settings, provider) == (
        "https://my-res.services.ai.azure.com/anthropic", "", "x-api-key")
    monkeypatch.setenv("ANTHROPIC_FOUNDRY_BASE_URL", "https://pe.example/anthropic")
    monkeypatch.setenv("ANTHROPIC_FOUNDRY_API_KEY", "k-1")
    assert setup.endpoint("foundry", settings, provider) == ("https://pe.example/anthropic", "k-1", "x-api-key")


@pytest.mark.parametrize("mode", ["bedrock", "vertex"])
def test_a_provider_that_signs_its_requests_is_checked_only_by_replay(root, mode, monkeypatch):
    monkeypatch.setenv("CONFORMANCE_KEY", "sk-unit-test-key-1")
    config = setup.load_config(root, "A", mode)
    assert config.provider["signs_requests"] and (config.base_url, config.key) == ("", "")
    with pytest.raises(setup.ConfigError, match="use --replay"):
        checks.network_checks(config, 1, 1)
    results = {r.name: r for r in setup.offline_checks(root, "A", mode)}
    assert results["endpoint"].status == "SKIP" and "--replay" in results["endpoint"].detail


def test_a_missing_key_and_a_refused_key_name_the_providers_variables(root, monkeypatch):
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_FOUNDRY_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    (root / "client" / "settings.json").write_text(json.dumps({"env": {
        "ANTHROPIC_FOUNDRY_RESOURCE": "my-res", "ANTHROPIC_DEFAULT_OPUS_MODEL": "o",
        "ANTHROPIC_DEFAULT_SONNET_MODEL": "s", "ANTHROPIC_DEFAULT_HAIKU_MODEL": "h"}}))
    anthropic, foundry = setup.load_config(root, "A", "anthropic"), setup.load_config(root, "A", "foundry")
    assert checks.missing_key(anthropic) == "no key: set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN)"
    assert checks.missing_key(foundry) == "no key: set ANTHROPIC_FOUNDRY_API_KEY"
    refused = kit_client.Reply(401, "nope")
    assert kit_client.failed_call("a call", refused, foundry, "o").endswith("(ANTHROPIC_FOUNDRY_API_KEY)")
    assert kit_client.failed_call("a call", refused, anthropic, "o").endswith(
        "(ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN)")


def test_a_mode_that_is_no_provider_of_this_setup_is_a_config_error(root):
    (root / "scripts" / "conformance" / "providers.json").write_text(kit.providers_json({"providers": ["anthropic"]}))
    with pytest.raises(setup.ConfigError, match="not a provider of this setup"):
        setup.load_config(root, "A", "bedrock")
    (root / "scripts" / "conformance" / "providers.json").unlink()
    with pytest.raises(setup.ConfigError, match="providers.json is missing"):
        setup.load_config(root, "A", "anthropic")
    assert setup.load_config(root, "C", "gateway").provider == {}  # the gateway needs no provider entry


def test_usage_errors_exit_2(root, capsys):
    assert conformance.main(["--root", str(root), "--pattern", "C", "--mode", "gateway", "--bogus"]) == 2
    assert conformance.main(["--root", str(root), "--pattern", "C", "--mode", "gateway", "--offline",
                             "--replay"]) == 2
    assert conformance.main(["--root", str(root), "--pattern", "A", "--mode", "bedrock"]) == 2
    assert "--replay" in capsys.readouterr().err


# ---- hostile endpoints and inputs: one line, bounded, no key (found in review) --------------------------------------
@pytest.mark.parametrize("key", ["sk-secret-value-123\r", "sk-secret value", "sk-sécret-value"])
def test_a_key_no_header_can_carry_is_a_config_error_that_does_not_show_it(root, monkeypatch, key):
    monkeypatch.setenv("CONFORMANCE_KEY", key)
    with pytest.raises(setup.ConfigError, match="trailing CR") as caught:
        setup.load_config(root, "C", "gateway")
    assert "secret" not in str(caught.value)


def test_a_version_that_is_not_one_is_a_config_error(root):
    # versions.env is read as every script reads a .env file (envfile.py, as docker compose does): ` # ...` ends
    # an unquoted value, so check-status.sh and the kit agree on the version.
    (root / "versions.env").write_text("CLAUDE_CODE_VERSION=2.1.332 # pinned\n")
    assert setup.pinned_version(root) == ("2.1.332", "versions.env")
    (root / "versions.env").write_text("CLAUDE_CODE_VERSION=../../etc/passwd\n")
    with pytest.raises(setup.ConfigError, match="is not a version"):
        setup.pinned_version(root)


def serve_once(payload: bytes, hold: float = 0.0):
    """A loopback server that answers one request with `payload` (then, with `hold`, keeps sending SSE pings)."""
    import socket
    import threading
    import time

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def answer():
        conn, _ = server.accept()
        conn.recv(65536)
        try:
            conn.sendall(payload)
            end = time.monotonic() + hold
            while time.monotonic() < end:
                conn.sendall(b": ping\n\n")
                time.sleep(0.2)
        except OSError:
            pass
        conn.close()
        server.close()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{server.getsockname()[1]}", thread


@pytest.mark.parametrize(("payload", "hold", "expected"), [
    (b"SSH-2.0-OpenSSH_9.6\r\n", 0, "BadStatusLine"),
    (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n", 6, "did not end within 2 s"),
    (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nevent", 0,
     "the stream broke off"),
    (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\nevent: message_start\ndata: null\n\n", 0,
     "message_start"),
    (b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.9:1/elsewhere\r\nContent-Length: 0\r\n\r\n", 0,
     "a redirect to http://127.0.0.9:1/elsewhere, not followed"),
], ids=["not-http", "pings-forever", "cut-mid-chunk", "data-null", "redirect"])
def test_a_broken_endpoint_fails_the_check_in_one_line_within_the_timeout(root, monkeypatch, payload, hold,
                                                                           expected):
    url, thread = serve_once(payload, hold)
    monkeypatch.setenv("GATEWAY_URL", url)
    monkeypatch.setenv("CONFORMANCE_KEY", "sk-unit-test-key-1")
    config = setup.load_config(root, "C", "gateway")
    reply = kit_client.Client(config, timeout=2).stream({"model": "o", "max_tokens": 8, "messages": []})
    assert not reply.complete
    assert expected in f"{reply.error} {reply.stream_error} {reply.events}"
    thread.join(timeout=10)


def serve_drip(head: bytes, drip: bytes, seconds: float = 10.0):
    """A loopback server that sends `head` at once, then `drip` one byte every 0.2 s (over and over, for at most
    `seconds`): every read succeeds long before any per-read timeout, so only a deadline over the whole request
    ends it."""
    import socket
    import threading
    import time

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def answer():
        conn, _ = server.accept()
        conn.recv(65536)
        end = time.monotonic() + seconds
        try:
            conn.sendall(head)
            for index in range(10_000):
                if time.monotonic() > end:
                    break
                conn.sendall(drip[index % len(drip):index % len(drip) + 1])
                time.sleep(0.2)
        except OSError:
            pass
        conn.close()
        server.close()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{server.getsockname()[1]}", thread


@pytest.mark.parametrize(("head", "drip", "expected"), [
    (b"", b"HTTP/1.1 200 OK\r\n", "no complete answer within 2 s"),
    (b"HTTP/1.1 200 OK\r\n", b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "no complete answer within 2 s"),
    (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n", b"data: {\"type\": \"ping\"" + b" " * 100,
     "the stream did not end within 2 s"),
], ids=["status-line", "headers", "line-without-newline"])
def test_a_dripping_endpoint_cannot_hold_a_check_past_its_deadline(root, monkeypatch, head, drip, expected):
    url, thread = serve_drip(head, drip)
    monkeypatch.setenv("GATEWAY_URL", url)
    monkeypatch.setenv("CONFORMANCE_KEY", "sk-unit-test-key-1")
    config = setup.load_config(root, "C", "gateway")
    started = time.monotonic()
    reply = kit_client.Client(config, timeout=2).stream({"model": "o", "max_tokens": 8, "messages": []})
    assert time.monotonic() - started < 2 + 5  # the hang guard: the server would drip for 10 s
    assert not reply.complete
    assert expected in f"{reply.error} {reply.stream_error}", reply
    thread.join(timeout=15)


@pytest.mark.parametrize("key", ['sk-abc"def\\ghi-123', "sk-añb\\u0022c-456", 'sk-"\\\\"'])
def test_json_output_never_shows_a_key_in_any_encoding(capsys, key):
    """--json: redacted before encoding (JSON escapes " and \\ and non-ASCII, which a text search then misses)."""
    results = [setup.Result("stream", "FAIL", f"the gateway said: bad key {key}", "o")]
    assert conformance.report(results, {"pattern": "C", "endpoint": f"http://x/{key}"}, True, key) == 1
    out = capsys.readouterr().out
    data = json.loads(out)
    for form in (key, json.dumps(key)[1:-1], json.dumps(key, ensure_ascii=False)[1:-1]):
        assert form not in out
    assert data["checks"][0]["detail"] == "the gateway said: bad key ***"


def test_an_error_body_nested_deeper_than_json_reads_is_one_line():
    """A 400 whose body is `[` * 100,000 (found by the admin client's property test): the kit reports the body's
    start instead of a RecursionError."""
    from conformance_client import _error_message

    assert _error_message("[" * 100_000) == "[" * 300

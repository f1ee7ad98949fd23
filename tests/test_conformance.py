"""The conformance kit (scripts/conformance.sh, issue 19), live: against the generated Pattern C gateway (the pinned
LiteLLM) with the loopback mock in agentic mode, a deliberately broken setup for each check, Pattern A direct,
Pattern B through the real tinyproxy, --replay with the real Claude Code CLI, --offline on every pattern; and the
recording of what the pinned CLI sends, re-recorded from the real CLI and compared with the committed file.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from environment import REPO_ROOT, clean_env
from gateways import started_gateway
from mock_provider import DEFAULT_REPLY, RunningMock
from proxies import PROXIED_HOST

pytestmark = pytest.mark.live

KIT_TIMEOUT = 240  # hang guard only; a healthy run through the gateway takes a few seconds
RECORDING = REPO_ROOT / "template" / "scripts" / "conformance" / "claude-code-2.1.332.json"
CHECKS = ("stream", "tool_use", "thinking", "count_tokens", "betas")
PINS = ("claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5")


def kit(project: Path, home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["scripts/conformance.sh", *args], cwd=project, env=clean_env(home, **env),
                          capture_output=True, text=True, timeout=KIT_TIMEOUT, stdin=subprocess.DEVNULL, check=False)


def kit_json(project: Path, home: Path, *args: str, **env: str) -> tuple[int, dict]:
    result = kit(project, home, "--json", *args, **env)
    assert result.stdout.strip(), result.stderr
    return result.returncode, json.loads(result.stdout)


def statuses(report: dict) -> dict[tuple[str, str], str]:
    return {(c["name"], c["model"]): c["status"] for c in report["checks"]}


def agentic(mock) -> None:
    """The mock as the kit and the CLI need it: signed thinking, tool_use, replies long enough to judge buffering."""
    mock.agentic, mock.text_deltas, mock.event_delay = True, 20, 0.02


@pytest.fixture(scope="module")
def gateway(copie_module, template_repo, litellm_bin):
    with RunningMock() as mock, started_gateway(copie_module, template_repo, litellm_bin, mock,
                                                anthropic_base_url=mock.url) as gw:
        agentic(mock)
        yield gw


@pytest.fixture
def fresh_mock(gateway):
    """The gateway's mock with its requests cleared and every failure mode switched off again afterwards."""
    mock = gateway.mock
    mock.requests.clear()
    yield mock
    mock.drop_signature = mock.reject_count_tokens = mock.hold_stream = mock.drop_tools = False
    mock.reject_beta = ""


def test_kit_passes_through_the_gateway_and_the_mock_received_what_claude_code_sends(gateway, fresh_mock):
    code, report = kit_json(gateway.project, gateway.home)
    assert code == 0, json.dumps(report, indent=1)
    got = statuses(report)
    assert {got[(check, model)] for check in CHECKS for model in PINS} == {"PASS"}, got
    assert got[("buffering", "claude-haiku-5-5")] == "PASS", report
    assert report["claude_code_version"] == "2.1.332" and report["first_failure"] is None
    assert gateway.master_key not in json.dumps(report)
    recording = json.loads(RECORDING.read_text())
    route = recording["routes"][recording["default_route"]]  # Claude Code in Anthropic format, to the gateway
    sent = fresh_mock.messages_requests()
    # The recorded beta list of each tier reached the provider (through LiteLLM) unchanged, with its body fields.
    for tier, model in zip(("opus", "sonnet", "haiku"), PINS, strict=True):
        with_betas = [r for r in sent if r.body["model"] == model and "context_management" in r.body]
        assert with_betas, model
        # LiteLLM passes the list on in its own order.
        assert sorted(with_betas[0].headers["anthropic-beta"].split(",")) == sorted(route["tiers"][tier]["betas"])
    # Every signature the mock issued for the thinking check came back unchanged in the next turn.
    assert fresh_mock.signatures_received, "no thinking block came back"
    assert set(fresh_mock.signatures_received) <= set(fresh_mock.signatures_issued)
    # The tool_result answered the tool_use the mock issued.
    results = [b for r in sent for m in r.body["messages"] if isinstance(m["content"], list)
               for b in m["content"] if b.get("type") == "tool_result"]
    assert len(results) == 3 and {b["content"] for b in results} == {"conformance"}
    assert sum(r.path.startswith("/v1/messages/count_tokens") for r in fresh_mock.requests) == 3


def broken_copy(gateway, tmp_path: Path) -> Path:
    """A copy of the gateway's project (same gateway, same key) whose client pins can be broken."""
    copy = tmp_path / "project"
    shutil.copytree(gateway.project, copy, ignore=shutil.ignore_patterns("litellm.log", "*.pid", ".venv"))
    return copy


def test_a_missing_model_group_fails_the_stream_check_naming_the_group(gateway, fresh_mock, tmp_path):
    project = broken_copy(gateway, tmp_path)
    settings = json.loads((project / "client" / "settings.json").read_text())
    settings["env"]["ANTHROPIC_DEFAULT_SONNET_MODEL"] = "claude-sonnet-missing"
    (project / "client" / "settings.json").write_text(json.dumps(settings))
    result = kit(project, gateway.home)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL  stream        claude-sonnet-missing:" in result.stdout
    assert "no model group named claude-sonnet-missing" in result.stdout
    assert "first failing check: stream (claude-sonnet-missing)" in result.stdout.splitlines()[-1]
    assert "gateway/litellm_config.yaml" in result.stdout.splitlines()[-1]
    assert gateway.master_key not in result.stdout + result.stderr
    # Only its own check fails: the missing model's other checks are skipped, every other model passes them all.
    code, report = kit_json(project, gateway.home)
    got = statuses(report)
    assert code == 1 and got[("stream", "claude-sonnet-missing")] == "FAIL", got
    assert {got[(name, "claude-sonnet-missing")] for name in CHECKS if name != "stream"} == {"SKIP"}, got
    assert {status for (name, model), status in got.items() if model != "claude-sonnet-missing"} == {"PASS"}, got
    offline = kit(project, gateway.home, "--offline")  # the offline check sees it too
    assert offline.returncode == 1 and "FAIL  models" in offline.stdout


# One broken setup per check (stream: the missing model group above), each shown to fail its own check and no other.
BROKEN = [("drop_tools", True, "tool_use"), ("drop_signature", True, "thinking"),
          ("reject_count_tokens", True, "count_tokens"), ("reject_beta", "mid-conversation-tool-changes-2026-07-01", "betas"),
          ("hold_stream", True, "buffering")]


@pytest.mark.parametrize(("failure", "value", "check"), BROKEN, ids=[check for _, _, check in BROKEN])
def test_a_broken_upstream_fails_its_own_check_and_no_other(gateway, fresh_mock, failure, value, check):
    setattr(fresh_mock, failure, value)
    code, report = kit_json(gateway.project, gateway.home)
    assert code == 1, report
    assert report["first_failure"]["name"] == check, json.dumps(report, indent=1)
    assert report["first_failure"]["usual_cause"]
    got = statuses(report)
    # The broken check fails for every model it runs on (buffering runs on haiku only); every other check passes.
    assert {status for (name, _), status in got.items() if name == check} == {"FAIL"}, got
    assert {(name, model): status for (name, model), status in got.items() if name != check and status != "PASS"} \
        == {}, got
    assert len(got) == len(CHECKS) * len(PINS) + 1, got  # every check ran: none was skipped


def test_every_check_has_a_broken_setup():
    assert {check for _, _, check in BROKEN} | {"stream"} == {*CHECKS, "buffering"}


def test_replay_runs_the_real_claude_code_for_one_agentic_turn_through_the_gateway(gateway, fresh_mock, claude_bin):
    result = kit(gateway.project, gateway.home, "--replay", CLAUDE_BIN=claude_bin)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("PASS  replay-tool") and lines[1].startswith("PASS  replay-answer"), lines
    assert DEFAULT_REPLY in lines[1]
    # The CLI sent the tool's output back, and the thinking block with the signature the mock issued.
    results = [b for r in fresh_mock.messages_requests() for m in r.body["messages"] if isinstance(m["content"], list)
               for b in m["content"] if b.get("type") == "tool_result"]
    assert results and "conformance-" in json.dumps(results[0]["content"])
    assert fresh_mock.signatures_received and set(fresh_mock.signatures_received) <= set(fresh_mock.signatures_issued)
    assert gateway.master_key not in result.stdout + result.stderr


def test_offline_fails_in_one_line_without_the_recording(gateway, tmp_path):
    project = broken_copy(gateway, tmp_path)
    for recording in (project / "scripts" / "conformance").glob("*.json"):
        recording.unlink()
    (project / "versions.env").write_text("CLAUDE_CODE_VERSION=2.1.332\n")
    result = kit(project, gateway.home, "--offline")
    assert result.returncode == 1, result.stdout
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert failed == ["FAIL  recording     claude-code-2.1.332.json is missing"], result.stdout
    network = kit(project, gateway.home)  # the network checks cannot run without it: a configuration error
    assert network.returncode == 2 and "claude-code-2.1.332.json is missing" in network.stderr


# --------------------------------------------------------------------------------------------------------------
# Pattern A direct, Pattern B through the real proxy, --offline on every pattern's defaults
# --------------------------------------------------------------------------------------------------------------
def test_kit_direct_to_the_provider_pattern_a(generate, mock_provider, tmp_path, shellcheck):
    agentic(mock_provider)
    project = generate(anthropic_base_url=mock_provider.url)
    shellcheck(project)
    home = tmp_path / "home"
    home.mkdir()
    code, report = kit_json(project, home, ANTHROPIC_API_KEY="sk-ant-direct-test-key")
    assert code == 0, json.dumps(report, indent=1)
    assert {c["status"] for c in report["checks"]} == {"PASS"}
    sent = mock_provider.messages_requests()
    assert {r.headers.get("x-api-key") for r in sent} == {"sk-ant-direct-test-key"}
    assert "sk-ant-direct-test-key" not in json.dumps(report)
    no_key = kit(project, home)
    assert no_key.returncode == 2 and "ANTHROPIC_API_KEY" in no_key.stderr


def test_kit_through_the_real_proxy_pattern_b(generate, test_ca, tinyproxy, tmp_path):
    proxy = tinyproxy()
    with RunningMock(host=PROXIED_HOST, tls=(test_ca["cert"], test_ca["key"])) as mock:
        agentic(mock)
        project = generate(corporate_proxy=True, proxy_url=proxy.url, anthropic_base_url=mock.url,
                           corporate_ca_cert=test_ca["ca"])
        home = tmp_path / "home"
        home.mkdir()
        # HTTPS_PROXY, NO_PROXY and the CA come from client/settings.json (no proxy user, so they are there).
        result = kit(project, home, ANTHROPIC_API_KEY="sk-ant-proxied-test-key")
        assert result.returncode == 0, result.stdout + result.stderr
        assert mock.messages_requests()
    # Through the proxy's CONNECT tunnel (any mention of the host used to pass, a plain request included).
    assert f"CONNECT {PROXIED_HOST}:{mock.port}" in proxy.log_text(), proxy.log_text()[-2000:]
    assert "sk-ant-proxied-test-key" not in result.stdout


PATTERN_DEFAULTS = {
    "A": {}, "A-bedrock": {"providers": ["bedrock"]},
    "B": {"corporate_proxy": True, "proxy_url": "http://proxy.example.com:8080"},
    "C": {"cost_tracking": True},
    "D": {"cost_tracking": True, "corporate_proxy": True, "proxy_url": "http://proxy.example.com:8080"},
    "D-client-only": {"cost_tracking": True, "corporate_proxy": True, "proxy_url": "http://proxy.example.com:8080",
                      "deploy_gateway": False, "gateway_url": "https://llm-gateway.example.com"},
}


# What the network run says on each pattern's defaults without a credential: a configuration error (exit 2) in one
# line naming what is missing, before any request (direct Bedrock: the network checks are not supported).
WITHOUT_A_KEY = {"A": "set ANTHROPIC_API_KEY", "A-bedrock": "--replay", "B": "set ANTHROPIC_API_KEY",
                 "C": "set LITELLM_MASTER_KEY (or run scripts/init-secrets.sh)",
                 "D": "set LITELLM_MASTER_KEY (or run scripts/init-secrets.sh)",
                 "D-client-only": "set ANTHROPIC_AUTH_TOKEN (your gateway key)"}


@pytest.mark.parametrize("name", PATTERN_DEFAULTS)
def test_offline_passes_on_every_patterns_defaults(generate, tmp_path, name):
    project = generate(**PATTERN_DEFAULTS[name])
    result = kit(project, tmp_path)
    assert result.returncode == 2 and WITHOUT_A_KEY[name] in result.stderr, result.stdout + result.stderr
    assert not result.stdout.strip() and len(result.stderr.strip().splitlines()) == 1, result.stderr
    offline = kit(project, tmp_path, "--offline")
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert "PASS  recording" in offline.stdout and "claude-code-2.1.332.json" in offline.stdout


def test_the_recording_is_what_the_real_cli_sends(claude_bin, tmp_path):
    """Re-record with the real, pinned CLI and compare with the committed file (never hand-typed)."""
    output = tmp_path / "recorded.json"
    subprocess.run([sys.executable, str(REPO_ROOT / "tests" / "support" / "record_claude_code_betas.py"),
                    "--claude", claude_bin, "--output", str(output)], check=True, capture_output=True, timeout=300)
    assert json.loads(output.read_text()) == json.loads(RECORDING.read_text())

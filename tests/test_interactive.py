"""An interactive run, answering at copier's prompts as a person would (tmux send-keys / capture-pane):
provider questions appear only for the chosen provider, model questions only when customising."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import yaml
from environment import require_tool
from template_clone import copier_cli

pytestmark = pytest.mark.live

# Help texts copier shows for each question (it prints the help, not the answer's name).
ANTHROPIC_URL = "Anthropic API endpoint, without /v1"
AWS_REGION = "AWS region for Bedrock"
GCP_PROJECT = "Google Cloud project id with Vertex AI"
GCP_REGION = "Vertex AI region"
CUSTOMIZE = "Customise the model ids"
BEDROCK_OPUS = "Opus-tier Bedrock inference-profile id"
VERTEX_OPUS = "Opus-tier Vertex AI model id"
NONESSENTIAL = "Stop Claude Code's error reporting"
USAGE_TELEMETRY = "Export Claude Code's usage telemetry"
DOWN, SPACE, ENTER, CLEAR = "Down", "Space", "Enter", "C-u"  # C-u empties a pre-filled default


class Terminal:
    """copier running in a detached tmux session on a private socket; every wait is bounded."""

    def __init__(self, tmux: str, command: list[str]):
        self.tmux = [tmux, "-L", f"copier-test-{uuid.uuid4().hex[:8]}"]
        shell_command = " ".join(f"'{part}'" for part in command) + "; echo COPIER-EXITED=$?; sleep 600"
        subprocess.run([*self.tmux, "new-session", "-d", "-s", "t", "-x", "220", "-y", "60", shell_command],
                       check=True, timeout=30)

    def screen(self) -> str:
        return subprocess.run([*self.tmux, "capture-pane", "-p", "-J", "-S", "-", "-t", "t"], capture_output=True,
                              text=True, timeout=30, check=False).stdout

    def wait_for(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} did not appear within {timeout}s; screen:\n{self.screen()}")

    def answer(self, prompt: str, *keys: str) -> None:
        """Wait until `prompt` is the newest question, then type the keys (copier redraws after each)."""
        self.wait_for(prompt)
        time.sleep(0.3)  # let prompt_toolkit finish drawing before keys arrive
        for key in keys:
            subprocess.run([*self.tmux, "send-keys", "-t", "t", *([key] if key in (DOWN, SPACE, ENTER, CLEAR) else
                                                                ["-l", key])], check=True, timeout=30)
            time.sleep(0.1)

    def close(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], capture_output=True, timeout=30, check=False)


@pytest.fixture
def terminal():
    tmux = require_tool(shutil.which("tmux"), "tmux", "apt-get install tmux")
    opened = []

    def _open(command: list[str]) -> Terminal:
        opened.append(Terminal(tmux, command))
        return opened[-1]

    yield _open
    for term in opened:
        term.close()


def run_interactive(terminal, template_repo: Path, dest: Path, steps) -> str:
    term = terminal([*copier_cli(), "copy", "--trust", str(template_repo), str(dest)])
    for prompt, keys in steps:
        term.answer(prompt, *keys)
    return term.wait_for("COPIER-EXITED=", timeout=60)


def test_bedrock_questions_only_when_bedrock_is_chosen(terminal, template_repo, tmp_path):
    dest = tmp_path / "project"
    screen = run_interactive(terminal, template_repo, dest, [
        ("cost tracking or usage analytics", [ENTER]),
        ("require a proxy", [ENTER]),
        ("Which model provider", [SPACE, DOWN, SPACE, ENTER]),  # untick Anthropic, tick Bedrock
        (AWS_REGION, [CLEAR, "eu-west-1", ENTER]),
        ("AWS profile", [ENTER]),
        ("Bedrock runtime endpoint", [ENTER]),
        (CUSTOMIZE, [ENTER]),
        (NONESSENTIAL, [ENTER]),
        (USAGE_TELEMETRY, [ENTER]),
    ])
    assert "COPIER-EXITED=0" in screen, screen
    for absent in (ANTHROPIC_URL, GCP_PROJECT, GCP_REGION, BEDROCK_OPUS):
        assert absent not in screen
    answers = yaml.safe_load((dest / ".copier-answers.yml").read_text())
    assert answers["providers"] == ["bedrock"] and answers["aws_region"] == "eu-west-1"
    assert "gcp_project_id" not in answers and "bedrock_opus_model" not in answers
    assert "export ANTHROPIC_DEFAULT_OPUS_MODEL=eu.anthropic.claude-opus-5-5" in (dest / "client/env.sh").read_text()


def test_vertex_and_model_questions_when_chosen(terminal, template_repo, tmp_path):
    dest = tmp_path / "project"
    screen = run_interactive(terminal, template_repo, dest, [
        ("cost tracking or usage analytics", [ENTER]),
        ("require a proxy", [ENTER]),
        ("Which model provider", [SPACE, DOWN, DOWN, SPACE, ENTER]),  # untick Anthropic, tick Vertex
        (GCP_PROJECT, ["my-team-prod", ENTER]),
        (GCP_REGION, [ENTER]),
        ("Vertex AI endpoint", [ENTER]),
        (CUSTOMIZE, ["y"]),
        (VERTEX_OPUS, [ENTER]),
        ("Sonnet-tier Vertex AI model id", [ENTER]),
        ("Haiku-tier Vertex AI model id", [ENTER]),
        (NONESSENTIAL, [ENTER]),
        (USAGE_TELEMETRY, [ENTER]),
    ])
    assert "COPIER-EXITED=0" in screen, screen
    for absent in (ANTHROPIC_URL, AWS_REGION, BEDROCK_OPUS):
        assert absent not in screen
    answers = yaml.safe_load((dest / ".copier-answers.yml").read_text())
    assert answers["gcp_project_id"] == "my-team-prod" and answers["vertex_opus_model"] == "claude-opus-5-5"


def test_a_bad_answer_is_explained_and_asked_again(terminal, template_repo, tmp_path):
    dest = tmp_path / "project"
    term = terminal([*copier_cli(), "copy", "--trust", str(template_repo), str(dest)])
    term.answer("cost tracking or usage analytics", ENTER)
    term.answer("require a proxy", ENTER)
    term.answer("Which model provider", ENTER)
    term.answer(ANTHROPIC_URL, "http://llm.example.com")
    screen = term.wait_for("uses plain http:// to a non-loopback host")
    assert "anthropic_base_url: 'http://llm.example.com'" in screen

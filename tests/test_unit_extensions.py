"""Unit tests of the template's logic (extensions/claude_gateway_template), without copier: milliseconds each.

They keep the registry, the rules table and copier.yml in step, so adding a provider or a question cannot
half-succeed."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import yaml
from answers import complete_answers
from claude_gateway_template import common, derived, gateway, patterns, rules
from claude_gateway_template.providers import PROVIDERS, REGISTRY, TIERS
from environment import REPO_ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

COPIER_YML = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())
QUESTIONS = {k: v for k, v in COPIER_YML.items() if not k.startswith("_")}


# -------------------------------------------------------------------------------------------------------
# The registry and copier.yml agree
# -------------------------------------------------------------------------------------------------------
def test_copier_choices_list_the_registry_in_order():
    assert list(QUESTIONS["providers"]["choices"].values()) == list(PROVIDERS)
    assert list(QUESTIONS["primary_provider"]["choices"].values()) == list(PROVIDERS)
    assert list(QUESTIONS["providers"]["choices"]) == [p.name for p in REGISTRY.values()]


@pytest.mark.parametrize("key", PROVIDERS)
def test_each_provider_record_is_complete(key):
    provider = REGISTRY[key]
    assert set(provider.default_models) == set(TIERS)
    for fragment in (provider.doctor_check, provider.login_doc):
        assert (REPO_ROOT / fragment).is_file(), fragment
    for question in provider.questions:
        # An answer several records ask (aws_region) is asked when any chosen record asks it, from the records.
        shared = sum(question in p.questions for p in REGISTRY.values()) > 1
        when = f"asked_by('{question}', providers) != ''" if shared else f"'{key}' in providers"
        assert when in QUESTIONS[question]["when"], question
        assert question in rules.RULES_BY_QUESTION, question
        assert (question in provider.required) == ("default" not in QUESTIONS[question]), question
    for tier in TIERS:
        question = QUESTIONS[provider.model_question(tier)]
        assert question["default"] == f"{{{{ default_model('{key}', '{tier}'{', aws_region' if provider.model_prefix else ''}) }}}}"
    assert (provider.use_flag is None) == (key == "anthropic")  # Claude Code's default needs no switch


def test_every_validator_is_the_rule_of_its_own_question():
    validated = {name for name, q in QUESTIONS.items() if "validator" in q}
    for name in validated:
        assert QUESTIONS[name]["validator"] == f"{{{{ answer_error('{name}') }}}}", name
    assert validated <= set(rules.RULES_BY_QUESTION)
    assert set(rules.RULES_BY_QUESTION) <= set(QUESTIONS)  # no rule for a question that does not exist


# -------------------------------------------------------------------------------------------------------
# The decision tree
# -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("pattern", list(patterns.PATTERNS.values()), ids=lambda p: p.letter)
def test_pattern_table_round_trips_through_the_decision_tree(pattern):
    assert patterns.derive_pattern(pattern.cost_tracking, pattern.corporate_proxy) == pattern.letter


def test_migrations_name_real_patterns_and_each_path_once():
    pairs = [(m.source, m.target) for m in patterns.MIGRATIONS]
    assert len(set(pairs)) == len(pairs) and all(s != t for s, t in pairs)
    assert {x for pair in pairs for x in pair} == set(patterns.PATTERNS)


# -------------------------------------------------------------------------------------------------------
# Derived values: complete for every pattern and provider (StrictUndefined renders rely on it)
# -------------------------------------------------------------------------------------------------------
CASES = [(ct, cp, p) for ct in (False, True) for cp in (False, True) for p in PROVIDERS]


@pytest.mark.parametrize(("cost_tracking", "corporate_proxy", "provider"), CASES)
def test_every_pattern_gets_the_same_complete_context(cost_tracking, corporate_proxy, provider):
    context = derived.derive(complete_answers(cost_tracking=cost_tracking, corporate_proxy=corporate_proxy,
                                              providers=[provider], primary_provider=provider))
    reference = derived.derive(complete_answers())
    assert set(context) == set(reference)
    assert context["pattern"] == patterns.derive_pattern(cost_tracking, corporate_proxy)
    names = [v.name for v in context["client_env"]]
    assert len(names) == len(set(names))
    assert not set(names) & {v.name for v in context["client_env_forbidden"]}  # never set and forbidden at once


def test_gateway_model_list_orders_the_primary_first_in_each_group():
    answers = complete_answers(cost_tracking=True, providers=["anthropic", "foundry"], primary_provider="foundry")
    model_list = gateway.gateway_model_list(answers)
    assert [(d["model_name"], d["litellm_params"]["order"]) for d in model_list][:2] == [
        ("claude-opus-5-5", 1), ("claude-opus-5-5", 2)]
    assert model_list[0]["litellm_params"]["api_base"] == "https://my-foundry.services.ai.azure.com/anthropic"
    assert all(not str(v).startswith("sk-") for d in model_list for v in d["litellm_params"].values())


# -------------------------------------------------------------------------------------------------------
# The glue copier loads
# -------------------------------------------------------------------------------------------------------
def test_glue_runs_each_release_with_its_own_package(tmp_path):
    """copier update renders two releases in one process: the second glue must not reuse the first's modules."""
    import shutil
    other = tmp_path / "other-release" / "extensions"
    shutil.copytree(REPO_ROOT / "extensions", other, ignore=shutil.ignore_patterns("__pycache__"))
    (other / "claude_gateway_template" / "patterns.py").write_text(
        (other / "claude_gateway_template" / "patterns.py").read_text().replace('"Direct provider access"',
                                                                                '"Other release"'))
    script = ("import importlib.util, sys\n"
              "def load(path, name):\n"
              "    spec = importlib.util.spec_from_file_location(name, path)\n"
              "    module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module); return module\n"
              f"a = load({str(REPO_ROOT / 'extensions' / 'context.py')!r}, 'glue_a')\n"
              f"b = load({str(other / 'context.py')!r}, 'glue_b')\n"
              "print(b._modules['derived'].PATTERNS['A'].name)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Other release"


def test_rename_answers_command_still_runs_from_the_glue(tmp_path):
    answers = tmp_path / ".copier-answers.yml"
    answers.write_text("_commit: v0.1.0\nca_bundle: /etc/ca.pem\ncost_tracking: false\n")
    step = [sys.executable, str(REPO_ROOT / "extensions" / "context.py"), "rename-answers", str(answers)]
    out = subprocess.run(step, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert re.search(r"^corporate_ca_cert: /etc/ca.pem$", answers.read_text(), re.MULTILINE)


@settings(max_examples=200, deadline=None, derandomize=bool(os.environ.get("CI")))
@given(value=st.text(alphabet="`|ab \\*_<>", min_size=1, max_size=20).filter(lambda v: v.strip()))
def test_markdown_code_span_shows_any_value_literally(value):
    """CommonMark: a code span opens and closes with equal backtick runs, and one space is stripped from both
    ends when both are spaces; GFM splits table cells on | first, so a cell needs it escaped."""
    span = common.md_code(value)
    fence = re.match("`+", span).group(0)
    assert span.endswith(fence) and fence not in span[len(fence):-len(fence)]
    inner = span[len(fence):-len(fence)]
    if inner.startswith(" ") and inner.endswith(" ") and inner.strip():
        inner = inner[1:-1]
    assert inner == value
    assert common.md_code(value, in_table=True).replace("\\|", "|") == span


# -------------------------------------------------------------------------------------------------------
# The api_key_helper key check sees the command as the shell does
# -------------------------------------------------------------------------------------------------------
@st.composite
def shell_quoted(draw, text: str) -> str:
    """`text` as one shell word, cut into pieces each quoted one of the ways bash removes again."""
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(text) - 1)), max_size=4)))
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)]) if text[a:b]]
    out = []
    for piece in pieces:
        way = draw(st.sampled_from(["plain", "single", "double", "backslash", "ansi-hex", "empty-pair"]))
        out.append({"plain": piece, "single": f"'{piece}'", "double": f'"{piece}"',
                    "backslash": "".join("\\" + c for c in piece),
                    "ansi-hex": "$'" + "".join(f"\\x{ord(c):02x}" for c in piece) + "'",
                    "empty-pair": f"{piece}''"}[way])
    return "".join(out)


KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"


@settings(max_examples=60, deadline=None, derandomize=bool(os.environ.get("CI")))
@given(data=st.data(), key=st.text(alphabet=KEY_ALPHABET, min_size=20, max_size=40),
       form=st.sampled_from(["echo {}", "printf %s {}", "KEY={} my-tool", "cat <<<{}"]))
def test_an_api_key_hidden_by_shell_quoting_is_refused_and_never_echoed(data, key, form):
    word = data.draw(shell_quoted("sk-ant-" + key))
    command = form.format(word)
    # What bash makes of the word is the key (the ground truth the check must match).
    seen = subprocess.run(["bash", "-c", f"printf %s {word}"], capture_output=True, text=True, timeout=30, check=False)
    assert seen.stdout == "sk-ant-" + key, (word, seen.stdout)
    message = rules.answer_error("api_key_helper", complete_answers(cost_tracking=True, client_auth="api_key_helper",
                                                                    api_key_helper=command))
    assert message.startswith("api_key_helper: ") and "contains what looks like an API key" in message, message
    assert "\n" not in message and key[8:] not in message


@pytest.mark.parametrize("command", ["vault kv get -field=key secret/claude/gateway", "op read 'op://vault/gw/key'",
                                     "sh -c \"aws secretsmanager get-secret-value --secret-id gw\"",
                                     "printf '%s' \"$GATEWAY_KEY\""])
def test_an_ordinary_helper_command_passes_the_key_check(command):
    assert rules.answer_error("api_key_helper", complete_answers(cost_tracking=True, client_auth="api_key_helper",
                                                                 api_key_helper=command)) == ""

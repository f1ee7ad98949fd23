"""The table of answer rules: one place says how each answer is checked and when it matters.

copier.yml's validators call `answer_error('<question>')` (a Jinja global reading the answers given so far), and
the context hook re-validates every answer with `answer_errors`, because copier does not validate answers of
questions it did not ask (a `--data` value for a hidden question would otherwise reach a shell script unchecked).
Both paths use the same rule, so they cannot drift."""

from __future__ import annotations

from typing import Any

from . import checks
from .answer_migrations import renamed_answer_errors
from .providers import PROVIDERS, REGISTRY, TIERS
from .records import Answers, Rule


def _gateway(answers: Answers) -> bool:
    return bool(answers.get("cost_tracking"))


def _proxy(answers: Answers) -> bool:
    return bool(answers.get("corporate_proxy"))


def _yes_no(question: str, applies=lambda answers: True) -> Rule:
    return Rule(question, lambda value, answers: checks.bool_error(value, question), applies)


def _model_rule(question: str) -> Rule:
    # Checked whenever given: the gateway's names are anthropic_* ids whatever provider serves them.
    return Rule(question, lambda value, answers: checks.model_id_error(value, question),
                lambda answers: question in answers)


# The yes/no questions and when each matters; their raw values are checked too (raw_answer_errors).
YES_NO_QUESTIONS = {
    "cost_tracking": lambda answers: True,
    "corporate_proxy": lambda answers: True,
    "customize_models": lambda answers: True,
    "disable_nonessential_traffic": lambda answers: True,
    "spend_database": _gateway,
    "deploy_gateway": lambda answers: _gateway(answers) and _proxy(answers),
    "gateway_via_proxy": lambda answers: _gateway(answers) and _proxy(answers),
}

RULES: tuple[Rule, ...] = (
    *(_yes_no(question, applies) for question, applies in YES_NO_QUESTIONS.items()),
    Rule("providers", lambda value, answers: checks.providers_error(value, answers.get("cost_tracking"), PROVIDERS)),
    *(rule for provider in REGISTRY.values() for rule in provider.rules),
    Rule("proxy_url", lambda value, answers: checks.proxy_url_error(value), _proxy),
    Rule("proxy_username", lambda value, answers: checks.proxy_username_error(value), _proxy),
    Rule("no_proxy_hosts", lambda value, answers: checks.no_proxy_error(value), _proxy),
    Rule("corporate_ca_cert", lambda value, answers: checks.corporate_ca_cert_error(value), _proxy),
    Rule("primary_provider", lambda value, answers: checks.primary_provider_error(value, answers.get("providers")),
         lambda answers: _gateway(answers) and len(answers.get("providers") or []) > 1),
    Rule("gateway_port", lambda value, answers: checks.port_error(value, "gateway_port"), _gateway),
    Rule("gateway_bind", lambda value, answers: checks.bind_error(value), _gateway),
    Rule("gateway_workers", lambda value, answers: checks.workers_error(1 if value is None else value), _gateway),
    Rule("gateway_url", lambda value, answers: checks.gateway_url_error(
        value, answers.get("gateway_bind"), deployed_here=not (_proxy(answers) and answers.get("deploy_gateway") is False)),
        _gateway),
    Rule("gateway_runtime", lambda value, answers: checks.choice_error(
        value, "gateway_runtime", ("docker", "process"), "a runtime"), _gateway),
    Rule("client_auth", lambda value, answers: checks.choice_error(
        value, "client_auth", ("env", "api_key_helper"), "a way to pass the key"), _gateway),
    Rule("api_key_helper", lambda value, answers: checks.api_key_helper_error(value),
         lambda answers: _gateway(answers) and answers.get("client_auth") == "api_key_helper"),
    *(_model_rule(REGISTRY[p].model_question(tier)) for p in PROVIDERS for tier in TIERS),
)
RULES_BY_QUESTION = {rule.question: rule for rule in RULES}


def answer_error(question: str, answers: Answers) -> str:
    """The rule's message for one answer, as copier.yml's validator shows it ("" when fine)."""
    rule = RULES_BY_QUESTION[question]
    return rule.check(answers.get(question), answers)


def raw_answer_errors(data: dict[str, Any]) -> list[str]:
    """Problems copier's type casts hide: the answers as given (--data, a data file), before copier turned any
    unknown text into true."""
    return [error for question in YES_NO_QUESTIONS if question in data
            for error in [checks.bool_error(data[question], question)] if error]


def answer_errors(answers: dict[str, Any], data: dict[str, Any] | None = None) -> list[str]:
    """Every problem with the public answers, whether or not copier asked (and so validated) the question;
    `data`: the answers as given, before copier's casts."""
    errors = renamed_answer_errors(answers) + raw_answer_errors(data or {})
    errors += [rule.check(answers.get(rule.question), answers) for rule in RULES if rule.applies(answers)]
    return [e for e in errors if e]


class InvalidAnswer(ValueError):
    """An answer that would produce a broken or unsafe project (the glue reports it as copier's one-line error)."""

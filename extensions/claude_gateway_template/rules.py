"""The table of answer rules: one place says how each answer is checked and when it matters.

copier.yml's validators call `answer_error('<question>')` (a Jinja global reading the answers given so far), and
the context hook re-validates every answer with `answer_errors`, because copier does not validate answers of
questions it did not ask (a `--data` value for a hidden question would otherwise reach a shell script unchecked).
Both paths use the same rule, so they cannot drift."""

from __future__ import annotations

from typing import Any

from . import apps_gateway, checks, engines, gateway
from .answer_migrations import renamed_answer_errors
from .common import shown
from .providers import PROVIDERS, REGISTRY, TIERS
from .records import Answers, Rule


def _gateway(answers: Answers) -> bool:
    return bool(answers.get("cost_tracking"))


def _proxy(answers: Answers) -> bool:
    return bool(answers.get("corporate_proxy"))


def _litellm(answers: Answers) -> bool:
    return engines.runs_litellm(answers)


def _apps_gateway_here(answers: Answers) -> bool:
    """The Claude apps gateway, deployed from this repository (its sign-in answers apply)."""
    return engines.runs_apps_gateway(answers) and gateway.gateway_in_repo(
        "D" if _proxy(answers) else "C", answers)


def _telemetry(answers: Answers) -> bool:
    return bool(answers.get("usage_telemetry"))


def _runtime_error(value: Any, answers: Answers) -> str:
    error = checks.choice_error(value, "gateway_runtime", gateway.RUNTIMES, "a runtime")
    engine = engines.ENGINES.get(engines.engine_key(answers))  # an unknown engine has its own rule's message
    if error or engine is None or value in engine.runtimes:
        return error
    return (f"gateway_runtime: {shown(value)} is not available for gateway_engine={engine.key}; expected "
            f"{' or '.join(engine.runtimes)}.")


def _engine_error(value: Any, answers: Answers) -> str:
    error = checks.choice_error(value, "gateway_engine", tuple(engines.ENGINES), "a gateway engine")
    for key in answers.get("providers") or []:
        reason = REGISTRY[key].unsupported_engines.get(value, "") if key in REGISTRY and not error else ""
        if reason:
            others = " or ".join(e for e in engines.ENGINES if e not in REGISTRY[key].unsupported_engines)
            return (f"gateway_engine: {shown(value)} cannot call {REGISTRY[key].name}: {reason}; expected {others} "
                    f"(or drop {key} from providers).")
    return error


def _via_proxy_error(value: Any, answers: Answers) -> str:
    error = checks.bool_error(value, "gateway_via_proxy")
    if error or not (value is True and engines.runs_apps_gateway(answers)):
        return error
    return (f"gateway_via_proxy: true is not possible with gateway_engine={engines.engine_key(answers)}: Claude Code "
            "signs in to it only directly (its host goes into NO_PROXY); expected false.")


def _port_error(value: Any, answers: Answers) -> str:
    error = checks.port_error(value, "gateway_port")
    if error or not engines.litellm_behind(answers) or value != 65535:
        return error
    return (f"gateway_port: 65535 leaves no port for LiteLLM behind the front (gateway_engine="
            f"{engines.APPS_GATEWAY_WITH_LITELLM} runs it on gateway_port + 1); expected 1 to 65534.")


def _yes_no(question: str, applies=lambda answers: True) -> Rule:
    return Rule(question, lambda value, answers: checks.bool_error(value, question), applies, kind="yes/no")


def _choice(question: str, choices: tuple[str, ...], what: str, applies) -> Rule:
    return Rule(question, lambda value, answers: checks.choice_error(value, question, choices, what), applies,
                choices=choices)


def _model_rule(question: str, own=None) -> Rule:
    # Checked whenever given: the gateway's names are anthropic_* ids whatever provider serves them. `own`: the
    # provider's rule on top (its record's model_id_error).
    return Rule(question, lambda value, answers: checks.model_id_error(value, question) or (
        own(value, question) if own else ""), lambda answers: question in answers)


# The yes/no questions and when each matters (copier casts any text to a bool: given_answer_errors checks first).
YES_NO_QUESTIONS = {
    "cost_tracking": lambda answers: True,
    "corporate_proxy": lambda answers: True,
    "customize_models": lambda answers: True,
    "disable_nonessential_traffic": lambda answers: True,
    "usage_telemetry": lambda answers: True,
    "spend_database": lambda answers: engines.deploys_litellm(answers),
    "deploy_gateway": lambda answers: _gateway(answers) and _proxy(answers),
}

RULES: tuple[Rule, ...] = (
    *(_yes_no(question, applies) for question, applies in YES_NO_QUESTIONS.items()),
    Rule("providers", lambda value, answers: checks.providers_error(value, answers.get("cost_tracking"), PROVIDERS),
         kind="list", choices=PROVIDERS),
    *(rule for provider in REGISTRY.values() for rule in provider.rules),
    Rule("proxy_url", lambda value, answers: checks.proxy_url_error(value), _proxy),
    Rule("proxy_username", lambda value, answers: checks.proxy_username_error(value), _proxy),
    Rule("no_proxy_hosts", lambda value, answers: checks.no_proxy_error(value), _proxy),
    Rule("corporate_ca_cert", lambda value, answers: checks.corporate_ca_cert_error(value),
         lambda answers: _proxy(answers) or _gateway(answers)),
    Rule("gateway_via_proxy", _via_proxy_error, lambda answers: _gateway(answers) and _proxy(answers),
         kind="yes/no"),
    Rule("gateway_engine", _engine_error, _gateway, choices=tuple(engines.ENGINES)),
    Rule("primary_provider", lambda value, answers: checks.primary_provider_error(value, answers.get("providers")),
         lambda answers: _gateway(answers) and len(answers.get("providers") or []) > 1, choices=PROVIDERS),
    Rule("gateway_port", _port_error, _gateway, kind="number"),
    Rule("gateway_bind", lambda value, answers: checks.bind_error(value), _gateway),
    Rule("gateway_workers", lambda value, answers: checks.workers_error(1 if value is None else value), _litellm,
         kind="number"),
    Rule("gateway_url", lambda value, answers: checks.kubernetes_gateway_url_error(value)
         if gateway.on_kubernetes(answers) else checks.gateway_url_error(
        value, answers.get("gateway_bind"), deployed_here=not (_proxy(answers) and answers.get("deploy_gateway") is False)),
        _gateway),
    Rule("gateway_runtime", _runtime_error, _gateway, choices=gateway.RUNTIMES),
    _choice("kubernetes_redis", gateway.KUBERNETES_REDIS, "a place for Redis",
            lambda answers: gateway.on_kubernetes(answers) and engines.deploys_litellm(answers)),
    Rule("oidc_issuer", lambda value, answers: checks.oidc_issuer_error(value), _apps_gateway_here),
    Rule("oidc_client_id", lambda value, answers: checks.oidc_client_id_error(value), _apps_gateway_here),
    Rule("oidc_allowed_groups", lambda value, answers: checks.groups_error(value, "oidc_allowed_groups"),
         _apps_gateway_here),
    Rule("oidc_admin_groups", lambda value, answers: checks.groups_error(value, "oidc_admin_groups"),
         _apps_gateway_here),
    Rule("session_ttl_hours", lambda value, answers: checks.session_ttl_error(
        apps_gateway.DEFAULT_SESSION_TTL_HOURS if value is None else value, apps_gateway.MAX_SESSION_TTL_HOURS),
        _apps_gateway_here, kind="number"),
    Rule("budget_contact", lambda value, answers: checks.budget_contact_error(value), _gateway),
    _choice("client_auth", ("env", "api_key_helper"), "a way to pass the key", _litellm),
    Rule("api_key_helper", lambda value, answers: checks.api_key_helper_error(value),
         lambda answers: _litellm(answers) and answers.get("client_auth") == "api_key_helper"),
    *(_model_rule(REGISTRY[p].model_question(tier), REGISTRY[p].model_id_error) for p in PROVIDERS
      for tier in TIERS),
    Rule("otel_endpoint", lambda value, answers: checks.otel_endpoint_error(value), _telemetry),
    Rule("otel_header", lambda value, answers: checks.otel_header_error(value), _telemetry),
    Rule("otel_headers_helper", lambda value, answers: checks.otel_headers_helper_error(value),
         lambda answers: _telemetry(answers) and bool(answers.get("otel_header"))
         and not engines.runs_apps_gateway(answers)),
)
RULES_BY_QUESTION = {rule.question: rule for rule in RULES}
# The questions without a default in copier.yml: with --defaults, each must be given when it applies. A provider's
# come from its record.
REQUIRED = ("proxy_url", "api_key_helper", "oidc_issuer", "otel_endpoint",
            *(question for provider in REGISTRY.values() for question in provider.required))


def check(rule: Rule, answers: Answers) -> str:
    """The rule's message for its answer ("" when fine): the text rule first for text answers, then its own."""
    value = answers.get(rule.question)
    return (rule.kind == "text" and checks.text_error(value, rule.question)) or rule.check(value, answers)


def answer_error(question: str, answers: Answers) -> str:
    """The rule's message for one answer, as copier.yml's validator shows it ("" when fine)."""
    return check(RULES_BY_QUESTION[question], answers)


def given_answer_errors(data: dict[str, Any]) -> list[str]:
    """Problems with the answers as given (--data, a data file) that copier's casts would hide or turn into a
    traceback: each value's type and choices (checks.given_value_error), before copier parses any of them."""
    errors = renamed_answer_errors(data)
    errors += [checks.given_value_error(RULES_BY_QUESTION[question], value) for question, value in data.items()
               if question in RULES_BY_QUESTION]
    return [e for e in errors if e]


def parsed_given(data: dict[str, Any]) -> Answers:
    """The answers as given, typed as copier types them (call after given_answer_errors found nothing)."""
    return {question: checks.given_value(RULES_BY_QUESTION[question], value) for question, value in data.items()
            if question in RULES_BY_QUESTION}


def missing_answer_errors(answers: Answers, given: dict[str, Any]) -> list[str]:
    """Required answers that apply to the answers so far but were neither given nor answered before: with
    --defaults copier would stop on them with a traceback ("Question ... is required"). A problem with an answer
    given so far comes first: it is the one to fix (two providers without a gateway need no Vertex project)."""
    answers = {**answers, **parsed_given(given)}  # copier's context still holds them as given (text)
    missing = [check(RULES_BY_QUESTION[question], {**answers, question: None}) for question in REQUIRED
               if question not in given and question not in answers and RULES_BY_QUESTION[question].applies(answers)]
    if not missing:
        return []
    earlier = [check(rule, answers) for rule in RULES if rule.question in answers and rule.applies(answers)]
    return [e for e in earlier if e] + missing


def answer_errors(answers: dict[str, Any], data: dict[str, Any] | None = None) -> list[str]:
    """Every problem with the public answers, whether or not copier asked (and so validated) the question;
    `data`: the answers as given, before copier's casts."""
    errors = renamed_answer_errors(answers) + given_answer_errors(data or {})
    errors += [check(rule, answers) for rule in RULES if rule.applies(answers)]
    return [e for e in errors if e]


class InvalidAnswer(ValueError):
    """An answer that would produce a broken or unsafe project (the glue reports it as copier's one-line error)."""

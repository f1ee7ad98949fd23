"""The shape of a provider record: everything the template knows about one provider, in one place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..records import Answers, EgressHost, Endpoint, EnvVar, GatewayVar, Rule

TIERS = ("opus", "sonnet", "haiku")


@dataclass(frozen=True)
class Provider:
    key: str   # the `providers` answer value
    name: str  # what users call it
    short_name: str  # in lists ("Multi-provider support (Anthropic, Bedrock, ...)")
    # The ids Claude Code sends for each tier when nothing is pinned (measured against a loopback mock).
    default_models: dict[str, str]
    # Claude Code, talking to this provider directly (Patterns A/B): the provider's variables, model pins apart.
    client_env: Callable[[Answers], list[EnvVar]]
    # Where Claude Code sends requests when the endpoint variable is unset, and what the doctor probes.
    endpoint: Callable[[Answers], Endpoint]
    # The gateway (Patterns C/D): LiteLLM's litellm_params for one model id; secrets only as os.environ/NAME.
    litellm_params: Callable[[Answers, str], dict[str, Any]]
    # The Claude apps gateway (gateway_engine=claude_apps_gateway): this provider's entry under `upstreams:`, named
    # by its key (the models catalog maps ids per upstream name); secrets only as ${NAME} from gateway/.env.
    apps_gateway_upstream: Callable[[Answers], dict[str, Any]]
    # What gateway/.env may hold for this provider (both engines read the same names).
    gateway_env: Callable[[Answers], list[GatewayVar]]
    # Hosts whoever calls the provider must reach (Claude Code in A/B, the gateway in C/D).
    egress: Callable[[Answers], list[EgressHost]]
    # Rules for this provider's own answers (model ids are added for every provider).
    rules: tuple[Rule, ...]
    # The flag that selects the provider in Claude Code, the variable overriding its endpoint, and the flag
    # that makes Claude Code skip signing (right only behind a gateway in provider format).
    use_flag: str | None
    base_url_var: str
    skip_auth_var: str | None
    # How the credential reaches Claude Code (never through a file this template writes): one sentence for
    # comments and the README, one next step, and a shell line that gives the CI doctor a placeholder.
    credential_hint: str
    login_step: str
    ci_credential: str
    # Template fragments (paths from the template root): the doctor's credential check (scripts/check-status.sh)
    # and docs/setup.md's login instructions.
    doctor_check: str
    login_doc: str
    # client/env.sh warns when none of these is set (empty: the provider has a login that needs no variable).
    credential_vars: tuple[str, ...] = ()
    credential_alternative: str = ""  # what else works, in the warning ("or configure an apiKeyHelper")
    credential_doc: str = ""          # docs/setup.md's variables row for the credential, if it is a variable
    # The model id of a tier may depend on other answers (Bedrock: the region's inference-profile prefix).
    model_prefix: Callable[[str], str] | None = None
    # Behind the gateway, bridged from Anthropic format: Claude Code's new beta fields give HTTP 400 there.
    rejects_new_betas: bool = False
    # docker compose: environment entries and read-only mounts (comment, volume) the gateway container needs.
    compose_environment: Callable[[Answers], dict[str, str]] = lambda answers: {}
    compose_volumes: Callable[[Answers], list[tuple[str, str]]] = lambda answers: []
    # Non-secret variables the Claude apps gateway's process needs for this provider (gateway/run-local.sh).
    apps_gateway_environment: Callable[[Answers], dict[str, str]] = lambda answers: {}
    # docs/gateway.md's note on where the gateway's credential for this provider comes from.
    gateway_credential_doc: Callable[[Answers], str] = lambda answers: ""
    # The request path Claude Code uses for a model (tests point a loopback mock at it).
    request_path: Callable[[Answers, str], str] = lambda answers, model: "/v1/messages"
    questions: tuple[str, ...] = field(default=())  # this provider's own answers in copier.yml
    # Those of them without a default in copier.yml: with --defaults each must be given (rules.REQUIRED).
    required: tuple[str, ...] = ()
    # Other variables that point Claude Code at an endpoint of this provider (must be unset unless generated).
    endpoint_vars: tuple[str, ...] = ()
    # The conformance kit calling the provider directly (scripts/conformance/providers.json, see kit.py): where
    # Claude Code sends requests when no variable names an endpoint ("" when one must), the URL an endpoint_vars[0]
    # value names (`{}` for the value), the key variables with the header each is sent in (in the order Claude
    # Code prefers them), and whether Claude Code signs every request itself with cloud credentials (the kit
    # cannot send requests of its own then: only --replay, the real CLI).
    default_url: str = ""
    resource_url: str = ""
    key_headers: tuple[tuple[str, str], ...] = ()
    signs_requests: bool = False
    # A model id rule of the provider's own, after the common one: (value, question) -> one line or "".
    model_id_error: Callable[[Any, str], str] | None = None
    # Gateway engines that cannot call this provider: engine key -> the one-line reason (the gateway_engine rule).
    unsupported_engines: dict[str, str] = field(default_factory=dict)
    # A loopback mock standing in for the provider (the live tests, and the conformance kit's recording of what
    # Claude Code sends on each route, tests/support/record_claude_code_betas.py): the answers that point Claude
    # Code at a mock serving at `url` (with the required ones), and the environment giving it a credential the mock
    # accepts without a cloud login (a placeholder; never written to a generated file).
    mock_answers: Callable[[str], dict[str, Any]] = lambda url: {}
    mock_credential: dict[str, str] = field(default_factory=dict)

    def default_model(self, tier: str, region: Any = "") -> str:
        model = self.default_models[tier]
        return f"{self.model_prefix(str(region or ''))}.{model}" if self.model_prefix else model

    def model_question(self, tier: str) -> str:
        return f"{self.key}_{tier}_model"


def askers(question: str, providers: Any) -> list[Provider]:
    """The selected providers (the `providers` answer) whose records list `question`, in the answer's order."""
    from . import REGISTRY  # the registry imports the records: look it up when asked
    keys = providers if isinstance(providers, (list, tuple)) else []
    return [REGISTRY[key] for key in keys if key in REGISTRY and question in REGISTRY[key].questions]


def asks(question: str) -> Callable[[Answers], bool]:
    """A rule's `applies`: some selected provider's record lists `question` (answers shared between records, such
    as aws_region for every AWS route)."""
    def applies(answers: Answers) -> bool:
        return bool(askers(question, answers.get("providers")))
    return applies


def named(providers: list[Provider], short: bool = False, conjunction: str = "and") -> str:
    """"A", "A and B", "A, B and C": providers as a sentence names them."""
    names = [p.short_name if short else p.name for p in providers]
    return f" {conjunction} ".join(names) if len(names) < 3 else f"{', '.join(names[:-1])} {conjunction} {names[-1]}"


def asked_by(question: str, providers: Any) -> str:
    """The chosen providers whose records ask `question`, as a help text names them ("Bedrock and Mantle"); "" when
    none does (copier.yml's `when` and help of an answer shared between records)."""
    return named(askers(question, providers), short=True)

"""The value types the other modules produce and the templates place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Answers = dict[str, Any]


@dataclass(frozen=True)
class EnvVar:
    """One variable of Claude Code's environment: the single source of client/env.sh, env.ps1, settings.json
    and the variables table of docs/setup.md."""
    name: str
    value: str
    doc: str
    # A proxy URL that client/env.sh completes at run time with the user and PROXY_PASSWORD (so it never appears
    # in a file, and is left out of settings.json, whose env would override the shell with a password-less URL).
    with_proxy_credentials: bool = False


@dataclass(frozen=True)
class ForbiddenVar:
    name: str
    why: str


@dataclass(frozen=True)
class Endpoint:
    variable: str  # the variable that overrides the endpoint, if the user sets it
    default: str   # what Claude Code calls when the variable is unset
    probe: str     # path appended for the reachability check (any HTTP answer counts)


@dataclass(frozen=True)
class GatewayVar:
    name: str
    doc: str
    generated: bool = False  # written by scripts/init-secrets.sh; otherwise the user fills it in
    example: str = ""
    required: bool = False   # init-secrets.sh reminds the user to fill it in


@dataclass(frozen=True)
class RegionList:
    """The regions where a provider serves Claude, with where the list comes from and when it was read: a
    region outside it is refused, and the message says how old the list is."""
    codes: tuple[str, ...]
    source: str
    checked: str  # ISO date the list was read from `source`


@dataclass(frozen=True)
class EgressHost:
    host: str
    port: int
    purpose: str
    required: bool


@dataclass(frozen=True)
class Rule:
    """How one answer is checked: `check(value, answers)` returns "" or a one-line message naming the question,
    the value and what is expected. `applies(answers)` says whether the answer matters for these answers (copier
    only validates questions it asked; the re-validation checks every answer that applies)."""
    question: str
    check: Callable[[Any, Answers], str]
    applies: Callable[[Answers], bool] = lambda answers: True
    # What the answer is before copier casts it (copier.yml's type): "text", "yes/no", "number" or "list". The
    # value as given (--data, a data file) is checked against it first (checks.given_value_error).
    kind: str = "text"
    choices: tuple[str, ...] = ()  # the only values allowed (each item's, for a list)

"""docs/answers.md, the answers reference, generated from copier.yml and the rules table: `make docs`.

    python -m claude_gateway_template.answers_doc            rewrite docs/answers.md
    python -m claude_gateway_template.answers_doc --check    exit 1 when docs/answers.md is stale, change nothing

Each question's text, type, default, condition and choices come from copier.yml; how it is checked (its kind, the
choices the rules allow, whether `--defaults` needs it) from rules.py; the defaults of the model pins from the
provider registry. NOTES adds, per answer, what the generated files do with it where copier.yml's help does not
say. tests/test_docs.py fails when the committed file differs from `render()`. A development tool: copier never
imports this module.
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path
from typing import Any

import jinja2
import yaml

from . import rules, versions
from .providers import REGISTRY
from .providers.base import asked_by, askers

REPO_ROOT = Path(__file__).resolve().parents[2]
COPIER_YML = REPO_ROOT / "copier.yml"
ANSWERS_MD = REPO_ROOT / "docs" / "answers.md"
WIDTH = 116
_BANNER = re.compile(r"^# ([A-Z][^\n]*)\n# -{20,}$", re.MULTILINE)
_QUESTION = re.compile(r"^([a-z][a-z0-9_]*):", re.MULTILINE)
_DEFAULT_MODEL = re.compile(r"^\{\{ default_model\('(\w+)', '(\w+)'(, aws_region)?\) \}\}$")
_JINJA = re.compile(r"^\{\{ (.*) \}\}$")
_ASKED_BY = re.compile(r"asked_by\('(\w+)', providers\) != ''")
TYPES = {"bool": "yes/no", "int": "number", "str": "text"}

# What the generated files do with an answer, where copier.yml's help does not say it.
NOTES = {
    "cost_tracking": "Decision 1: yes → a LiteLLM gateway (Pattern C or D).",
    "corporate_proxy": "Decision 2: yes → through a corporate proxy (Pattern B or D).",
    "proxy_url": "→ `HTTPS_PROXY`/`HTTP_PROXY`. A URL with credentials is rejected (the message never echoes the "
                 "password).",
    "proxy_username": "Basic auth user. `client/env.sh`/`env.ps1` read `PROXY_PASSWORD` at run time and "
                      "percent-encode both into the proxy URLs, which then stay out of `client/settings.json`.",
    "no_proxy_hosts": "`localhost,127.0.0.1,::1` always; in D also the gateway's host unless `gateway_via_proxy`.",
    "corporate_ca_cert": "→ `NODE_EXTRA_CA_CERTS` on developer machines; the gateway gets certifi's roots **plus** "
                         "it (`gateway/build-ca-bundle.sh`). Never `NODE_TLS_REJECT_UNAUTHORIZED`. Called "
                         "`ca_bundle` before 0.2.0: upgrades rename it in `.copier-answers.yml`, and the old name "
                         "given with `--data` or in a data file fails naming the new one.",
    "providers": "Patterns A and B talk to exactly one; several need `cost_tracking=true` (gateway routing).",
    "anthropic_base_url": "Without `/v1`. `https://` (plain `http://` only for loopback hosts); no credentials "
                          "inside.",
    "aws_region": "→ `AWS_REGION`; the Bedrock model ids' prefix (`us.`, `eu.`, `apac.`, `us-gov.`) follows it. "
                  "Checked against `REGIONS` in `providers/bedrock.py`, kept with its source and the date it was "
                  "read (the message says both: a region AWS added since needs a newer template release).",
    "aws_profile": "→ `AWS_PROFILE`.",
    "bedrock_base_url": "→ `ANTHROPIC_BEDROCK_BASE_URL`, always with `CLAUDE_CODE_USE_BEDROCK=1`.",
    "gcp_project_id": "→ `ANTHROPIC_VERTEX_PROJECT_ID`.",
    "gcp_region": "→ `CLOUD_ML_REGION`. Checked against `REGIONS` in `providers/vertex.py` (source and date in the "
                  "message, as for `aws_region`).",
    "vertex_base_url": "→ `ANTHROPIC_VERTEX_BASE_URL` with `/v1`, always with `CLAUDE_CODE_USE_VERTEX=1`.",
    "foundry_resource": "→ `ANTHROPIC_FOUNDRY_RESOURCE`. Give this **or** `foundry_base_url`: Claude Code refuses "
                        "both.",
    "foundry_base_url": "→ `ANTHROPIC_FOUNDRY_BASE_URL`, always with `CLAUDE_CODE_USE_FOUNDRY=1`. The credential is "
                        "the user's `ANTHROPIC_FOUNDRY_API_KEY` or a Microsoft Entra ID sign-in (`az login`), never "
                        "written to a file.",
    "primary_provider": "The others take over through `order` in each model group.",
    "deploy_gateway": "`false`: only configure developer machines for a gateway run elsewhere (then `gateway_url` "
                      "is required).",
    "gateway_runtime": "`process`: `gateway/run-local.sh start|stop|status|logs`. `docker`: "
                       "`gateway/docker-compose.yml` (for the Claude apps gateway, its image from "
                       "`gateway/Dockerfile` and its Postgres). `kubernetes`: manifests for a shared gateway "
                       "(`gateway/kubernetes/`, `scripts/deploy-kubernetes.sh`); then `gateway_port`/`gateway_bind` "
                       "are not asked and `gateway_url` must be the Ingress's `https://` URL without a path.",
    "kubernetes_redis": "`external`: one you run, by `REDIS_URL`; `in_cluster`: one small Redis in the cluster.",
    "gateway_bind": "`0.0.0.0` = shared.",
    "gateway_url": "Derived from bind and port when the gateway runs here.",
    "gateway_workers": "More than one adds Redis (shared limits, cooldowns, budgets); on Kubernetes, workers per pod "
                       "(Redis always: several replicas).",
    "spend_database": "Postgres for virtual keys (`scripts/new-key.sh`, `scripts/sync-access.sh`), per-key spend "
                      "and budgets. The generated README says what it holds, how to back it up and restore it, how "
                      "to rotate the master key, and what each migration does to it.",
    "budget_contact": "In each key's alias, so LiteLLM's \"Budget has been exceeded! Key=alice (more budget: "
                      "#llm-gateway)\" shows it in Claude Code, and in `check-status.sh`'s message for an exhausted, "
                      "blocked or unknown key.",
    "client_auth": "The gateway key from `ANTHROPIC_AUTH_TOKEN`, or from a command (`apiKeyHelper`).",
    "customize_models": "Otherwise the model pins below take their defaults.",
    "disable_nonessential_traffic": "→ `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`.",
    **{f"anthropic_{tier}_model": "Also the gateway's model names in Patterns C and D, whatever provider serves "
                                  "them." for tier in ("opus", "sonnet", "haiku")},
    **{f"foundry_{tier}_model": "Your Foundry **deployment names**." for tier in ("opus", "sonnet", "haiku")},
}

HEADER = f"""\
# Answers

<!-- Generated by `make docs` (extensions/claude_gateway_template/answers_doc.py) from copier.yml and the rules
table (extensions/claude_gateway_template/rules.py). Do not edit: tests/test_docs.py fails when this is stale. -->

Every question of the template, in the order copier asks it. Give answers interactively, with
`--data name=value`, or in a data file (`--data-file`; [`examples/org-defaults.yml`](../examples/org-defaults.yml)
is a tested example of an org preset); command-line answers win. The pattern (A-D) is derived from
`cost_tracking` and `corporate_proxy`, never asked and never stored. No secret is ever asked for, written into a
generated file or stored in `.copier-answers.yml`.

## What every answer must be

Text answers are one line: no control characters (newline, tab, escape, U+0085), no line or paragraph separators
(U+2028/U+2029), no invisible format characters (bidirectional overrides), at most 1,000 characters, and each
answer's own rule on top (URLs, ids, hosts and paths refuse quotes, `$`, backticks and `;`). Yes/no answers are
`true/false`, `yes/no`, `y/n`, `on/off` or `1/0` in any case, nothing else (copier would turn `flase` into true).
Numbers are digits (ports 1-65535); `providers` is a list (`[anthropic]`); choices are one of their values.

A rejected answer given with `--data`, a data file or `--defaults` stops the copy with one line (the question, the
value with any password, URL query or API key shown as `***`, what is expected), exit 1, no traceback and nothing
written; typed answers are asked again. Copier only validates the questions it asks: the template checks every
answer that applies again, with the same rule (one table, `rules.py`). A copy into a folder that already has files
the template writes stops before the first file unless `--overwrite` is given.

The default model ids are the ones Claude Code {versions.CLAUDE_CODE_VERSION} sends when nothing is pinned (measured
against the tests' mock provider), so the provider or gateway always receives ids it knows.
"""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _wrap(text: str, prefix: str = "") -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=prefix, subsequent_indent=" " * len(prefix),
                         break_on_hyphens=False, break_long_words=False)


def _code(value: Any) -> str:
    text = value if isinstance(value, str) else yaml.safe_dump(value, default_flow_style=True).strip()
    text = text.removesuffix("...").strip()  # a scalar's YAML document end
    return f"`{text}`" if text != "" else "empty"


def _default(question: str, spec: dict[str, Any]) -> str:
    if "default" not in spec:
        return "none: an answer is required when asked"
    value = spec["default"]
    if isinstance(value, str):
        model = _DEFAULT_MODEL.match(value)
        if model:
            provider, tier, regional = model.groups()
            resolved = REGISTRY[provider].default_model(tier, "us-east-1" if regional else "")
            return f"`{resolved}`" + (" (for `us-east-1`: the prefix follows `aws_region`)" if regional else "")
        jinja = _JINJA.match(value)
        if jinja:
            return f"`{jinja.group(1)}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return _code(value)


def _groups(text: str) -> dict[str, str]:
    """Each question's section: the banner comment above it in copier.yml."""
    banners = [(m.start(), m.group(1)) for m in _BANNER.finditer(text)]
    groups = {}
    for match in _QUESTION.finditer(text):
        above = [title for start, title in banners if start < match.start()]
        groups[match.group(1)] = above[-1] if above else "Questions"
    return groups


def _anchor(question: str) -> str:
    return question  # GitHub's anchor for a heading `name`: lower case, underscores kept


def render() -> str:
    text = COPIER_YML.read_text()
    spec = yaml.safe_load(text)
    questions = {name: value for name, value in spec.items() if not name.startswith("_")}
    groups = _groups(text)
    out = [HEADER]
    out += ["## Index", "", "| answer | type | default |", "|---|---|---|"]
    for name, q in questions.items():
        default = _default(name, q).split(" (")[0]
        if _JINJA.match(str(q.get("default", ""))) and not _DEFAULT_MODEL.match(str(q["default"])):
            default = "derived, see below"
        out.append(f"| [`{name}`](#{_anchor(name)}) | {_type(name, q)} | {default.split(':')[0]} |")
    section = None
    for name, q in questions.items():
        if groups[name] != section:
            section = groups[name]
            out += ["", f"## {section}"]
        out += ["", f"### `{name}`", ""]
        help_text = _rendered_help(str(q.get("help", "")))
        if "\n" in help_text.strip():
            out += ["```text", *help_text.rstrip().splitlines(), "```", ""]
        else:
            out += [*_wrap(_one_line(help_text)), ""]
        out += _facts(name, q)
    return "\n".join(out).rstrip() + "\n"


def _rendered_help(text: str) -> str:
    """A help text that names the chosen providers, as copier shows it with every provider chosen."""
    if "{{" not in text and "{%" not in text:
        return text
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    return environment.from_string(text).render(providers=list(REGISTRY), asked_by=asked_by)


def _asked(q: dict[str, Any]) -> str:
    when = _JINJA.match(str(q.get("when", ""))) if "when" in q else None
    if not when:
        return "always"
    shared = _ASKED_BY.fullmatch(when.group(1))
    if shared:  # an answer several records share: name them
        keys = [p.key for p in askers(shared.group(1), list(REGISTRY))]
        return f"when `providers` has {' or '.join(f'`{key}`' for key in keys)} (the records that ask it)"
    return f"when `{when.group(1)}`"


def _type(name: str, q: dict[str, Any]) -> str:
    if q.get("multiselect"):
        return "list"
    rule = rules.RULES_BY_QUESTION.get(name)
    return "choice" if q.get("choices") else (rule.kind if rule else TYPES.get(q.get("type", "str"), q.get("type")))


def _facts(name: str, q: dict[str, Any]) -> list[str]:
    rule = rules.RULES_BY_QUESTION.get(name)
    facts = [f"type: {_type(name, q)} (copier `{q.get('type', 'str')}`)", f"default: {_default(name, q)}",
             f"asked: {_asked(q)}"]
    if q.get("choices"):
        facts.append("choices: " + "; ".join(f"`{value}` = {label}" for label, value in q["choices"].items()))
    if rule is None:
        facts.append("checked: by copier's type only (no rule in the rules table)")
    else:
        check = "checked by its rule in `rules.py` whenever it applies, also when copier did not ask it"
        if name in rules.REQUIRED:
            check += "; with `--defaults` it must be given when it applies"
        facts.append(check)
    if name in NOTES:
        facts.append(NOTES[name])
    return [line for fact in facts for line in _wrap(fact, "- ")]


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not ANSWERS_MD.exists() or ANSWERS_MD.read_text() != text:
            print(f"{ANSWERS_MD.relative_to(REPO_ROOT)} is stale: run `make docs`")
            return 1
        return 0
    ANSWERS_MD.parent.mkdir(exist_ok=True)
    ANSWERS_MD.write_text(text)
    print(f"wrote {ANSWERS_MD.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

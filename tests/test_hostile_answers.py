"""Hostile answers through whole generated trees: a free-text answer either is refused cleanly (one line naming it,
nothing written) or renders a tree where every script parses, every JSON and YAML file parses, compose validates
against its schema, and the value reads back unchanged from every file it lands in; the scripts' offline paths
create no file.

Coverage (issue 30): every free-text question in every pattern where it applies (CONTEXTS: A and B with each
provider, C and D on each gateway runtime, D client-only, C and D with the Claude apps gateway), each value carrying every special character its rule
lets through (SURVIVORS), and a unique marker, so that the files it lands in are found whatever their encoding:
- test_every_question_in_every_pattern_reads_back_from_every_file: one render per pattern with every applicable
  question hostile at once (deterministic; about 11 renders).
- test_a_hostile_answer_is_refused_cleanly_or_safe_everywhere (Hypothesis): a pattern, a question that applies there,
  and a value with at least one of its specials forced in, or any hostile text (refused in one line).

The answers covered come from the rules table (every text answer without fixed choices), so a new answer is covered
without editing this file. Questions whose rule lets no special character through (aws_region, gcp_region,
gateway_bind, proxy_url, foundry_base_url) are covered by the refusal half and by test_answer_rules.py."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import string
import subprocess
import urllib.parse
from pathlib import Path

import jsonschema
import pytest
import yaml
from answers import (
    APPS_GATEWAY_APPLIES,
    EVERY_ANSWER_APPLIES,
    REQUIRED_FILLERS,
    VALID_TOGETHER,
    complete_answers,
    copier_environment,
    questions,
)
from check_jsonschema.builtin_schemas import get_builtin_schema
from claude_gateway_template import rules
from claude_gateway_template.common import split_hosts, split_list
from claude_gateway_template.providers import PROVIDERS, REGISTRY
from copier.errors import UserMessageError
from environment import clean_env
from generated import read_ps1
from golden_trees import render
from hypothesis import given, settings
from hypothesis import strategies as st

TEXT_QUESTIONS = sorted(rule.question for rule in rules.RULES if rule.kind == "text" and not rule.choices)
HOSTILE_CHARS = (string.printable + "\u2028\u2029\x85\u00a0\u200b\u202e\ufeff\u2018\u2019\u201c\u201d\u00e9\u4e2d"
                 "\U0001f600")
PROXY = {"corporate_proxy": True, "proxy_url": "http://proxy.example.com:8080", "proxy_username": "alice",
         "corporate_ca_cert": "/etc/ssl/corp-root.pem", "no_proxy_hosts": ".corp.example.com"}
# Each provider's required answers filled (its records' questions), so that one provider alone renders.
ONE_PROVIDER = {"customize_models": True, **{q: value for q, value in REQUIRED_FILLERS.items()
                                             if any(q in provider.questions for provider in REGISTRY.values())}}
# The gateway as a process on a loopback port where nothing listens, so the offline paths reach nothing.
GATEWAY = {**EVERY_ANSWER_APPLIES, "corporate_proxy": False, "gateway_runtime": "process", "gateway_port": 9,
           "gateway_url": "http://127.0.0.1:9", "spend_database": True, "budget_contact": "#llm-gateway"}
CONTEXTS = {
    **{f"A-{p}": {**ONE_PROVIDER, "providers": [p]} for p in PROVIDERS},
    **{f"B-{p}": {**ONE_PROVIDER, **PROXY, "providers": [p]} for p in PROVIDERS},
    "C-process": GATEWAY,
    "C-kubernetes": {**GATEWAY, "gateway_runtime": "kubernetes", "gateway_url": "https://llm.example.com"},
    "D-process": {**GATEWAY, **PROXY},
    "D-client-only": {**GATEWAY, **PROXY, "deploy_gateway": False, "gateway_url": "https://llm-gateway.example.com"},
    # The Claude apps gateway (its sign-in answers), served over https in D.
    "C-apps-gateway": {**GATEWAY, **APPS_GATEWAY_APPLIES, "corporate_proxy": False, "gateway_port": 9,
                       "gateway_url": "http://127.0.0.1:9"},
    "D-apps-gateway": {**GATEWAY, **APPS_GATEWAY_APPLIES, **PROXY, "gateway_port": 9,
                       "gateway_url": "https://gateway.corp.example.com:9"},
}
QUESTION_PROVIDER = {q: key for key, provider in REGISTRY.items() for q in provider.questions}
ENGINE_CHOICE = ("gateway_engine", "gateway_runtime", "providers")
FILLERS = {"anthropic_base_url": "https://llm.example.com", "bedrock_base_url": "https://vpce.example.com",
           "vertex_base_url": "https://psc.example.com", "foundry_base_url": "https://f.example.com/anthropic",
           "aws_profile": "dev", "no_proxy_hosts": ".corp.example.com", "budget_contact": "#llm-gateway"}


def context_answers(context: str, **changes) -> dict:
    """The context's answers, with `changes` (and what a change needs alongside it, e.g. no Foundry resource with a
    Foundry URL)."""
    # A provider's answer needs the engine that calls it only where the context does not choose it already.
    chosen = CONTEXTS[context].get("providers", ())
    together = {k: v for q in changes for k, v in VALID_TOGETHER.get(q, {}).items()
                if not (QUESTION_PROVIDER.get(q) in chosen and k in ENGINE_CHOICE)}
    return {**CONTEXTS[context], **together, **changes}


def applies(question: str, context: str) -> bool:
    """Copier asks it (its `when`) and its rule checks it, under the context's answers."""
    answers = complete_answers(**context_answers(context))
    when = questions()[question].get("when", True)
    if isinstance(when, str):
        when = copier_environment().from_string(when).render(**answers).strip() not in ("", "False", "false")
    return bool(when) and bool(rules.RULES_BY_QUESTION[question].applies(answers))


def base_value(question: str, context: str) -> str:
    return complete_answers(**context_answers(context))[question] or FILLERS.get(question, "")


def valid(question: str, context: str, value: str) -> bool:
    return not rules.answer_error(question, complete_answers(**context_answers(context, **{question: value})))


def specials_of(question: str) -> str:
    """The special (non-alphanumeric) characters this answer's rule lets through after a valid value."""
    context = next(c for c in CONTEXTS if applies(question, c))
    start = base_value(question, context)
    return "".join(c for c in HOSTILE_CHARS if not c.isalnum() and valid(question, context, start + c + "x"))


SURVIVORS = {question: specials_of(question) for question in TEXT_QUESTIONS}
APPLICABLE = [(q, c) for c in CONTEXTS for q in TEXT_QUESTIONS if applies(q, c) and SURVIVORS[q]]


def hostile_value(question: str, context: str, specials: str, marker: str) -> str:
    """The valid start with each of `specials` appended (each followed by x, and kept only if the rule still
    accepts it), then `marker`: a value that carries as many specials as the rule allows."""
    value = base_value(question, context)
    for char in specials:
        if valid(question, context, value + char + "x"):
            value += char + "x"
    return value + marker if valid(question, context, value + marker) else value


SCRIPT_CHECK = 'for f; do case $(head -n1 "$f") in *sh) bash -n "$f" || echo "BROKEN $f";; esac; ' \
               'case $(head -n1 "$f") in "#!/bin/sh"*) sh -n "$f" || echo "BROKEN $f";; esac; done'
COMPOSE_SCHEMA = get_builtin_schema("vendor.compose-spec")


def files_under(*roots: Path) -> set[str]:
    return {str(p) for root in roots for p in root.rglob("*")}


def run(project: Path, home: Path, *command: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(command), cwd=project, env=clean_env(home, **env), capture_output=True, text=True,
                          check=False, timeout=60)


def strings_in(data) -> list[str]:
    """Every string in a parsed JSON/YAML document (keys too), and those in YAML text held in a string."""
    if isinstance(data, dict):
        return [s for k, v in data.items() for s in (*strings_in(k), *strings_in(v))]
    if isinstance(data, list):
        return [s for item in data for s in strings_in(item)]
    if isinstance(data, str):
        found = [data]
        if "\n" in data:  # a ConfigMap's file, a script in a manifest
            try:
                found += strings_in(yaml.safe_load(data))
            except yaml.YAMLError:
                pass
        return found
    return []


PS_QUOTES = "'\u2018\u2019\u201a\u201b"  # PowerShell reads each of these as a single quote
_PS_LITERAL = re.compile(f"[{PS_QUOTES}]((?:[^{PS_QUOTES}]|[{PS_QUOTES}]{{2}})*)[{PS_QUOTES}]")


def powershell_literals(text: str) -> list[str]:
    """Each single-quoted PowerShell string, as PowerShell reads it (a doubled quote is one quote)."""
    return [re.sub(f"([{PS_QUOTES}])[{PS_QUOTES}]", r"\1", body) for body in _PS_LITERAL.findall(text)]


def shell_words(text: str) -> list[str]:
    """The words of each line as sh reads them (quotes removed), for lines shlex can split."""
    words = []
    for line in text.splitlines():
        try:
            words += shlex.split(line, comments=False)
        except ValueError:
            continue
    return words


def readings(project: Path, home: Path, path: Path) -> list[str]:
    """What the file says, as the program that reads it reads it."""
    text = path.read_text(errors="replace")
    rel = path.relative_to(project).as_posix()
    if rel == "client/env.sh":  # sourced as a developer does: with the proxy password and the collector's header
        sourced = run(project, home, "sh", "-c", ". ./client/env.sh >/dev/null 2>&1; env -0", PROXY_PASSWORD="pw",
                      OTEL_COLLECTOR_HEADER_VALUE="v")
        values = [item.split("=", 1)[1] for item in sourced.stdout.split("\0") if "=" in item]
        return values + [urllib.parse.unquote(v) for v in values]  # the proxy user is percent-encoded in the URLs
    if path.suffix == ".json":
        return strings_in(json.loads(text))
    if path.suffix in (".yml", ".yaml"):  # the values, and the comments (read by people, verbatim)
        comments = [line.split("#", 1)[1] for line in text.splitlines() if line.lstrip().startswith("#")]
        return [s for document in yaml.safe_load_all(text) for s in strings_in(document)] + comments
    if path.suffix == ".ps1":
        return list(read_ps1(path)[0].values()) + powershell_literals(text)
    if path.suffix == ".sh" or path.name in (".env", ".env.example"):
        return [*shell_words(text), text]
    if path.suffix == ".md":  # as rendered: a table cell's `\|` is a `|` (GFM splits cells before code spans)
        return [text, text.replace("\\|", "|")]
    return [text]  # Python, Dockerfile...: verbatim


def landing_forms(question: str, value: str) -> list[list[str]]:
    """What must read back where the value lands: each group is satisfied by any of its forms. A host list lands
    host by host (NO_PROXY, the README's list), a group list group by group; a URL whole, or its host alone (an
    Ingress host)."""
    if question == "no_proxy_hosts":
        return [[host] for host in split_hosts(value)]
    if question.endswith("_groups"):  # identity-provider groups land group by group (a YAML list)
        return [[group] for group in split_list(value)]
    if question.endswith("_url"):
        return [[value, urllib.parse.urlsplit(value).netloc.rsplit("@", 1)[-1].split(":")[0]]]
    return [[value]]


def check_tree(project: Path, home: Path, values: dict[str, tuple[str, str]]) -> dict[str, list[str]]:
    """Every script parses, every JSON/YAML file parses, compose validates; each value (question -> (value,
    marker)) reads back unchanged from every file its marker is in. Returns question -> the files it landed in."""
    files = [p for p in project.rglob("*") if p.is_file() and ".git" not in p.parts]
    scripts = [str(p) for p in files if p.suffix == ".sh"]
    parsed = subprocess.run(["sh", "-c", SCRIPT_CHECK + '; sh -n client/env.sh || echo "BROKEN env.sh"', "sh",
                             *scripts], cwd=project, capture_output=True, text=True, timeout=60, check=False)
    assert "BROKEN" not in parsed.stdout, parsed.stdout + parsed.stderr
    for path in files:
        if path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix in (".yml", ".yaml"):
            documents = list(yaml.safe_load_all(path.read_text()))
            if path.name == "docker-compose.yml":
                jsonschema.validate(documents[0], COMPOSE_SCHEMA)
    # The client's three views of its environment agree: settings.json, env.sh sourced by sh, env.ps1.
    sourced = run(project, home, "sh", "-c", ". ./client/env.sh >/dev/null 2>&1; env -0", PROXY_PASSWORD="pw")
    exported = dict(item.split("=", 1) for item in sourced.stdout.split("\0") if "=" in item)
    ps1, _ = read_ps1(project / "client" / "env.ps1")
    for name, expected in json.loads((project / "client" / "settings.json").read_text()).get("env", {}).items():
        assert exported.get(name) == expected and ps1.get(name) == expected, name
    if "HTTPS_PROXY" in exported and "@" in exported["HTTPS_PROXY"]:  # the password is added at run time
        assert urllib.parse.urlsplit(exported["HTTPS_PROXY"]).password == "pw"
    answers_file = yaml.safe_load((project / ".copier-answers.yml").read_text())
    landed: dict[str, list[str]] = {}
    for question, (value, marker) in values.items():
        assert answers_file[question] == value, question
        holding = [p for p in files if marker in p.read_text(errors="replace")]
        for path in holding:
            said = readings(project, home, path)
            assert all(any(form in reading for reading in said for form in forms) for forms in
                       landing_forms(question, value)), (question, value, str(path.relative_to(project)))
        landed[question] = sorted(str(p.relative_to(project)) for p in holding)
    return landed


def check_offline_paths_create_nothing(project: Path, home: Path) -> None:
    before = files_under(project, home)
    for command in (["scripts/check-status.sh", "--offline"], ["scripts/health-check.sh"],
                    ["gateway/run-local.sh", "status"]):
        if (project / command[0]).exists():
            result = run(project, home, *command)
            assert "syntax error" not in result.stderr and "unbound variable" not in result.stderr, result.stderr
    assert files_under(project, home) == before


def marker_for(question: str) -> str:
    return f"qz{TEXT_QUESTIONS.index(question):02d}k"  # lowercase: project ids and resources allow no capitals


@pytest.mark.parametrize("context", CONTEXTS)
def test_every_question_in_every_pattern_reads_back_from_every_file(template_repo, tmp_path, context):
    questions = [q for q, c in APPLICABLE if c == context]
    values = {q: hostile_value(q, context, SURVIVORS[q], marker_for(q)) for q in questions}
    # Together, every value still valid (a value is kept plain when it is refused next to the others).
    answers = context_answers(context, **values)
    for question in questions:
        if rules.answer_error(question, complete_answers(**answers)):
            values[question] = base_value(question, context)
    answers = context_answers(context, **values)
    assert rules.answer_errors(complete_answers(**answers)) == []
    project, home = tmp_path / "project", tmp_path / "home"
    home.mkdir()
    render(template_repo, answers, project)
    hostile = {q: (v, marker_for(q)) for q, v in values.items() if marker_for(q) in v}
    # Every question of the pattern is hostile here, each with specials its rule lets through.
    assert set(hostile) == set(questions) and all(set(v) & set(SURVIVORS[q]) for q, (v, _) in hostile.items())
    landed = check_tree(project, home, hostile)
    # The client files are among those read back (a value stored but used nowhere, like the provider URL of a
    # client-only repository, lands in the answers file alone).
    assert {"client/settings.json", "client/env.sh"} <= {f for files in landed.values() for f in files}, landed
    check_offline_paths_create_nothing(project, home)


def test_coverage_reaches_every_question_in_every_pattern():
    """What the test above covers, from the rules table: every question with specials, in each pattern where it
    applies; and Pattern A/B client files get hostile provider answers."""
    covered = {q for q, _ in APPLICABLE}
    assert covered == {q for q in TEXT_QUESTIONS if SURVIVORS[q]}
    assert {c for q, c in APPLICABLE if q == "anthropic_base_url"} >= {"A-anthropic", "B-anthropic", "C-process"}
    assert ("proxy_username", "B-bedrock") in APPLICABLE and ("aws_profile", "A-bedrock") in APPLICABLE
    assert not SURVIVORS["aws_region"] and not set("$`'\"") & set(SURVIVORS["anthropic_base_url"])
    assert set("'\"$`;&|\\ ") <= set(SURVIVORS["api_key_helper"])
    assert set(";&| \\") <= set(SURVIVORS["proxy_username"])


@st.composite
def hostile_answer(draw):
    question, context = draw(st.sampled_from(APPLICABLE))
    if draw(st.booleans()):  # a value its rule accepts, with at least one of its specials forced in
        specials = draw(st.lists(st.sampled_from(SURVIVORS[question]), min_size=1, max_size=6, unique=True))
        return context, question, hostile_value(question, context, "".join(specials), marker_for(question))
    start = draw(st.sampled_from([base_value(question, context), ""]))
    return context, question, start + draw(st.text(alphabet=HOSTILE_CHARS, min_size=1, max_size=16))


# Health checks on. deadline=None: a render and its checks take seconds, as the copier runs above do.
@settings(max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "20")), deadline=None,
          derandomize=bool(os.environ.get("CI")))
@given(answer=hostile_answer())
def test_a_hostile_answer_is_refused_cleanly_or_safe_everywhere(template_repo, tmp_path_factory, answer):
    context, question, value = answer
    work = tmp_path_factory.mktemp("hostile")
    project, home = work / "project", work / "home"
    home.mkdir()
    answers = context_answers(context, **{question: value})
    expected_error = rules.answer_errors(complete_answers(**answers))
    try:
        render(template_repo, answers, project)
    except UserMessageError as error:
        assert expected_error, f"refused a value the rules accept: {error}"
        assert str(error).startswith(f"{question}: ") and "\n" not in str(error), str(error)
        assert not project.exists()
        return
    assert not expected_error, f"rendered a value the rules refuse: {expected_error[0]}"
    marker = marker_for(question)
    check_tree(project, home, {question: (value, marker)} if marker in value else {})
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())[question] == value
    check_offline_paths_create_nothing(project, home)
    shutil.rmtree(work)

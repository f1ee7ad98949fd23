"""Hostile answers through whole generated trees (Hypothesis): a free-text answer either is refused cleanly
(one line naming it, nothing written) or renders a tree where every script parses, every JSON and YAML file
parses, compose validates against its schema, the value reads back unchanged from the answers file, the
environment scripts (sh and PowerShell) and settings.json, and the scripts' offline paths create no file.

The answers covered come from the rules table (every text answer without fixed choices), so a new answer is
covered without editing this file. Rendering is copier in-process; the examples are few and derandomized under CI
(bounded time); the in-process properties of the rules are in test_answer_rules.py."""

from __future__ import annotations

import json
import os
import shutil
import string
import subprocess
import urllib.parse
from pathlib import Path

import jsonschema
import yaml
from answers import EVERY_ANSWER_APPLIES, VALID_TOGETHER, complete_answers
from check_jsonschema.builtin_schemas import get_builtin_schema
from claude_gateway_template import rules
from copier.errors import UserMessageError
from environment import clean_env
from generated import read_ps1
from golden_trees import render
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TEXT_QUESTIONS = sorted(rule.question for rule in rules.RULES if rule.kind == "text" and not rule.choices)
# Every answer applies, with the gateway as a process on a loopback port where nothing listens, so the offline paths
# reach nothing.
BASE = {**EVERY_ANSWER_APPLIES, "gateway_runtime": "process", "gateway_port": 9, "gateway_url": "http://127.0.0.1:9",
        "spend_database": True}
TOGETHER = VALID_TOGETHER
HOSTILE_CHARS = (string.printable + "\u2028\u2029\x85\u00a0\u200b\u202e\ufeff\u2018\u2019\u201c\u201d\u00e9\u4e2d"
                 "\U0001f600")


def answers_for(question: str, value: str) -> dict:
    return {**BASE, **TOGETHER.get(question, {}), question: value}


def base_value(question: str) -> str:
    value = complete_answers(**BASE)[question]
    return value or {"anthropic_base_url": "https://llm.example.com", "bedrock_base_url": "https://vpce.example.com",
                     "vertex_base_url": "https://psc.example.com", "foundry_base_url": "https://f.example.com/anthropic",
                     "aws_profile": "dev", "no_proxy_hosts": ".corp.example.com"}.get(question, "")


def survivors(question: str) -> str:
    """The hostile characters this answer's rule lets through after a valid value: the interesting ones."""
    start = base_value(question)
    return "".join(c for c in HOSTILE_CHARS if not rules.answer_error(question, complete_answers(
        **answers_for(question, start + c + "x"))))


SURVIVORS = {question: survivors(question) for question in TEXT_QUESTIONS}


@st.composite
def hostile_answer(draw):
    question = draw(st.sampled_from(TEXT_QUESTIONS))
    start = draw(st.sampled_from([base_value(question), ""]))
    alphabet = draw(st.sampled_from([SURVIVORS[question] or "x", HOSTILE_CHARS]))
    return question, start + draw(st.text(alphabet=alphabet, min_size=1, max_size=16))


SCRIPT_CHECK = 'for f; do case $(head -n1 "$f") in *sh) bash -n "$f" || echo "BROKEN $f";; esac; ' \
               'case $(head -n1 "$f") in "#!/bin/sh"*) sh -n "$f" || echo "BROKEN $f";; esac; done'
COMPOSE_SCHEMA = get_builtin_schema("vendor.compose-spec")


def files_under(*roots: Path) -> set[str]:
    return {str(p) for root in roots for p in root.rglob("*")}


def run(project: Path, home: Path, *command: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(command), cwd=project, env=clean_env(home, **env), capture_output=True, text=True, check=False,
                          timeout=60)


def check_tree(project: Path, home: Path, question: str, value: str) -> None:
    files = [p for p in project.rglob("*") if p.is_file() and ".git" not in p.parts]
    # Every script parses (bash, and sh where the shebang says sh); client/env.sh is sourced by sh.
    scripts = [str(p) for p in files if p.suffix == ".sh"]
    parsed = subprocess.run(["sh", "-c", SCRIPT_CHECK + '; sh -n client/env.sh || echo "BROKEN env.sh"', "sh",
                             *scripts], cwd=project, capture_output=True, text=True, timeout=60, check=False)
    assert "BROKEN" not in parsed.stdout, parsed.stdout + parsed.stderr
    # Every JSON and YAML file parses; compose validates against its schema.
    for path in files:
        if path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix in (".yml", ".yaml"):
            document = yaml.safe_load(path.read_text())
            if path.name == "docker-compose.yml":
                jsonschema.validate(document, COMPOSE_SCHEMA)
    # The value reads back unchanged: the answers file, settings.json, env.sh, env.ps1.
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())[question] == value
    settings_env = json.loads((project / "client" / "settings.json").read_text())
    if question == "api_key_helper":
        assert settings_env["apiKeyHelper"] == value
    sourced = run(project, home, "sh", "-c", ". ./client/env.sh >/dev/null 2>&1; env -0", PROXY_PASSWORD="pw")
    exported = dict(item.split("=", 1) for item in sourced.stdout.split("\0") if "=" in item)
    ps1, _ = read_ps1(project / "client" / "env.ps1")
    for name, expected in settings_env.get("env", {}).items():
        assert exported.get(name) == expected, name
        assert ps1.get(name) == expected, name
    proxy = urllib.parse.urlsplit(exported["HTTPS_PROXY"])
    assert urllib.parse.unquote(proxy.username or "") == BASE["proxy_username"] if question != "proxy_username" \
        else urllib.parse.unquote(proxy.username or "") == value
    assert proxy.password == "pw"


def check_offline_paths_create_nothing(project: Path, home: Path) -> None:
    before = files_under(project, home)
    for command in (["scripts/check-status.sh", "--offline"], ["scripts/health-check.sh"],
                    ["gateway/run-local.sh", "status"]):
        result = run(project, home, *command)
        assert "syntax error" not in result.stderr and "unbound variable" not in result.stderr, result.stderr
    assert files_under(project, home) == before


@settings(max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "60")), deadline=None,
          derandomize=bool(os.environ.get("CI")), suppress_health_check=list(HealthCheck))
@given(answer=hostile_answer())
def test_a_hostile_answer_is_refused_cleanly_or_safe_everywhere(template_repo, tmp_path_factory, answer):
    question, value = answer
    work = tmp_path_factory.mktemp("hostile")
    project, home = work / "project", work / "home"
    home.mkdir()
    expected_error = rules.answer_errors(complete_answers(**answers_for(question, value)))
    try:
        render(template_repo, answers_for(question, value), project)
    except UserMessageError as error:
        assert expected_error, f"refused a value the rules accept: {error}"
        assert str(error).startswith(f"{question}: ") and "\n" not in str(error), str(error)
        assert not project.exists()
        return
    assert not expected_error, f"rendered a value the rules refuse: {expected_error[0]}"
    check_tree(project, home, question, value)
    check_offline_paths_create_nothing(project, home)
    shutil.rmtree(work)


def test_survivors_include_what_quoting_must_handle():
    """The property above is only as good as what reaches the files: shell specials do reach some answers."""
    assert set("'\"$`;&|\\ ") <= set(SURVIVORS["api_key_helper"])
    assert set(";&| \\") <= set(SURVIVORS["proxy_username"])
    assert not SURVIVORS["aws_region"] and not set("$`'\"") & set(SURVIVORS["anthropic_base_url"])

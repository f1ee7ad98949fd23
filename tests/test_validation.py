"""Bad input: every validator names the question, the value and what is expected; a failed run leaves
nothing behind; values that could break a shell or JSON file never run anything; no secret is written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest
from claude_gateway_template.providers import PROVIDERS, REGISTRY
from claude_gateway_template.records import EnvVar, ForbiddenVar
from environment import REPO_ROOT, clean_env
from generated import rejected
from jinja2_ansible_filters import AnsibleCoreFiltersExtension
from template_clone import run_copier_cli


# -------------------------------------------------------------------------------------------------------
# One test per validator
# -------------------------------------------------------------------------------------------------------
def test_providers_more_than_one_without_cost_tracking(template_repo, tmp_path):
    last = rejected(template_repo, tmp_path, providers=["anthropic", "vertex"])
    assert "providers: ['anthropic', 'vertex'] selects 2 providers" in last
    assert "answer yes to cost tracking (cost_tracking=true)" in last
    assert "multi-provider routing" in last


def test_providers_empty(template_repo, tmp_path):
    last = rejected(template_repo, tmp_path, providers=[])
    assert "providers: nothing selected; expected at least one of anthropic, bedrock, vertex" in last


def test_providers_unknown(template_repo, tmp_path):
    last = rejected(template_repo, tmp_path, providers=["openai"])
    assert f"providers: 'openai' is not one of the choices; expected a list from {', '.join(PROVIDERS)}" in last


def test_base_url_with_credentials_is_rejected_without_echoing_the_password(template_repo, tmp_path):
    dest = tmp_path / "project"
    result = run_copier_cli(template_repo, dest, data={"anthropic_base_url": "https://bob:hunter2@llm.example.com"})
    assert result.returncode != 0 and not dest.exists()
    last = result.stderr.strip().splitlines()[-1]
    assert "anthropic_base_url: 'https://***@llm.example.com' has credentials inside the URL" in last
    assert "hunter2" not in result.stdout + result.stderr


@pytest.mark.parametrize("value", ["https://llm.example.com/$(touch PWNED)", "https://llm.example.com/`id`",
                                   "https://llm.example.com/\"x", "https://llm.example.com/'x",
                                   "https://llm.example.com\nexport X=1", "https://llm.example.com;id"])
def test_base_url_with_shell_or_json_metacharacters(template_repo, tmp_path, value):
    last = rejected(template_repo, tmp_path, anthropic_base_url=value)
    assert last.startswith("anthropic_base_url: ")
    assert "contains a character that is not allowed here" in last or "contains a control character" in last
    assert "expected" in last
    assert not list(tmp_path.rglob("PWNED")) and not (Path.cwd() / "PWNED").exists()


def test_base_url_plain_http_to_a_remote_host(template_repo, tmp_path):
    last = rejected(template_repo, tmp_path, anthropic_base_url="http://llm.example.com")
    assert "anthropic_base_url: 'http://llm.example.com' uses plain http:// to a non-loopback host" in last
    assert "use https://" in last


def test_base_url_ending_in_v1(template_repo, tmp_path):
    last = rejected(template_repo, tmp_path, anthropic_base_url="https://llm.example.com/v1")
    assert "anthropic_base_url: 'https://llm.example.com/v1' ends in /v1; give it without /v1" in last
    assert "'https://llm.example.com'" in last


def test_base_url_not_a_url(template_repo, tmp_path):
    last = rejected(template_repo, tmp_path, anthropic_base_url="ftp://llm.example.com")
    assert "anthropic_base_url: 'ftp://llm.example.com' is not an http:// or https:// URL with a host" in last


@pytest.mark.parametrize("question", ["anthropic_opus_model", "anthropic_sonnet_model", "anthropic_haiku_model"])
def test_model_id(template_repo, tmp_path, question):
    last = rejected(template_repo, tmp_path, customize_models=True, **{question: "claude opus'; rm -rf ~"})
    assert f"{question}: \"claude opus'; rm -rf ~\" is not a model id; expected letters, digits" in last


def test_hidden_question_values_are_validated_too(copie, template_repo):
    """copier skips validators of questions it does not ask (here: model pins without customize_models)
    when the value arrives as a default; extensions/context.py re-validates every answer before rendering."""
    result = copie.copy(extra_answers={"anthropic_opus_model": "$(touch PWNED)"}, template_dir=template_repo)
    assert result.exit_code != 0
    assert "anthropic_opus_model: '$(touch PWNED)' is not a model id" in str(result.exception)
    assert not list(Path(copie.test_dir).rglob("client"))


# -------------------------------------------------------------------------------------------------------
# Defence in depth: the templates quote whatever reaches them
# -------------------------------------------------------------------------------------------------------
HOSTILE = ["$(touch PWNED)", "`touch PWNED`", "a'b\"c", "x; touch PWNED", "line1\nline2", "${HOME}", "\\"]


def render_client_template(name: str, env: list[EnvVar]) -> str:
    """Render a client template with copier's own filters and values that skipped validation."""
    environment = jinja2.Environment(extensions=[AnsibleCoreFiltersExtension], keep_trailing_newline=True,
                                     loader=jinja2.FileSystemLoader(REPO_ROOT))  # as copier's: includes/ resolves
    source = next((REPO_ROOT / "template").rglob(f"{name}.jinja")).read_text()
    return environment.from_string(source).render(
        client_env=env, client_settings={"env": {v.name: v.value for v in env}}, client_env_forbidden=[ForbiddenVar("CLAUDE_CODE_USE_VERTEX", "test")], pattern="A",
        pattern_info={"name": "test"}, provider_name="test", provider_info=REGISTRY["anthropic"])


@pytest.mark.parametrize("value", HOSTILE)
def test_env_sh_quotes_values_so_sourcing_runs_nothing(tmp_path, value):
    (tmp_path / "env.sh").write_text(render_client_template("env.sh", [EnvVar("ANTHROPIC_DEFAULT_OPUS_MODEL",
                                                                               value, "doc")]))
    out = subprocess.run(["sh", "-c", '. ./env.sh 2>/dev/null; printf %s "$ANTHROPIC_DEFAULT_OPUS_MODEL"'],
                         cwd=tmp_path, env=clean_env(tmp_path), capture_output=True, text=True, timeout=30, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout == value
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("value", HOSTILE)
def test_settings_json_round_trips_any_value(value):
    rendered = render_client_template("settings.json", [EnvVar("ANTHROPIC_DEFAULT_OPUS_MODEL", value, "doc")])
    assert json.loads(rendered)["env"] == {"ANTHROPIC_DEFAULT_OPUS_MODEL": value}


# -------------------------------------------------------------------------------------------------------
# Secrets
# -------------------------------------------------------------------------------------------------------
def test_no_secret_from_the_environment_lands_in_the_project(template_repo, tmp_path):
    secret = "sk-ant-api03-SECRET-must-not-be-written"
    dest = tmp_path / "project"
    env = clean_env(tmp_path, ANTHROPIC_API_KEY=secret, ANTHROPIC_AUTH_TOKEN=secret + "-token")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "copier"), "copy", "--trust", "--defaults",
         "--data", "anthropic_base_url=http://127.0.0.1:8080", str(template_repo), str(dest)],
        env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    files = [p for p in dest.rglob("*") if p.is_file()]
    assert any(p.name == ".copier-answers.yml" for p in files)
    for path in files:
        assert secret not in path.read_text(), path


# -------------------------------------------------------------------------------------------------------
# What copier's own casts and validators let through: the hook stops the run in one line, nothing written
# -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("data", "message"), [
    ({"cost_tracking": "flase"}, "cost_tracking: 'flase' is not a yes/no answer; expected true or false"),
    ({"cost_tracking": True, "gateway_port": "abc"}, "gateway_port: 'abc' is not a whole number; expected digits"),
    ({"providers": "anthropic"}, "providers: 'anthropic' is not a list; expected a YAML list such as [anthropic]"),
    ({"providers": ["bedrock"], "aws_region": "mars-1"}, "aws_region: 'mars-1' is not a region where AWS Bedrock"),
    ({"providers": ["vertex"]}, "gcp_project_id: empty; Vertex AI needs your Google Cloud project id"),
    ({"cost_tracking": True, "gateway_runtime": "k8s"}, "gateway_runtime: 'k8s' is not one of the choices"),
    ({"anthropic_base_url": "https://llm.example.com/?token=hunter2-secret"}, ("anthropic_base_url: 'https://llm."
                                                                               "example.com/?***' contains")),
    ({"corporate_proxy": True, "proxy_url": "http://proxy.example.com:8080", "proxy_username": "bob\u2028x"},
     "proxy_username: 'bob\\u2028x' contains a line separator (U+2028)"),
    ({"corporate_proxy": "yes please", "proxy_url": "http://proxy.example.com:8080"},
     "corporate_proxy: 'yes please' is not a yes/no answer"),
    ({"customize_models": "maybe"}, "customize_models: 'maybe' is not a yes/no answer"),
], ids=["bool-typo", "port-text", "providers-text", "region", "required", "choice", "url-secret", "separator",
        "bool-sentence", "bool-unknown"])
def test_bad_answers_given_are_rejected_in_one_line_and_nothing_is_written(template_repo, tmp_path, data, message):
    """copier's casts turn `flase` into true and `abc` into a traceback, and its validators print one for a value
    given with --data: the hook checks the answers as given first."""
    dest = tmp_path / "existing"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine\n")
    result = run_copier_cli(template_repo, dest, data=data)
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr
    assert message in [line for line in result.stderr.splitlines() if line.strip()][-1], result.stderr
    assert sorted(p.name for p in dest.iterdir()) == ["notes.txt"]  # nothing written into an existing folder
    assert "hunter2" not in result.stderr


def test_copy_into_a_folder_with_files_the_template_writes_is_refused_before_writing(template_repo, tmp_path):
    """copier stops at its first conflict without a terminal to ask on, after writing the files before it."""
    dest = tmp_path / "existing"
    (dest / "client").mkdir(parents=True)
    (dest / "client" / "env.sh").write_text("mine\n")
    result = run_copier_cli(template_repo, dest, data={})
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "already has 1 file(s) this template writes (client/env.sh); nothing was written" in result.stderr
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*")) == ["client", "client/env.sh"]
    assert (dest / "client" / "env.sh").read_text() == "mine\n"


@pytest.mark.parametrize("overwrite", [False, True], ids=["plain", "overwrite"])
@pytest.mark.parametrize("blocker", ["client", "scripts/lib", "client/env.sh/"],
                         ids=["file-for-folder", "nested-file-for-folder", "folder-for-file"])
def test_copy_where_a_template_folder_is_a_file_is_refused_before_writing(template_repo, tmp_path, blocker,
                                                                           overwrite):
    """copier would write every file before the one in the way, then stop with a traceback; --overwrite too."""
    dest = tmp_path / "existing"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine\n")
    if blocker.endswith("/"):
        (dest / blocker).mkdir(parents=True)
    else:
        (dest / blocker).parent.mkdir(parents=True, exist_ok=True)
        (dest / blocker).write_text("mine\n")
    before = sorted(str(p.relative_to(dest)) for p in dest.rglob("*"))
    result = run_copier_cli(template_repo, dest, *(["--overwrite"] if overwrite else []), data={})
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    last = [line for line in result.stderr.splitlines() if line.strip()][-1]
    kind = "a folder where the template writes a file" if blocker.endswith("/") else \
        "a file where the template has a folder"
    assert f"cannot write this template's files there: {blocker.rstrip('/')} ({kind}); nothing was written" in last
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*")) == before


def test_bind_address_with_a_zone_id_is_rejected(template_repo, tmp_path):
    """Python's IP parser accepts any text after % (an IPv6 zone id); it would reach shell defaults unquoted."""
    last = rejected(template_repo, tmp_path, cost_tracking=True, gateway_bind="::1%$(touch PWNED)",
                    gateway_url="http://[::1]:4000")
    assert "gateway_bind: '::1%$(touch PWNED)' is not an IP address to listen on" in last
    # copier runs from tmp_path (generated.rejected), so a canary would land here; it used to run from pytest's
    # directory while the canary was looked for here. Quoting in the rendered scripts: test_hostile_answers.py.
    assert not list(tmp_path.rglob("PWNED"))


@pytest.mark.parametrize("value", ["yes", "No", "on", "0", "TRUE"])
def test_yes_no_words_are_accepted(template_repo, tmp_path, value):
    result = run_copier_cli(template_repo, tmp_path / "project", data={"disable_nonessential_traffic": value})
    assert result.returncode == 0, result.stderr

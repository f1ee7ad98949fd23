"""gateway/access.yaml and the spend reports, as units: the generated scripts/lib/access.py and usage_report.py are
copied verbatim from template/, so they are imported from there. Reading and checking the file (one line per
problem, naming the entry), the plan a sync makes against a server's teams and keys, and the report's rows.
The same code runs live in tests/test_live_access.py."""

from __future__ import annotations

import io
import json

import pytest
from template_lib import load

gateway_api = load("gateway_api")
access_file = load("access_file")  # the library access.py imports, under its rendered names
access_sync = load("access_sync")
access = load("access")
report_format = load("report_format")  # usage_report.py imports it
load("html_report")  # ... and this (--format html)
usage_report = load("usage_report")

MODELS = ["claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"]
SUFFIX = " (more budget: #llm)"


def problems(data, models=MODELS) -> list[str]:
    with pytest.raises(access.AccessFileError) as error:
        access.parse(data, models)
    return error.value.problems


# ---------------------------------------------------------------------------------------------------------------
# Reading access.yaml
# ---------------------------------------------------------------------------------------------------------------
def test_a_full_file_reads_into_litellm_terms():
    parsed = access.parse({"teams": {"platform": {"budget": {"usd": 500, "period": "monthly"}, "rpm_limit": 600,
                                                  "tpm_limit": 100000}},
                           "developers": {"alice@example.com": {"team": "platform",
                                                                "budget": {"usd": 12.5, "period": "2w"},
                                                                "models": ["claude-sonnet-5-5"]}}}, MODELS)
    platform, alice = parsed.teams["platform"], parsed.developers["alice@example.com"]
    assert platform.litellm_fields() == {"max_budget": 500.0, "budget_duration": "1mo", "rpm_limit": 600,
                                         "tpm_limit": 100000, "models": []}
    assert (alice.team, alice.max_budget, alice.budget_duration, alice.models) == (
        "platform", 12.5, "2w", ["claude-sonnet-5-5"])


@pytest.mark.parametrize("data", [None, {}, {"teams": None, "developers": None}, {"teams": {}, "developers": {}}])
def test_an_empty_file_means_no_one(data):
    parsed = access.parse(data or {}, MODELS)
    assert parsed.teams == {} and parsed.developers == {}


@pytest.mark.parametrize(("period", "duration"), [("daily", "1d"), ("weekly", "7d"), ("monthly", "1mo"),
                                                  ("30d", "30d"), ("12h", "12h"), ("1mo", "1mo"), (None, None)])
def test_budget_periods(period, duration):
    budget = {"usd": 5} if period is None else {"usd": 5, "period": period}
    assert access.parse({"developers": {"a": {"budget": budget}}}, MODELS).developers["a"].budget_duration == duration


@pytest.mark.parametrize(("data", "expected"), [
    ([], "access.yaml: must be a mapping with `teams:` and `developers:`, not a list"),
    ({"team": {}}, "access.yaml: team: unknown section; access.yaml has `teams:` and `developers:`"),
    ({"teams": ["platform"]}, "access.yaml: teams: must be a mapping of names to settings, not a list"),
    ({"developers": {"a b": {}}}, "access.yaml: developers.a b: the name 'a b' must be 1 to 64 letters"),
    ({"developers": {"-x": {}}}, "access.yaml: developers.-x: the name '-x' must be"),
    ({"developers": {"a": "platform"}}, "access.yaml: developers.a: must be a mapping of settings"),
    ({"developers": {"a": {"budget": 50}}}, "access.yaml: developers.a.budget: 50 must be a mapping like"),
    ({"developers": {"a": {"budget": {"usd": -1}}}},
     "access.yaml: developers.a.budget.usd: -1 must be a number of US dollars above 0 and at most 1,000,000,000"),
    ({"developers": {"a": {"budget": {"usd": True}}}}, "access.yaml: developers.a.budget.usd: True must be a number of US dollars above 0"),
    ({"developers": {"a": {"budget": {"usd": float("nan")}}}}, "access.yaml: developers.a.budget.usd: nan must be"),
    ({"developers": {"a": {"budget": {"usd": 5, "period": "fortnightly"}}}},
     "access.yaml: developers.a.budget.period: 'fortnightly' must be daily, weekly, monthly, or a LiteLLM duration"),
    ({"developers": {"a": {"budget": {"usd": 5, "every": "day"}}}},
     "access.yaml: developers.a.budget.every: unknown setting; a budget has usd and period"),
    ({"developers": {"a": {"rpm_limit": 0}}},
     "access.yaml: developers.a.rpm_limit: 0 must be a whole number of requests per minute, from 1 to 2147483647"),
    ({"developers": {"a": {"tpm_limit": "10k"}}}, "access.yaml: developers.a.tpm_limit: '10k' must be a whole number of tokens"),
    ({"developers": {"a": {"models": "claude-opus-5-5"}}},
     "access.yaml: developers.a.models: 'claude-opus-5-5' must be a list of model names"),
    ({"developers": {"a": {"models": ["gpt-4"]}}},
     ("access.yaml: developers.a.models: 'gpt-4' not a model of this gateway (claude-opus-5-5, claude-sonnet-5-5, "
      "claude-haiku-5-5)")),
    ({"developers": {"a": {"budgett": 5}}},
     "access.yaml: developers.a.budgett: unknown setting; a developer has team, budget, rpm_limit, tpm_limit, models"),
    ({"teams": {"t": {"team": "x"}}}, "access.yaml: teams.t.team: unknown setting; a team has budget"),
    ({"developers": {"a": {"team": "nope"}}},
     "access.yaml: developers.a.team: 'nope' is not one of the teams in this file (none)"),
    ({"teams": {"t": {"models": ["claude-haiku-5-5"]}}, "developers": {"a": {"team": "t",
                                                                             "models": ["claude-opus-5-5"]}}},
     "access.yaml: developers.a.models: claude-opus-5-5 not allowed to team t (claude-haiku-5-5)"),
])
def test_each_problem_is_one_line_naming_the_entry(data, expected):
    found = problems(data)
    assert any(line.startswith(expected) for line in found), found
    assert all("\n" not in line for line in found)


def test_every_problem_is_reported_at_once():
    found = problems({"teams": {"t": {"rpm_limit": -1}}, "developers": {"a": {"team": "x"}, "b": {"models": 3}}})
    assert len(found) == 3, found


def test_a_name_given_twice_is_refused(tmp_path):
    path = tmp_path / "access.yaml"
    path.write_text("developers:\n  alice: {}\n  alice: {budget: {usd: 5}}\n")
    with pytest.raises(access.AccessFileError) as error:
        access.load(path, MODELS)
    assert error.value.problems == [f"{path} (line 3): not valid YAML: 'alice' is given twice"]


def test_broken_yaml_names_the_line(tmp_path):
    path = tmp_path / "access.yaml"
    path.write_text("developers:\n  alice: {budget: \n")
    with pytest.raises(access.AccessFileError) as error:
        access.load(path, MODELS)
    assert error.value.problems[0].startswith(f"{path} (line ") and "not valid YAML" in error.value.problems[0]


def test_the_sample_file_reads_as_no_one_and_lists_the_models(capsys):
    assert access.main(["sample", "--models", json.dumps(MODELS)]) == 0
    text = capsys.readouterr().out
    assert "# Models of this gateway: claude-opus-5-5, claude-sonnet-5-5, claude-haiku-5-5" in text
    import yaml

    parsed = access.parse(yaml.safe_load(text), MODELS)
    assert parsed.teams == {} and parsed.developers == {}
    # Uncommenting the examples gives a valid file.
    _header, body = text.split("\nteams:")
    uncommented = access.parse(yaml.safe_load("teams:" + body.replace("\n#  ", "\n  ")), MODELS)
    assert set(uncommented.teams) == {"platform"} and uncommented.developers["alice"].team == "platform"


# ---------------------------------------------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------------------------------------------
MANAGED = {"managed_by": access.MANAGED_BY}
FILE = {"teams": {"platform": {"budget": {"usd": 500, "period": "monthly"}}},
        "developers": {"alice": {"team": "platform", "budget": {"usd": 50, "period": "monthly"}}}}


def server_key(user_id, managed=True, **fields):
    return {"token": f"hash-{user_id}", "key_name": f"sk-...{user_id[:4]}", "user_id": user_id,
            "key_alias": user_id + SUFFIX, "team_id": None, "max_budget": None, "budget_duration": None,
            "rpm_limit": None, "tpm_limit": None, "models": [], "metadata": MANAGED if managed else {}, **fields}


def plan(data, teams=(), keys=(), prune=False):
    return access.plan(access.parse(data, MODELS), list(teams), list(keys), SUFFIX, prune)


def test_an_empty_server_gets_everything_created():
    changes = plan(FILE)
    assert [c.action for c in changes] == ["create-team", "create-key"]
    team, key = changes
    assert team.body == {"team_id": "platform", "team_alias": "platform", "max_budget": 500.0,
                         "budget_duration": "1mo", "rpm_limit": None, "tpm_limit": None, "models": [],
                         "metadata": MANAGED}
    assert key.body["user_id"] == "alice" and key.body["team_id"] == "platform"
    assert key.body["key_alias"] == "alice" + SUFFIX
    assert key.body["metadata"] == {**MANAGED, "key_delivery": "pending"}  # until it is delivered


def test_a_server_that_matches_gets_no_change():
    teams = [{"team_id": "platform", "max_budget": 500, "budget_duration": "1mo", "rpm_limit": None,
              "tpm_limit": None, "models": [], "metadata": MANAGED}]
    keys = [server_key("alice", team_id="platform", max_budget=50.0, budget_duration="1mo")]
    assert plan(FILE, teams, keys) == []


def test_changes_are_updates_of_the_same_key_naming_old_and_new():
    keys = [server_key("alice", team_id="platform", max_budget=20.0, budget_duration="1mo", rpm_limit=5)]
    teams = [{"team_id": "platform", "max_budget": 500, "budget_duration": "1mo", "metadata": MANAGED}]
    (change,) = plan(FILE, teams, keys)
    assert change.action == "update-key"
    assert change.body == {"key": "hash-alice", "max_budget": 50.0, "rpm_limit": None}
    assert change.line() == "update developer alice  max_budget 20.0 -> 50.0, rpm_limit 5 -> none"


def test_what_is_only_on_the_server_is_reported_and_pruned_only_if_ours():
    keys = [server_key("bob"), server_key("outsider", managed=False)]
    teams = [{"team_id": "old", "metadata": MANAGED}, {"team_id": "ui-made", "metadata": {}}]
    kept = plan({}, teams, keys)
    assert [(c.action, c.what) for c in kept] == [("only-on-server", "developer bob"), ("only-on-server", "team old"),
                                                   ("only-on-server", "1 other key(s)")]
    assert "--prune removes it" in kept[0].detail and "never touched" in kept[2].detail
    pruned = plan({}, teams, keys, prune=True)
    assert [(c.action, c.body) for c in pruned if c.action != "only-on-server"] == [
        ("delete-key", {"keys": ["hash-bob"]}), ("delete-team", {"team_ids": ["old"]})]
    assert all("outsider" not in json.dumps(c.body) and "ui-made" not in json.dumps(c.body) for c in pruned)


def test_a_team_holding_keys_made_elsewhere_is_never_pruned():
    """LiteLLM deletes a team's keys with the team: a key the sync did not create would go too."""
    keys = [server_key("outsider", managed=False, team_id="old")]
    pruned = plan({}, [{"team_id": "old", "metadata": MANAGED}], keys, prune=True)
    assert [c.action for c in pruned] == ["only-on-server", "only-on-server"]
    assert "holds 1 key(s) not created from it; not deleted" in pruned[0].detail


def test_a_team_of_the_same_name_made_elsewhere_is_left_alone():
    (change, _) = plan(FILE, [{"team_id": "platform", "metadata": {}}])
    assert change.action == "only-on-server" and "not created from access.yaml" in change.detail


class FakeAPI:
    def __init__(self):
        self.calls = []

    def call(self, method, path, body=None, query=None, text=False):
        self.calls.append((path, body))
        return {"key": "sk-newkey-for-" + body.get("user_id", "")} if path == "/key/generate" else {}


def test_apply_creates_teams_before_keys_and_writes_each_key_once(tmp_path):
    api, said = FakeAPI(), []
    keys_dir = tmp_path / "keys"
    changes = plan(FILE)
    access.apply(list(reversed(changes)), api, access.KeyDelivery(keys_dir), said.append)
    assert [path for path, _ in api.calls] == ["/team/new", "/key/generate", "/key/update"]
    assert api.calls[-1][1] == {"key": "sk-newkey-for-alice", "metadata": MANAGED}  # delivered: mark removed
    assert (keys_dir / "alice.key").read_text() == "sk-newkey-for-alice\n"
    assert oct((keys_dir / "alice.key").stat().st_mode & 0o777) == "0o600"
    assert not any("sk-newkey" in line for line in said)
    # A key file not handed over yet is never overwritten, and no second key is made for it.
    api.calls.clear()
    access.apply(plan({"developers": {"alice": {}}}), api, access.KeyDelivery(keys_dir), said.append)
    assert api.calls == [] and "already exists" in said[-1]


def test_print_keys_puts_the_key_on_stdout_only(capsys):
    access.apply(plan({"developers": {"bob": {}}}), FakeAPI(), access.KeyDelivery(None), lambda line: None)
    assert capsys.readouterr().out == "bob\tsk-newkey-for-bob\n"


# ---------------------------------------------------------------------------------------------------------------
# The gateway API's messages, and the reports
# ---------------------------------------------------------------------------------------------------------------
def test_server_messages_are_one_line_and_never_carry_a_key():
    body = json.dumps({"error": {"message": "Authentication Error, Invalid key sk-abcdefghijklmnop\npassed"}})
    assert gateway_api._message(body) == "Authentication Error, Invalid key sk-… passed"
    assert gateway_api._message("<html>oops</html>") == "<html>oops</html>"


def test_a_gateway_that_does_not_answer_is_named(monkeypatch):
    api = gateway_api.GatewayAPI("http://127.0.0.1:9", "sk-secret-value-123", timeout=5)
    with pytest.raises(gateway_api.GatewayError) as error:
        api.call("GET", "/team/list")
    assert str(error.value).startswith("GET http://127.0.0.1:9/team/list did not answer")
    assert "sk-secret" not in str(error.value)


DAY = {"date": "2026-11-28", "breakdown": {
    "api_keys": {
        "h1": {"metrics": {"spend": 0.5, "api_requests": 2, "prompt_tokens": 10, "completion_tokens": 5,
                           "cache_read_input_tokens": 100, "cache_creation_input_tokens": 20},
               "metadata": {"user_id": "alice", "team_id": "platform"}},
        "h2": {"metrics": {"spend": 0.25, "api_requests": 1, "prompt_tokens": 4, "completion_tokens": 2},
               "metadata": {"user_id": "bob", "team_id": "platform"}},
        "litellm_proxy_master_key": {"metrics": {"spend": 0.1, "api_requests": 1},
                                     "metadata": {"user_id": "default_user_id", "team_id": None}}},
    "model_groups": {"claude-opus-5-5": {"metrics": {"spend": 0.85, "api_requests": 4}}}}}


def test_daily_rows_per_developer_team_and_model():
    developers = usage_report.records(usage_report.from_daily_activity([DAY, DAY], "developer"), "developer",
                                      {"alice": 49.0, "bob": None})
    by_name = {row["developer"]: row for row in developers}
    assert by_name["alice"] == {"developer": "alice", "team": "platform", "requests": 4, "spend_usd": 1.0,
                                "input_tokens": 20, "output_tokens": 10, "cache_read_tokens": 200,
                                "cache_creation_tokens": 40, "budget_left_usd": 49.0}
    assert by_name["bob"]["budget_left_usd"] is None and "(master key)" in by_name
    teams = usage_report.records(usage_report.from_daily_activity([DAY], "team"), "team", {"platform": 10.0})
    assert {row["team"]: (row["developers"], row["requests"]) for row in teams} == {
        "platform": (2, 3), "(no team)": (1, 1)}
    models = usage_report.records(usage_report.from_daily_activity([DAY], "model"), "model", None)
    assert models == [{"model": "claude-opus-5-5", "requests": 4, "spend_usd": 0.85, "input_tokens": 0,
                       "output_tokens": 0, "cache_read_tokens": 0, "cache_creation_tokens": 0}]


def test_budget_left_sums_a_developers_keys_and_no_budget_wins():
    keys = [{"user_id": "a", "max_budget": 10, "spend": 4}, {"user_id": "a", "max_budget": 5, "spend": 9},
            {"user_id": "b", "max_budget": 10, "spend": 1}, {"user_id": "b", "max_budget": None}]
    assert usage_report.budgets_left("developer", keys, []) == {"a": 6.0, "b": None}
    assert usage_report.budgets_left("team", [], [{"team_id": "t", "max_budget": 3, "spend": 1}]) == {"t": 2.0}


METRICS = """\
# HELP litellm_spend_metric_total Total spend
litellm_spend_metric_total{end_user="dana",hashed_api_key="88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",api_key_alias="None",model="claude-opus-5-5"} 0.5
litellm_spend_metric_total{end_user="None",hashed_api_key="88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",api_key_alias="None",model="claude-opus-5-5"} 0.25
litellm_requests_metric_total{end_user="dana",hashed_api_key="88dc28d0f030",api_key_alias="alice (more budget: #llm)",model="claude-opus-5-5"} 3
litellm_input_cached_tokens_metric_total{end_user="dana",model="claude-opus-5-5"} 100
"""


def test_metrics_rows_per_developer_model_and_key():
    developers = {row["developer"]: row for row in
                  usage_report.records(usage_report.from_metrics(METRICS, "developer", " (more budget: "),
                                       "developer", None)}
    assert developers["dana"]["spend_usd"] == 0.5 and developers["dana"]["requests"] == 3
    assert developers["dana"]["cache_read_tokens"] == 100
    assert developers["(no end-user id sent)"]["spend_usd"] == 0.25
    models = usage_report.from_metrics(METRICS, "model", " (more budget: ")
    assert models["claude-opus-5-5"]["spend_usd"] == 0.75
    keys = usage_report.from_metrics(METRICS, "key", " (more budget: ")
    assert "88dc28d0f030  alice" in keys


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_output_formats(fmt):
    rows = [{"developer": "alice", "team": "platform", "requests": 2, "spend_usd": 0.5, "budget_left_usd": None}]
    out = io.StringIO()
    usage_report.write(out, rows, fmt, "per developer, 2026-11-22 to 2026-11-28 (UTC days)")
    text = out.getvalue()
    if fmt == "json":
        assert json.loads(text) == rows
    elif fmt == "csv":
        assert text == "developer,team,requests,spend_usd,budget_left_usd\nalice,platform,2,0.5,\n"
    else:
        assert text.splitlines()[0] == "per developer, 2026-11-22 to 2026-11-28 (UTC days)"
        assert text.splitlines()[2].split() == ["alice", "platform", "2", "0.500000", "no", "limit"]


def test_an_empty_period_says_so():
    out = io.StringIO()
    usage_report.write(out, [], "table", "per team, 2020-01-01 to 2020-01-31 (UTC days)")
    assert out.getvalue() == "per team, 2020-01-01 to 2020-01-31 (UTC days): no requests recorded\n"

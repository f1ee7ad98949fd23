"""gateway/access.yaml for the Claude apps gateway as a library (scripts/lib/apps_access_file.py, apps_access.py,
apps_gateway_config.py and apps_usage_report.py of a generated project): the file's rules, the limits plan, the
fragment merge, the spend report's sums; and LiteLLM's access file naming the engine whose sections it refuses."""

from __future__ import annotations

import io

import pytest
from template_lib import load

MODELS = ["claude-opus", "claude-sonnet", "claude-haiku"]
access_file = load("apps_access_file")
apps_access = load("apps_access")
config = load("apps_gateway_config")
litellm_file = load("access_file")
report_format = load("report_format")  # apps_usage_report.py imports it
load("html_report")  # ... and this (--format html)
usage_report = load("apps_usage_report")


def test_a_whole_file_becomes_limits_and_group_policies():
    access = access_file.parse({
        "organization": {"budget": {"usd": 1000, "period": "monthly"}},
        "groups": {"eng": {"budget": {"usd": 0.25, "period": "weekly"}},
                   "sales": {"models": ["claude-haiku"], "policy": {"env": {"A": "1"}}}},
        "users": {"a@example.com": {"budget": {"usd": 0, "period": "daily"}}}}, MODELS)
    assert access.limits() == {("organization", "", "monthly"): 100000, ("rbac_group", "eng", "weekly"): 25,
                               ("user", "a@example.com", "daily"): 0}
    assert access.policies() == [{"match": {"groups": ["sales"]}, "cli": {
        "env": {"A": "1"}, "availableModels": ["claude-haiku"], "enforceAvailableModels": True}}]


@pytest.mark.parametrize("data, line", [
    ({"teams": {}}, "access.yaml: teams: a LiteLLM section, which the Claude apps gateway cannot enforce; use groups:"),
    ({"users": {"a@example.com": {"rpm_limit": 5}}},
     "access.yaml: users.a@example.com.rpm_limit: the Claude apps gateway has no rate limits"),
    ({"users": {"alice": {}}}, "access.yaml: users.alice: 'alice' must be an email address"),
    ({"users": {"a@example.com": {"models": ["claude-haiku"]}}},
     "access.yaml: users.a@example.com.models: the Claude apps gateway allows models per IdP group"),
    ({"groups": {"eng": {"models": ["gpt-4"]}}}, "access.yaml: groups.eng.models: 'gpt-4' not a model of this gateway"),
    ({"groups": {"eng": {"budget": {"usd": 1.234, "period": "daily"}}}}, "access.yaml: groups.eng.budget.usd: 1.234"),
    ({"groups": {"eng": {"budget": {"usd": 1, "period": "30d"}}}}, "access.yaml: groups.eng.budget.period: '30d'"),
    ({"groups": {"eng": {"policy": {"availableModels": []}}}}, "access.yaml: groups.eng.policy.availableModels: list the group"),
])
def test_what_the_engine_cannot_enforce_is_refused_in_one_line_naming_the_entry(data, line):
    with pytest.raises(access_file.AccessFileError) as refused:
        access_file.parse(data, MODELS)
    assert len(refused.value.problems) == 1 and refused.value.problems[0].startswith(line), refused.value.problems


def test_litellm_names_the_engine_whose_sections_it_refuses():
    with pytest.raises(litellm_file.AccessFileError) as refused:
        litellm_file.parse({"groups": {"eng": {"policy": {}}}}, MODELS)
    assert refused.value.problems == [("access.yaml: groups: a Claude apps gateway section (IdP groups, their "
                                       "policies, users by email), which LiteLLM cannot enforce; access.yaml for "
                                       "LiteLLM has `teams:` and `developers:`")]


def test_the_plan_updates_creates_and_prunes_only_the_syncs_own_limits():
    current = [{"id": "spl_1", "scope": {"type": "user", "user_id": "a@x"}, "amount": "100", "period": "daily"},
               {"id": "spl_2", "scope": {"type": "rbac_group", "rbac_group_id": "g"}, "amount": "5", "period": "daily"},
               {"id": "spl_3", "scope": {"type": "organization"}, "amount": "9", "period": "monthly"}]
    actors = apps_access.last_actors([
        {"id": "1", "target_id": "spl_2", "actor": "admin-key:write"},
        {"id": "2", "target_id": "spl_2", "actor": apps_access.ACTOR},
        {"id": "3", "target_id": "spl_3", "actor": apps_access.ACTOR},
        {"id": "4", "target_id": "spl_3", "actor": "admin-key:write"}])
    changes = apps_access.plan({("user", "a@x", "daily"): 200, ("user", "b@x", "weekly"): 1}, current, actors, True)
    assert [(c.action, c.key) for c in changes] == [
        ("update", ("user", "a@x", "daily")), ("create", ("user", "b@x", "weekly")),
        ("delete", ("rbac_group", "g", "daily")), ("only-on-server", ("organization", "", "monthly"))]
    assert changes[0].line() == "update limit user a@x daily $1.00 -> $2.00"


def test_the_fragment_goes_before_the_templates_policies_and_nothing_else_comes_from_it():
    base = {"managed": {"policies": [{"match": {}, "cli": {"env": {"PIN": "1"}}}]}, "models": [{"id": "m"}],
            "listen": {"port": 1}}
    fragment = {"managed": {"policies": [{"match": {"groups": ["g"]}, "cli": {}}]}}
    merged = config.merge(base, fragment)
    assert [p["match"] for p in merged["managed"]["policies"]] == [{"groups": ["g"]}, {}]
    assert merged["listen"] == {"port": 1} and base["managed"]["policies"][0]["match"] == {}
    for bad in ({"listen": {}}, {"models": [{"id": "m"}]}, {"managed": {"policies": [{"match": {}}]}}):
        with pytest.raises(config.ConfigError):
            config.merge(base, bad)


def test_the_report_takes_the_tightest_limit_left_and_formats_like_litellms():
    effective = [{"scope": {"type": "user", "user_id": "a@x.test"}, "amount": "5.00", "period": "daily",
                  "period_to_date_spend": "1.5"},
                 {"scope": {"type": "user", "user_id": "a@x.test"}, "amount": "3.00", "period": "weekly",
                  "period_to_date_spend": "2.75"},
                 {"scope": {"type": "user", "user_id": "b@x.test"}, "amount": None, "period": "daily",
                  "period_to_date_spend": "9"}]
    left = usage_report.limits_left(effective)
    assert left == {"a@x.test": 0.25}
    rows = usage_report.records({"b@x.test": 9.0, "a@x.test": 4.25, "=cmd|x": 1.0}, "developer", left)
    assert [r["developer"] for r in rows] == ["=cmd|x", "a@x.test", "b@x.test"]
    assert rows[1] == {"developer": "a@x.test", "spend_usd": 4.25, "limit_left_usd": 0.25}
    out = io.StringIO()
    usage_report.write(out, rows, "csv", "t")
    assert out.getvalue().splitlines() == ["developer,spend_usd,limit_left_usd", "'=cmd|x,1.0,",
                                           "a@x.test,4.25,0.25", "b@x.test,9.0,"]
    out = io.StringIO()
    usage_report.write(out, rows, "table", "per developer")
    assert "no limit" in out.getvalue()

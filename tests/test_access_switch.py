"""gateway/access.yaml carried between gateway engines (scripts/lib/access_switch.py, which scripts/migrate.sh --engine
runs): what carries, one exact line for each thing that does not, and the suggested file is one the target engine's
own access-file reader accepts."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from template_lib import LIB, load

switch = load("access_switch")
apps_file = load("apps_access_file")
litellm_file = load("access_file")
MODELS = ["claude-opus-5-5", "claude-sonnet-4-5", "claude-haiku-4-5"]
SCRIPT = next(LIB.glob("*access_switch.py*"))

LITELLM_ACCESS = {
    "teams": {"platform": {"budget": {"usd": 500, "period": "monthly"}, "rpm_limit": 600,
                           "models": ["claude-opus-5-5"]},
              "research": {"budget": {"usd": 100}},
              "ops": {"budget": {"usd": 12.5, "period": "7d"}, "tpm_limit": 100000}},
    "developers": {"alice@example.com": {"team": "platform", "budget": {"usd": 50, "period": "monthly"},
                                         "rpm_limit": 60},
                   "carol@example.com": {"budget": {"usd": 0.001, "period": "daily"},
                                         "models": ["claude-haiku-4-5"]},
                   "dave@example.com": None,
                   "bob": {"team": "research", "budget": {"usd": 20, "period": "30d"}}},
}


def test_litellm_teams_and_developers_become_groups_and_users_and_the_rest_is_listed_one_line_each():
    sections, lost = switch.convert(LITELLM_ACCESS, "claude_apps_gateway")
    assert sections == {
        "groups": {"platform": {"budget": {"usd": 500, "period": "monthly"}, "models": ["claude-opus-5-5"]},
                   "research": {},
                   "ops": {"budget": {"usd": 12.5, "period": "weekly"}}},
        "users": {"alice@example.com": {"budget": {"usd": 50, "period": "monthly"}},
                  "carol@example.com": {}, "dave@example.com": {}}}
    assert lost == [
        ("teams.platform.rpm_limit: 600 per minute; the Claude apps gateway has no rate limits (spend limits only); "
         "not carried"),
        ("teams.research.budget: $100 never resets; the Claude apps gateway's budgets reset daily, weekly or monthly; "
         "not carried"),
        ("teams.ops.tpm_limit: 100000 per minute; the Claude apps gateway has no rate limits (spend limits only); "
         "not carried"),
        ("developers.alice@example.com.team: platform; the Claude apps gateway takes group membership from your "
         "identity provider: put alice@example.com in its group platform there; not carried"),
        ("developers.alice@example.com.rpm_limit: 60 per minute; the Claude apps gateway has no rate limits (spend "
         "limits only); not carried"),
        ("developers.carol@example.com.budget: $0.001 has part of a cent; the Claude apps gateway counts whole cents; "
         "not carried"),
        ("developers.carol@example.com.models: ['claude-haiku-4-5']; the Claude apps gateway allows models per IdP "
         "group, not per user; not carried"),
        ("developers.bob: not an email address; the Claude apps gateway knows developers by the email their identity "
         "provider sends: add them under users by email (team research, budget $20 30d); not carried")]
    # What is carried is what the apps gateway's own reader accepts.
    apps_file.parse(sections, MODELS)


APPS_ACCESS = {
    "organization": {"budget": {"usd": 5000, "period": "monthly"}},
    "groups": {"engineering": {"models": ["claude-sonnet-4-5"], "policy": {"env": {"A": "1"}},
                               "budget": {"usd": 500, "period": "weekly"}},
               "Sales Team": {"budget": {"usd": 10, "period": "daily"}}},
    "users": {"alice@example.com": {"budget": {"usd": 50, "period": "daily"}},
              "blocked@example.com": {"budget": {"usd": 0, "period": "daily"}},
              "a+tag@example.com": None},
}


def test_apps_groups_and_users_become_teams_and_developers_and_the_rest_is_listed_one_line_each():
    sections, lost = switch.convert(APPS_ACCESS, "litellm")
    assert sections == {
        "teams": {"engineering": {"models": ["claude-sonnet-4-5"], "budget": {"usd": 500, "period": "weekly"}}},
        "developers": {"alice@example.com": {"budget": {"usd": 50, "period": "daily"}}}}
    assert lost == [
        ("organization.budget: $5000 monthly for everyone; LiteLLM's access.yaml has no budget for everyone; "
         "not carried"),
        ("groups.engineering.policy: Claude Code settings per group; LiteLLM serves none (client/settings.json holds "
         "the team's settings); not carried"),
        ("groups.engineering members: they come from your identity provider; give each developer team: engineering "
         "by hand; not carried"),
        ("groups.Sales Team: a name LiteLLM cannot give a team (1 to 64 letters, digits and . _ @ -, not starting "
         "with litellm); not carried"),
        ("users.blocked@example.com.budget: $0 blocks them; LiteLLM's budgets are above 0 (give no key instead); "
         "not carried"),
        ("users.a+tag@example.com: a name LiteLLM cannot give a developer (1 to 64 letters, digits and . _ @ -); "
         "not carried")]
    litellm_file.parse(sections, MODELS)


def test_a_round_trip_keeps_what_both_engines_have():
    there, _ = switch.convert(LITELLM_ACCESS, "claude_apps_gateway")
    back, lost = switch.convert(there, "litellm")
    assert back["teams"]["platform"] == {"budget": {"usd": 500, "period": "monthly"}, "models": ["claude-opus-5-5"]}
    assert back["developers"]["alice@example.com"] == {"budget": {"usd": 50, "period": "monthly"}}
    assert lost == [f"groups.{name} members: they come from your identity provider; give each developer team: "
                    f"{name} by hand; not carried" for name in ("platform", "research", "ops")]


@pytest.mark.parametrize("data, target, line", [
    ({"groups": {}}, "claude_apps_gateway",
     "groups: already a section of the Claude apps gateway: review it by hand; not carried"),
    ({"teams": [1]}, "claude_apps_gateway", "teams: [1] is not a mapping of names to settings; not carried"),
    ({"teams": {"t": {"budget": {"usd": 5, "period": "2w"}}}}, "claude_apps_gateway",
     "teams.t.budget: $5 every 2w; the Claude apps gateway's budgets reset daily, weekly or monthly; not carried"),
    ({"teams": {"t": {"colour": "red"}}}, "claude_apps_gateway", "teams.t.colour: unknown setting; not carried"),
    ({"groups": {"litellm-admins": {}}}, "litellm",
     ("groups.litellm-admins: a name LiteLLM cannot give a team (1 to 64 letters, digits and . _ @ -, not starting "
      "with litellm); not carried")),
    ({"extra": 1}, "litellm", "extra: unknown section; not carried"),
])
def test_odd_entries_are_listed_never_dropped(data, target, line):
    assert line in switch.convert(data, target)[1]


def test_an_empty_file_carries_nothing_and_loses_nothing():
    assert switch.convert(None, "claude_apps_gateway") == ({"groups": {}, "users": {}}, [])
    with pytest.raises(switch.SwitchError):
        switch.convert(["a list"], "litellm")


def test_the_command_writes_the_suggestion_with_the_lines_as_comments_and_never_touches_access_yaml(tmp_path):
    source = tmp_path / "access.yaml"
    source.write_text(yaml.safe_dump(LITELLM_ACCESS, sort_keys=False))
    before = source.read_bytes()
    target = tmp_path / "access.claude_apps_gateway.suggested.yaml"
    result = subprocess.run([sys.executable, str(SCRIPT), "--to", "claude_apps_gateway", str(source),
                             "--write", str(target)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    lost = switch.convert(LITELLM_ACCESS, "claude_apps_gateway")[1]
    assert result.stdout.splitlines() == lost
    assert source.read_bytes() == before
    text = target.read_text()
    assert f"# Not carried ({len(lost)}):" in text
    assert all(f"#   {line}\n" in text for line in lost)
    assert "budget: {usd: 500, period: monthly}" in text
    apps_file.load(str(target), MODELS)  # the target engine's reader accepts the file as written
    bad = tmp_path / "bad.yaml"
    bad.write_text("teams: [\n")
    failed = subprocess.run([sys.executable, str(SCRIPT), "--to", "litellm", str(bad)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert failed.returncode == 1 and failed.stderr.count("\n") == 1 and "not valid YAML" in failed.stderr

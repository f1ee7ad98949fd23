"""Groups, models and spend limits as code for the generated Claude apps gateway, live (issue 33): Pattern C with
gateway_engine=claude_apps_gateway started by its own scripts (tests/support/generated_apps_gateway.py), the test
OIDC issuer, a throwaway Postgres, the mock provider and the real CLI signed in as two developers in two IdP groups.

- the generated config makes the email the user id: a real /login mints a session whose `sub` is the email, and a
  spend limit keyed by the email stops that developer (429; the CLI prints the message) and no one else;
- scripts/sync-access.sh applies gateway/access.yaml: spend limits at once through the admin API with its own key,
  groups' models and policies through the fragment gateway/run-local.sh merges in at the restart the sync asks
  for; a second run changes nothing; a model outside a group's list is refused for that group only; a user's and a
  group's limit stop them (the CLI shows the message), raising it lets them continue; --prune removes only the
  limits the sync set; an entry the engine cannot enforce is refused in one line; no key in files, dry run or logs."""

from __future__ import annotations

import base64
import json
import textwrap

import pytest
from apps_gateway import device_login
from generated_apps_gateway import started_apps_gateway
from mock_provider import DEFAULT_REPLY
from oidc_issuer import RunningIssuer, TestUser

pytestmark = pytest.mark.live

CONTACT = "#ai-budget"
# Opaque subjects, as real identity providers issue them: nobody could write these into gateway/access.yaml.
ALICE = TestUser(sub="00u-alice-opaque", email="alice@example.com", groups=["engineering"])
BOB = TestUser(sub="00u-bob-opaque", email="bob@example.com", groups=["sales"])


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture(scope="module")
def issuer():
    with RunningIssuer(user=ALICE) as running:
        yield running


@pytest.fixture(scope="module")
def gateway(copie_module, template_repo, claude_bin, issuer, gateway_db, gateway_ca, module_mock):
    with started_apps_gateway(copie_module, template_repo, claude_bin, issuer, gateway_db, gateway_ca, module_mock.url,
                              budget_contact=CONTACT) as gw:
        yield gw


@pytest.fixture(scope="module")
def developers(gateway):
    """Alice (engineering) and Bob (sales), each on a machine of their own, signed in."""
    homes = {}
    for user in (ALICE, BOB):
        home = gateway.developer(user.email.split("@")[0])
        gateway.signed_in_as(home, user.email, user.groups)
        homes[user.email] = home
    return homes


def test_the_user_id_is_the_email_and_a_limit_keyed_by_it_is_enforced(gateway, issuer, developers):
    issuer.user = ALICE
    status, answer = device_login(gateway.url, str(gateway.ca_path))
    assert status == 200, answer
    assert claims(answer["access_token"])["sub"] == ALICE.email  # not the IdP's opaque sub
    status, limit = gateway.admin("POST", "/v1/organizations/spend_limits",
                          {"scope": {"type": "user", "user_id": ALICE.email}, "amount": "0", "period": "daily"})
    assert status == 200, limit
    try:
        blocked = gateway.claude(developers[ALICE.email])
        assert blocked.returncode != 0
        assert "spend limit reached" in blocked.stdout + blocked.stderr
        assert CONTACT in blocked.stdout + blocked.stderr
        other = gateway.claude(developers[BOB.email])
        assert other.returncode == 0 and DEFAULT_REPLY in other.stdout, other.stdout + other.stderr
    finally:
        assert gateway.admin("DELETE", f"/v1/organizations/spend_limits/{limit['id']}")[0] == 200
    again = gateway.claude(developers[ALICE.email])
    assert again.returncode == 0 and DEFAULT_REPLY in again.stdout, again.stdout + again.stderr


def sync(gateway, *args: str):
    return gateway.run("scripts/sync-access.sh", *args)


def restart(gateway):
    stopped = gateway.run("gateway/run-local.sh", "stop")
    started = gateway.run("gateway/run-local.sh", "start")
    assert started.returncode == 0, stopped.stdout + started.stdout + started.stderr + gateway.log[-2000:]
    return started


def write_access(gateway, text: str) -> None:
    (gateway.project / "gateway" / "access.yaml").write_text(textwrap.dedent(text))


def limits(gateway) -> dict[tuple, str]:
    status, answer = gateway.admin("GET", "/v1/organizations/spend_limits", key="GATEWAY_ADMIN_READ_KEY")
    assert status == 200, answer
    return {(item["scope"]["type"], item["scope"].get("user_id") or item["scope"].get("rbac_group_id") or "",
             item["period"]): item["amount"] for item in answer["data"]}


def test_the_sync_applies_access_yaml_and_the_gateway_enforces_it(gateway, developers, module_mock):
    alice, bob = developers[ALICE.email], developers[BOB.email]
    first = sync(gateway)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "wrote" in first.stdout and (gateway.project / "gateway" / "access.yaml").exists()
    models = json.loads(gateway.run("python3", "-c", "import json,yaml;print(json.dumps([m['id'] for m in yaml.safe_load("
                                    "open('gateway/claude-apps-gateway.yaml'))['models']]))").stdout)
    opus, haiku = models[0], models[-1]
    # A manual limit with the admins' write key: the sync must never touch it.
    assert gateway.admin("POST", "/v1/organizations/spend_limits", {"scope": {"type": "rbac_group",
                         "rbac_group_id": "finance"}, "amount": "100000", "period": "monthly"})[0] == 200
    write_access(gateway, f"""\
        organization:
          budget: {{usd: 1000, period: monthly}}
        groups:
          engineering:
            budget: {{usd: 300, period: weekly}}
          sales:
            models: [{haiku}]
            policy:
              env: {{SALES_POLICY: "yes"}}
        users:
          {ALICE.email}:
            budget: {{usd: 50, period: daily}}
          {BOB.email}:
            budget: {{usd: 20, period: daily}}
        """)
    dry = sync(gateway, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "would create limit user alice@example.com daily $50.00" in dry.stdout
    assert "would write gateway/claude-apps-gateway.access.yaml" in dry.stdout
    assert ("rbac_group", "engineering", "weekly") not in limits(gateway)
    applied = sync(gateway)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert limits(gateway) == {("organization", "", "monthly"): "100000", ("rbac_group", "engineering", "weekly"): "30000",
                               ("user", ALICE.email, "daily"): "5000", ("user", BOB.email, "daily"): "2000",
                               ("rbac_group", "finance", "monthly"): "100000"}
    assert "restart the gateway" in applied.stdout
    assert "only on the gateway: limit group finance monthly" in applied.stdout
    again = sync(gateway)
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout + again.stderr
    started = restart(gateway)
    assert "claude-apps-gateway.access.yaml" in started.stdout

    # Models per group: sales may use only haiku; engineering (no list) every model.
    status, answer = gateway.inference(BOB.email, BOB.groups, opus)
    assert status == 400 and "not in your role" in str(answer), answer  # the gateway refuses it, not only the CLI
    assert gateway.inference(ALICE.email, ALICE.groups, opus)[0] == 200
    restricted = gateway.claude(bob, "--model", opus)  # the group's policy reached Bob's CLI
    assert f'Model "{opus}" is restricted by your organization' in restricted.stderr, restricted.stderr
    allowed = gateway.claude(bob, "--model", haiku)
    assert allowed.returncode == 0 and DEFAULT_REPLY in allowed.stdout, allowed.stdout + allowed.stderr
    engineering = gateway.claude(alice, "--model", opus)
    assert engineering.returncode == 0 and DEFAULT_REPLY in engineering.stdout, engineering.stdout + engineering.stderr

    # A user's tiny limit stops that user only; raising it lets them continue.
    text = (gateway.project / "gateway" / "access.yaml").read_text()
    write_access(gateway, text.replace("usd: 50, period: daily", "usd: 0, period: daily"))
    assert sync(gateway).returncode == 0
    blocked = gateway.claude(alice)
    assert blocked.returncode != 0 and "spend limit reached" in blocked.stdout + blocked.stderr
    assert CONTACT in blocked.stdout + blocked.stderr
    assert gateway.claude(bob, "--model", haiku).returncode == 0
    write_access(gateway, text)
    assert sync(gateway).returncode == 0
    assert gateway.claude(alice).returncode == 0

    # A group limit stops the group.
    write_access(gateway, text.replace("usd: 300, period: weekly", "usd: 0, period: weekly"))
    assert sync(gateway).returncode == 0
    group_blocked = gateway.claude(alice)
    assert group_blocked.returncode != 0 and "spend limit reached" in group_blocked.stdout + group_blocked.stderr
    assert gateway.claude(bob, "--model", haiku).returncode == 0

    # Entries leave the file: --prune deletes only what the sync set.
    write_access(gateway, f"""\
        users:
          {BOB.email}:
            budget: {{usd: 20, period: daily}}
        """)
    kept = sync(gateway)
    assert kept.returncode == 0 and "--prune removes it" in kept.stdout, kept.stdout
    assert ("user", ALICE.email, "daily") in limits(gateway)
    pruned = sync(gateway, "--prune")
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert limits(gateway) == {("user", BOB.email, "daily"): "2000", ("rbac_group", "finance", "monthly"): "100000"}
    assert gateway.claude(alice).returncode == 0

    # No key in any file the sync wrote, its output or the gateway's log.
    secrets = [v for k, v in gateway.secrets.items() if k.startswith("GATEWAY_")]
    written = [(gateway.project / "gateway" / name).read_text() for name in ("access.yaml", "claude-apps-gateway.access.yaml")]
    for text_seen in written + [first.stdout, dry.stdout, applied.stdout, pruned.stdout, gateway.log]:
        assert not any(secret in text_seen for secret in secrets)


def test_an_entry_the_engine_cannot_enforce_is_refused_in_one_line(gateway):
    path = gateway.project / "gateway" / "refused.yaml"
    path.write_text("teams:\n  platform: {}\nusers:\n  carol@example.com:\n    rpm_limit: 60\n")
    refused = sync(gateway, "--file", str(path))
    assert refused.returncode == 2
    lines = refused.stderr.splitlines()
    assert any(line.endswith("teams: a LiteLLM section, which the Claude apps gateway cannot enforce; use groups: "
                             "(groups are your identity provider's groups, users their email addresses)")
               for line in lines), refused.stderr
    assert any("users.carol@example.com.rpm_limit: the Claude apps gateway has no rate limits" in line
               for line in lines), refused.stderr


def test_the_usage_report_shows_developers_and_groups_with_matching_totals(gateway, developers):
    """scripts/usage-report.sh reads the gateway's cost report: per developer (with the limit left) and per group, in
    table, CSV and JSON, the same totals the gateway's own API gives, and the read key in none of it."""
    haiku = "claude-haiku-5-5"  # the default haiku id: a model every group of the sync test may use
    for user in (ALICE, BOB, ALICE):
        status, answer = gateway.inference(user.email, user.groups, haiku)
        assert status == 200, answer
    reports = {(by, fmt): gateway.run("scripts/usage-report.sh", "--by", by, "--format", fmt)
               for by in ("developer", "group") for fmt in ("json", "csv", "table")}
    for (by, fmt), result in reports.items():
        assert result.returncode == 0, (by, fmt, result.stderr)
        assert gateway.secrets["GATEWAY_ADMIN_READ_KEY"] not in result.stdout + result.stderr
    developers_json = json.loads(reports["developer", "json"].stdout)
    groups_json = json.loads(reports["group", "json"].stdout)
    spent = {row["developer"]: row["spend_usd"] for row in developers_json}
    assert set(spent) >= {ALICE.email, BOB.email} and all(spent[u.email] > 0 for u in (ALICE, BOB))
    assert {"developer", "spend_usd", "limit_left_usd"} == set(developers_json[0])
    by_group = {row["group"]: row["spend_usd"] for row in groups_json}
    assert set(by_group) >= {"engineering", "sales"}
    # Each developer is in one group: the two views add up to the same total.
    assert round(sum(spent.values()), 4) == round(sum(by_group.values()), 4)
    # The gateway's own answer, for the same days.
    day = reports["developer", "table"].stdout.split()[2]  # "per developer, <since> to <until> (UTC days)"
    status, cost = gateway.admin("GET", f"/v1/organizations/analytics/cost?starting_at={day}T00:00:00Z"
                                        "&group_by[]=actor", key="GATEWAY_ADMIN_READ_KEY")
    assert status == 200, cost
    assert round(sum(float(b["cost"]["amount"]) for b in cost["data"]), 4) == round(sum(spent.values()), 4)
    # CSV and the table say the same.
    csv_lines = reports["developer", "csv"].stdout.splitlines()
    assert csv_lines[0] == "developer,spend_usd,limit_left_usd"
    assert f"{ALICE.email},{spent[ALICE.email]}," in "\n".join(csv_lines)
    table = reports["group", "table"].stdout
    assert table.startswith("per group, ") and f"{by_group['sales']:.6f}" in table

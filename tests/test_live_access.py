"""Budgets and keys as code, and spend reports, live: the generated scripts/sync-access.sh applies a gateway/access.yaml
to the pinned LiteLLM in database mode (a throwaway Postgres, see conftest.database); developers' keys drive the real
Claude Code CLI; scripts/usage-report.sh reads the spend back per developer and per team. Without a database, the
end-user id that client/env.sh sends attributes spend per developer in the Prometheus view.

One Postgres and one gateway for the database tests; the tests run in order (each builds on the file before)."""

from __future__ import annotations

import csv
import io
import json
import stat
import subprocess
import time
import urllib.error
import urllib.request

import pytest
import yaml
from gateways import post_messages, started_database_gateway, started_gateway
from mock_provider import DEFAULT_REPLY, RunningMock

pytestmark = pytest.mark.live

CONTACT = "#llm-gateway"
CACHE_USAGE = {"cache_read_input_tokens": 100, "cache_creation_input_tokens": 20}
MODELS = ["claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"]
# Two teams, three developers: the file a platform engineer commits.
ACCESS = {
    "teams": {
        "platform": {"budget": {"usd": 500, "period": "monthly"}, "rpm_limit": 600},
        "mobile": {"budget": {"usd": 200, "period": "weekly"}, "models": ["claude-sonnet-5-5", "claude-haiku-5-5"]},
    },
    "developers": {
        "alice": {"team": "platform", "budget": {"usd": 50, "period": "monthly"}},
        "bob": {"team": "platform", "budget": {"usd": 30, "period": "30d"}, "rpm_limit": 60},
        "carol": {"team": "mobile", "models": ["claude-sonnet-5-5"]},
    },
}


@pytest.fixture(scope="module")
def gateway(copie_module, template_repo, database):
    with RunningMock() as mock, started_database_gateway(copie_module, template_repo, database, mock,
                                                         budget_contact=CONTACT) as gw:
        mock.extra_usage = dict(CACHE_USAGE)  # the provider reports prompt-cache reads and writes
        yield gw


def sync(gateway, *args: str) -> subprocess.CompletedProcess:
    return gateway.run("scripts/sync-access.sh", *args)


def write_access(gateway, access: dict) -> None:
    (gateway.project / "gateway" / "access.yaml").write_text(yaml.safe_dump(access, sort_keys=False))


def admin_get(gateway, path: str):
    request = urllib.request.Request(gateway.url + path, headers={"Authorization": f"Bearer {gateway.master_key}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def managed_keys(gateway) -> dict[str, dict]:
    keys = admin_get(gateway, "/key/list?return_full_object=true&size=100")["keys"]
    return {k["user_id"]: k for k in keys if (k.get("metadata") or {}).get("managed_by") == "gateway/access.yaml"}


def teams(gateway) -> dict[str, dict]:
    return {team["team_id"]: team for team in admin_get(gateway, "/team/list")}


def key_file(gateway, developer: str):
    return gateway.project / "gateway" / "keys" / f"{developer}.key"


def test_first_run_writes_a_starting_access_file_and_changes_nothing(gateway):
    result = sync(gateway)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "wrote" in result.stdout and "access.yaml" in result.stdout
    sample = (gateway.project / "gateway" / "access.yaml").read_text()
    assert yaml.safe_load(sample) == {"teams": None, "developers": None}  # uncomment the examples below each
    assert "\n#  alice:\n#    team: platform\n" in sample
    result = sync(gateway)
    assert result.returncode == 0, result.stderr
    assert "0 team(s), 0 developer(s)" in result.stdout and "nothing to do" in result.stdout
    assert teams(gateway) == {} and managed_keys(gateway) == {}


def test_an_invalid_access_file_is_refused_naming_each_entry(gateway):
    bad = {"teams": {"platform": {"budget": {"usd": "lots"}}},
           "developers": {"alice": {"team": "platfrom"}, "bob": {"models": ["gpt-4"]}, "x y": {}}}
    write_access(gateway, bad)
    result = sync(gateway)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert any("teams.platform.budget.usd: 'lots' must be a number of US dollars above 0" in line for line in lines)
    assert any("developers.alice.team: 'platfrom' is not one of the teams in this file (platform)" in line
               for line in lines), lines
    assert any("developers.bob.models: 'gpt-4' not a model of this gateway" in line for line in lines), lines
    assert any("the name 'x y' must be" in line for line in lines), lines
    assert lines[-1] == "nothing was changed" and "Traceback" not in result.stderr
    assert teams(gateway) == {}


def test_dry_run_shows_the_plan_and_changes_nothing(gateway):
    write_access(gateway, ACCESS)
    result = sync(gateway, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "2 team(s), 3 developer(s)" in result.stdout and "5 change(s) (dry run" in result.stdout
    assert "would create team platform  max_budget 500.0, budget_duration 1mo, rpm_limit 600" \
        in result.stdout, result.stdout
    assert "would create developer carol  team_id mobile, models claude-sonnet-5-5" in result.stdout
    assert teams(gateway) == {} and managed_keys(gateway) == {}
    assert not (gateway.project / "gateway" / "keys").exists()


def test_sync_creates_teams_and_keys_and_a_second_run_changes_nothing(gateway):
    result = sync(gateway)
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(teams(gateway)) == {"platform", "mobile"}
    platform = teams(gateway)["platform"]
    assert (platform["max_budget"], platform["budget_duration"], platform["rpm_limit"]) == (500.0, "1mo", 600)
    keys = managed_keys(gateway)
    assert set(keys) == {"alice", "bob", "carol"}
    assert keys["bob"]["team_id"] == "platform" and keys["bob"]["budget_duration"] == "30d"
    assert keys["bob"]["key_alias"] == f"bob (more budget: {CONTACT})"
    assert keys["carol"]["models"] == ["claude-sonnet-5-5"]
    # Each key once, in a file only its owner can read, in a folder only the owner can enter; not on stdout.
    assert stat.S_IMODE((gateway.project / "gateway" / "keys").stat().st_mode) == 0o700
    for developer in ("alice", "bob", "carol"):
        path = key_file(gateway, developer)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        key = path.read_text().strip()
        assert key.startswith("sk-") and key not in result.stdout + result.stderr
        assert f"create developer {developer}" in result.stdout
    status, body = post_messages(gateway.url, key_file(gateway, "alice").read_text().strip())
    assert status == 200 and DEFAULT_REPLY in body
    # carol may use sonnet only (her team and her own list).
    assert post_messages(gateway.url, key_file(gateway, "carol").read_text().strip(), "claude-opus-5-5")[0] in (
        401, 403)
    again = sync(gateway)
    assert again.returncode == 0, again.stderr
    assert "0 change(s)" in again.stdout and "nothing to do: the gateway matches access.yaml" in again.stdout
    assert set(managed_keys(gateway)) == {"alice", "bob", "carol"}  # no second key for anyone


def test_a_changed_budget_is_updated_in_place(gateway):
    access = json.loads(json.dumps(ACCESS))
    access["developers"]["alice"]["budget"]["usd"] = 80
    write_access(gateway, access)
    token_before = managed_keys(gateway)["alice"]["token"]
    result = sync(gateway)
    assert result.returncode == 0, result.stderr
    assert "update developer alice  max_budget 50.0 -> 80.0" in result.stdout, result.stdout
    assert "1 change(s)" in result.stdout
    alice = managed_keys(gateway)["alice"]
    assert alice["max_budget"] == 80.0 and alice["token"] == token_before  # the same key: nothing to hand over


def test_a_removed_developer_is_reported_and_removed_only_with_prune(gateway):
    outsider = gateway.run("scripts/new-key.sh", "outsider")  # a one-off key: never touched by the sync
    assert outsider.returncode == 0, outsider.stderr
    access = json.loads(json.dumps(ACCESS))
    access["developers"]["alice"]["budget"]["usd"] = 80
    del access["developers"]["carol"]
    write_access(gateway, access)
    carol_key = key_file(gateway, "carol").read_text().strip()
    result = sync(gateway)
    assert result.returncode == 0, result.stderr
    assert "only on the server: developer carol" in result.stdout and "--prune removes it" in result.stdout
    assert "outsider" in result.stdout and "never touched" in result.stdout
    assert post_messages(gateway.url, carol_key, "claude-sonnet-5-5")[0] == 200
    dry = sync(gateway, "--prune", "--dry-run")
    assert "would delete developer carol" in dry.stdout, dry.stdout
    assert "carol" in managed_keys(gateway)
    pruned = sync(gateway, "--prune")
    assert pruned.returncode == 0, pruned.stderr
    assert "delete developer carol" in pruned.stdout
    assert "carol" not in managed_keys(gateway)
    assert post_messages(gateway.url, carol_key, "claude-sonnet-5-5")[0] == 401
    assert post_messages(gateway.url, outsider.stdout.strip())[0] == 200  # new-key.sh's key still works
    assert "mobile" in teams(gateway)  # still listed in the file


def test_print_keys_shows_a_new_key_once_on_stdout(gateway):
    access = json.loads(json.dumps(ACCESS))
    access["developers"]["alice"]["budget"]["usd"] = 80
    del access["developers"]["carol"]
    access["developers"]["dave"] = {"team": "mobile"}
    write_access(gateway, access)
    result = sync(gateway, "--print-keys")
    assert result.returncode == 0, result.stderr
    printed = [line.split("\t") for line in result.stdout.splitlines() if line.startswith("dave\t")]
    assert len(printed) == 1 and printed[0][1].startswith("sk-")
    assert not key_file(gateway, "dave").exists()
    assert post_messages(gateway.url, printed[0][1], "claude-sonnet-5-5")[0] == 200


def developer_call(gateway, key: str, method: str, path: str, body: dict | None = None) -> tuple[int, str]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(gateway.url + path, data=data, method=method, headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def test_a_developers_key_cannot_touch_another_developers_key_nor_mint_one(gateway):
    """The property the reserved names protect: a key the sync hands a developer acts as that developer only."""
    alice = key_file(gateway, "alice").read_text().strip()
    before = managed_keys(gateway)
    bob = before["bob"]
    status, body = developer_call(gateway, alice, "GET", "/key/list?return_full_object=true&include_team_keys=true")
    assert bob["token"] not in body, (status, body[:300])
    status, body = developer_call(gateway, alice, "GET", f"/key/info?key={bob['token']}")
    assert status != 200 or bob["token"] not in body, (status, body[:300])
    developer_call(gateway, alice, "POST", "/key/update", {"key": bob["token"], "max_budget": 1_000_000})
    developer_call(gateway, alice, "POST", "/key/delete", {"keys": [bob["token"]]})
    after = managed_keys(gateway)
    assert after["bob"]["token"] == bob["token"] and after["bob"]["max_budget"] == bob["max_budget"]
    keys_before = {key["token"] for key in admin_get(gateway, "/key/list?return_full_object=true&size=100")["keys"]}
    for body in ({}, {"user_id": "alice"}, {"user_id": "alice", "team_id": "platform"}, {"user_id": "mallory"}):
        status, answer = developer_call(gateway, alice, "POST", "/key/generate", body)
        assert status != 200 and "sk-" not in answer, (body, status, answer[:300])
    keys_after = {key["token"] for key in admin_get(gateway, "/key/list?return_full_object=true&size=100")["keys"]}
    assert keys_after == keys_before


def test_the_identity_litellm_gives_the_master_key_is_refused_as_a_developer(gateway):
    """default_user_id is the user the master key acts as (and the admin member of every team the sync creates): a
    developer key of that name would borrow it. The sync and new-key.sh refuse it, and nothing is created."""
    path = gateway.project / "gateway" / "access.yaml"
    kept = path.read_text()
    access = yaml.safe_load(kept)
    access["developers"]["Default_User_Id"] = {"team": "platform"}
    write_access(gateway, access)
    keys_before = {key["token"] for key in admin_get(gateway, "/key/list?return_full_object=true&size=100")["keys"]}
    try:
        result = sync(gateway)
    finally:
        path.write_text(kept)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.splitlines()[0].endswith(
        "developers.Default_User_Id: the name 'Default_User_Id' is one LiteLLM gives its own identities; a name must "
        "be not default_user_id nor starting with litellm (LiteLLM's own identities)"), result.stderr
    made = gateway.run("scripts/new-key.sh", "default_user_id")
    assert made.returncode == 2 and "sk-" not in made.stdout and "LiteLLM gives its own identities" in made.stderr
    assert {key["token"] for key in admin_get(gateway, "/key/list?return_full_object=true&size=100")["keys"]} == \
        keys_before


def test_a_lost_or_undelivered_key_is_reported_until_rotated(gateway):
    """A key made by the sync whose delivery never happened (here: marked pending again by hand, as a sync killed
    between creating and writing it leaves it) is reported on every run; --rotate replaces it."""
    bob = managed_keys(gateway)["bob"]
    old_key = key_file(gateway, "bob").read_text().strip()
    key_file(gateway, "bob").unlink()  # handed over, as the header says
    status, _ = developer_call(gateway, gateway.master_key, "POST", "/key/update", {
        "key": bob["token"], "metadata": {"managed_by": "gateway/access.yaml", "key_delivery": "pending"}})
    assert status == 200
    result = sync(gateway)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NOT DELIVERED: developer bob" in result.stdout and "--rotate bob" in result.stdout
    rotated = sync(gateway, "--rotate", "bob")
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    new = managed_keys(gateway)["bob"]
    assert new["token"] != bob["token"] and new["metadata"] == {"managed_by": "gateway/access.yaml"}
    assert post_messages(gateway.url, old_key)[0] == 401
    assert post_messages(gateway.url, key_file(gateway, "bob").read_text().strip())[0] == 200
    assert sync(gateway).returncode == 0


def report(gateway, *args: str) -> list[dict]:
    result = gateway.run("scripts/usage-report.sh", *args, "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_reports_per_developer_and_team_after_the_real_cli(gateway, claude_bin):
    for developer in ("alice", "bob"):
        result = gateway.claude(claude_bin, key_file(gateway, developer).read_text().strip())
        assert result.returncode == 0 and DEFAULT_REPLY in result.stdout, result.stdout + result.stderr
    # Spend reaches the daily tables and the key's spend in separate batches: wait (bounded) until both count bob's
    # request (on a loaded machine the budget left lagged the daily table).
    deadline = time.monotonic() + 90
    while True:
        rows = {row["developer"]: row for row in report(gateway)}
        counted = rows.get("bob", {}).get("requests", 0) >= 1 and (rows["bob"].get("budget_left_usd") or 30) < 30
        if counted or time.monotonic() > deadline:
            break
        time.sleep(2)
    alice, bob = rows["alice"], rows["bob"]
    for row in (alice, bob):
        assert row["team"] == "platform" and row["requests"] >= 1 and row["spend_usd"] > 0, row
        assert row["cache_read_tokens"] >= 100 and row["cache_creation_tokens"] >= 20, row  # the mock's cache usage
        assert row["input_tokens"] >= 12 and row["output_tokens"] >= 6, row
    assert bob["budget_left_usd"] == pytest.approx(30 - bob["spend_usd"], abs=1e-4)
    teams_view = {row["team"]: row for row in report(gateway, "--by", "team")}
    platform = teams_view["platform"]
    for counter in ("requests", "input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens"):
        assert platform[counter] == alice[counter] + bob[counter], counter
    assert platform["spend_usd"] == pytest.approx(alice["spend_usd"] + bob["spend_usd"])
    assert platform["developers"] == 2 and platform["budget_left_usd"] <= 500
    # CSV holds the same rows; the table names the period.
    result = gateway.run("scripts/usage-report.sh", "--format", "csv")
    parsed = {row["developer"]: row for row in csv.DictReader(io.StringIO(result.stdout))}
    assert int(parsed["bob"]["requests"]) == bob["requests"] and float(parsed["bob"]["spend_usd"]) == bob["spend_usd"]
    table = gateway.run("scripts/usage-report.sh", "--by", "team")
    assert "per team, " in table.stdout and "(UTC days)" in table.stdout and "platform" in table.stdout
    # A period before any request is empty.
    assert report(gateway, "--since", "2020-01-01", "--until", "2020-01-31") == []


def test_bad_report_arguments_are_one_line_errors(gateway):
    result = gateway.run("scripts/usage-report.sh", "--since", "yesterday")
    assert result.returncode == 2 and "'yesterday' must be a day as YYYY-MM-DD (UTC)" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_key_lands_in_access_yaml_reports_or_the_log(gateway):
    secrets = [gateway.master_key] + [p.read_text().strip() for p in (gateway.project / "gateway" / "keys").glob("*")]
    texts = [(gateway.project / "gateway" / "access.yaml").read_text(),
             (gateway.project / "gateway" / "litellm.log").read_text(errors="replace"),
             gateway.run("scripts/usage-report.sh").stdout, gateway.run("scripts/usage-report.sh", "--by", "team").stdout,
             sync(gateway, "--dry-run").stdout]
    for secret in secrets:
        assert len(secret) > 10
        for text in texts:
            assert secret not in text
    # The keys folder is ignored by the generated .gitignore: a `git add -A` never commits a key.
    if not (gateway.project / ".git").exists():
        subprocess.run(["git", "init", "-q"], cwd=gateway.project, check=True, timeout=60)
    ignored = subprocess.run(["git", "check-ignore", "-q", "--no-index", "gateway/keys/alice.key"],
                             cwd=gateway.project, check=False, timeout=60)
    assert ignored.returncode == 0


def admin_call(gateway, method: str, path: str, key: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(gateway.url + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_a_user_less_key_reads_itself_but_not_another_user_less_key(gateway):
    """The reason for the LiteLLM 1.108.14 pin: a key made without a user (as new-key.sh, the admin UI or a script
    make them) cannot read another user-less key through /key/info. 1.108.7 answered 200 with the other key's alias
    and budget (fixed in 1.108.13/14, BerriAI/litellm#52838, #52925)."""
    made = {}
    for alias in ("script-a", "script-b"):
        status, answer = admin_call(gateway, "POST", "/key/generate", gateway.master_key,
                                    {"key_alias": alias, "max_budget": 5})
        assert status == 200 and answer.get("user_id") is None, answer
        made[alias] = answer
    key_a = made["script-a"]["key"]
    status, own = admin_call(gateway, "GET", "/key/info?key=" + made["script-a"]["token"], key_a)
    assert status == 200 and own["info"]["key_alias"] == "script-a", own  # the check below is not vacuous
    for lookup in (made["script-b"]["token"], made["script-b"]["key"]):  # by hash, and by the key itself
        status, other = admin_call(gateway, "GET", "/key/info?key=" + lookup, key_a)
        assert status in (401, 403, 404), (status, other)
        assert "script-b" not in json.dumps(other)


# ---------------------------------------------------------------------------------------------------------------
# Without a database: the end-user id from client/env.sh
# ---------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def metrics_gateway(copie_module, template_repo, litellm_bin):
    with RunningMock() as mock, started_gateway(copie_module, template_repo, litellm_bin, mock,
                                                anthropic_base_url=mock.url) as gw:
        yield gw


def test_without_a_database_spend_is_attributed_to_the_name_env_sh_sends(metrics_gateway, claude_bin):
    gw = metrics_gateway
    for name in ("dana", "erik"):
        result = gw.claude(claude_bin, gw.master_key, CLAUDE_GATEWAY_USER=name)
        assert result.returncode == 0 and DEFAULT_REPLY in result.stdout, result.stdout + result.stderr
    assert post_messages(gw.url, gw.master_key)[0] == 200  # no header: not attributed
    sent = [r.headers for r in gw.mock.messages_requests()]
    assert sent  # the gateway forwarded them; the header itself stays at the gateway
    result = gw.run("scripts/usage-report.sh", "--by", "developer", "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = {row["developer"]: row for row in json.loads(result.stdout)}
    for name in ("dana", "erik"):
        assert rows[name]["requests"] >= 1 and rows[name]["spend_usd"] > 0, rows
    assert "(no end-user id sent)" in rows
    table = gw.run("scripts/usage-report.sh")
    assert "per developer (x-litellm-end-user-id)" in table.stdout and "dana" in table.stdout
    assert gw.master_key not in table.stdout + result.stdout
    refused = gw.run("scripts/usage-report.sh", "--by", "team")
    assert refused.returncode == 2 and "--by team needs the database" in refused.stderr

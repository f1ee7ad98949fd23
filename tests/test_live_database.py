"""Pattern C with spend_database, live: the generated gateway/run-local.sh starts the pinned LiteLLM in database
mode against a throwaway Postgres 15 (LiteLLM's own migrations), the mock provider behind it. Developers' keys
come from the generated scripts/new-key.sh; spend and budgets are LiteLLM's, read back over its API.

Offline, Prisma's query engine is replaced by the test-support stand-in in tests/support/prisma-engine (see its
README); users run LiteLLM's `litellm-database` image with the real engines. One Postgres and one gateway for
the whole module."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import postgres
import pytest
import yaml
from environment import clean_env, read_env_file
from gateways import HANG_GUARD, post_messages, started_database_gateway
from mock_provider import DEFAULT_REPLY, RunningMock
from template_clone import GIT_ENV, git

pytestmark = pytest.mark.live

CONTACT = "#llm-gateway"  # budget_contact: whom developers ask for more budget


@pytest.fixture(scope="module")
def gateway(copie_module, template_repo, database):
    started = time.monotonic()
    with RunningMock() as mock, started_database_gateway(copie_module, template_repo, database, mock,
                                                         budget_contact=CONTACT) as gw:
        print(f"gateway (database mode) answered after {time.monotonic() - started:.1f}s")
        yield gw


def new_key(gateway, developer: str, *extra: str) -> str:
    result = gateway.run("scripts/new-key.sh", developer, *extra)
    assert result.returncode == 0, result.stdout + result.stderr
    key = result.stdout.strip()
    assert re.fullmatch(r"sk-[A-Za-z0-9_-]{20,}", key), result.stdout
    assert gateway.master_key not in result.stdout + result.stderr
    return key


def key_info(gateway, key: str) -> dict:
    request = urllib.request.Request(f"{gateway.url}/key/info?key={key}",
                                     headers={"Authorization": f"Bearer {gateway.master_key}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["info"]


def test_health_check_reports_the_database_connected(gateway):
    result = gateway.run("scripts/health-check.sh")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok    readiness: status healthy - db connected" in result.stdout, result.stdout
    assert gateway.master_key not in result.stdout + result.stderr


def test_a_developer_key_from_new_key_sh_reaches_the_provider(gateway):
    key = new_key(gateway, "alice")
    status, body = post_messages(gateway.url, key)
    assert status == 200, body
    assert DEFAULT_REPLY in body
    info = key_info(gateway, key)
    assert info["user_id"] == "alice" and info["key_alias"] == f"alice (more budget: {CONTACT})"


def recorded_spend(gateway, key: str) -> float:
    """The key's spend once LiteLLM has written it (it writes spend to the database in batches)."""
    deadline = time.monotonic() + 60
    while (spend := key_info(gateway, key)["spend"]) <= 0 and time.monotonic() < deadline:
        time.sleep(1)
    return spend


def test_spend_is_recorded_per_key(gateway):
    key = new_key(gateway, "bob")
    for _ in range(3):
        assert post_messages(gateway.url, key)[0] == 200
    assert recorded_spend(gateway, key) > 0


def test_a_key_past_its_budget_is_refused_and_the_developer_told_whom_to_ask(gateway, claude_bin):
    key = new_key(gateway, "carol", "--budget", "0.0000001")
    statuses = []
    for _ in range(3):
        status, body = post_messages(gateway.url, key)
        statuses.append(status)
        if status != 200:
            break
        time.sleep(1)  # the spend of the request before is counted (budgets lag about one request)
    assert statuses[-1] == 422, statuses
    assert "Budget has been exceeded" in body
    # What the developer sees: Claude Code's error names the budget and whom to ask (the key's alias).
    result = gateway.claude(claude_bin, key)
    assert result.returncode != 0 and DEFAULT_REPLY not in result.stdout
    output = result.stdout + result.stderr
    assert "Budget has been exceeded" in output and f"more budget: {CONTACT}" in output, output
    # And the doctor names it, with the contact.
    assert f"FAIL  gateway: the budget of your key is used up (HTTP 422); ask {CONTACT} for more" in \
        doctor(gateway, key).stdout


def admin(gateway, path: str, body: dict) -> None:
    request = urllib.request.Request(f"{gateway.url}{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {gateway.master_key}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


def test_a_blocked_or_deleted_key_is_named_by_the_doctor(gateway):
    blocked, deleted = new_key(gateway, "erin"), new_key(gateway, "frank")
    assert "ok    gateway: the key from ANTHROPIC_AUTH_TOKEN is accepted" in doctor(gateway, blocked).stdout
    admin(gateway, "/key/block", {"key": blocked})
    admin(gateway, "/key/delete", {"keys": [deleted]})
    result = doctor(gateway, blocked)
    assert result.returncode == 1
    assert f"FAIL  gateway: your key is blocked (revoked) (HTTP 401); ask {CONTACT} for a new one" in result.stdout
    assert "FAIL  gateway: the gateway does not know your key (deleted, or mistyped) (HTTP 401)" in \
        doctor(gateway, deleted).stdout
    assert "first failing hop: gateway" in result.stdout


def test_a_wrong_key_is_refused(gateway):
    status, body = post_messages(gateway.url, "sk-not-a-key-of-this-gateway")
    assert status == 401, body
    assert DEFAULT_REPLY not in body


def doctor(gateway, key: str) -> subprocess.CompletedProcess:
    """scripts/check-status.sh as the developer runs it: client/env.sh sourced, their key in the environment."""
    return subprocess.run(["sh", "-c", ". ./client/env.sh && scripts/check-status.sh"], cwd=gateway.project,
                          env=clean_env(gateway.home, ANTHROPIC_AUTH_TOKEN=key), capture_output=True, text=True,
                          timeout=HANG_GUARD, check=False)


def test_real_claude_cli_with_a_developer_key(gateway, claude_bin):
    """Two developers' keys; Claude Code runs with dave's: his spend grows, eve's stays zero."""
    key, other = new_key(gateway, "dave"), new_key(gateway, "eve")
    result = gateway.claude(claude_bin, key)
    assert result.returncode == 0, result.stdout + result.stderr
    assert recorded_spend(gateway, key) > 0
    assert key_info(gateway, other)["spend"] == 0
    assert DEFAULT_REPLY in result.stdout
    assert key_info(gateway, key)["user_id"] == "dave"


def test_the_database_holds_the_keys_and_the_spend_logs(gateway, database):
    rows = database.psql(postgres.DB_NAME, 'SELECT user_id FROM "LiteLLM_VerificationToken" '
                                           f"WHERE key_alias = user_id || ' (more budget: {CONTACT})'")
    assert {"alice", "bob", "carol"} <= set(rows.split()), rows
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        users = set(database.psql(postgres.DB_NAME, 'SELECT DISTINCT "user" FROM "LiteLLM_SpendLogs"').split())
        if {"alice", "bob"} <= users:
            break
        time.sleep(1)
    assert {"alice", "bob"} <= users, users


def test_usage_report_has_a_line_per_developer(gateway):
    result = gateway.run("scripts/usage-report.sh")  # with a database: per developer, from the daily spend tables
    assert result.returncode == 0, result.stdout + result.stderr
    assert "alice" in result.stdout and "bob" in result.stdout, result.stdout  # per-developer lines
    by_model = gateway.run("scripts/usage-report.sh", "--by", "model")
    assert "claude-opus-5-5" in by_model.stdout, by_model.stdout
    metrics = gateway.run("scripts/usage-report.sh", "--source", "metrics", "--by", "key")  # the live counters
    assert "alice" in metrics.stdout and "since the gateway started" in metrics.stdout, metrics.stdout
    assert gateway.master_key not in result.stdout + result.stderr


def test_c_to_a_and_back_keeps_keys_and_spend_and_the_master_key_rotates(gateway, database):
    """A rollback to Pattern A and back with a populated database: gateway/.env is byte-identical, the regenerated
    gateway boots on the same database, and a key created before still works and still shows its spend. On the way,
    the README's backup and restore, and its master-key rotation."""
    key = new_key(gateway, "grace")
    assert post_messages(gateway.url, key)[0] == 200
    spend = recorded_spend(gateway, key)
    assert spend > 0
    project, env_file = gateway.project, gateway.project / "gateway" / ".env"
    before = env_file.read_bytes()
    assert gateway.run("gateway/run-local.sh", "stop").returncode == 0
    # Backup and restore as the generated README says for the process runtime: a key lost after the dump is back.
    database_url = read_env_file(env_file)["DATABASE_URL"]
    dump = project.parent / f"{project.name}-litellm.dump"
    with dump.open("wb") as out:
        subprocess.run([str(postgres.PG_BIN / "pg_dump"), "-Fc", database_url], stdout=out, check=True, timeout=120)
    database.psql(postgres.DB_NAME, """DELETE FROM "LiteLLM_VerificationToken" WHERE user_id = 'grace'""")
    restored = subprocess.run([str(postgres.PG_BIN / "pg_restore"), "--clean", "-d", database_url, str(dump)],
                              capture_output=True, text=True, timeout=120, check=False)
    assert restored.returncode == 0, restored.stderr
    # gateway/access.yaml is the team's own file (scripts/sync-access.sh): migrations must leave it alone.
    access_file = project / "gateway" / "access.yaml"
    access_file.write_text("# reviewed in PR 42\nteams: {}\ndevelopers:\n  grace: {budget: {usd: 5}}\n")
    access_before = access_file.read_bytes()
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "Pattern C with a database"]):
        git(project, *args)
    env = clean_env(gateway.home, COPIER=str(Path(sys.executable).parent / "copier"), **GIT_ENV)
    back_to_c = [a for k in ("gateway_port", "gateway_runtime", "spend_database", "budget_contact")
                 for a in ("--data", f"{k}={str(answers[k]).lower() if isinstance(answers[k], bool) else answers[k]}")]
    for target, extra in (("A", []), ("C", back_to_c)):
        result = subprocess.run(["scripts/migrate.sh", target, *extra], cwd=project, env=env, capture_output=True,
                                text=True, timeout=HANG_GUARD, stdin=subprocess.DEVNULL, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        git(project, "add", "-A")
        git(project, "commit", "-qm", f"migrated to {target}")
        assert env_file.read_bytes() == before, target  # the secrets, DATABASE_URL and salt key untouched
        assert access_file.read_bytes() == access_before, target
    # And the master key rotated as the generated README says (a new value in gateway/.env, a restart): developers'
    # keys keep working, the old master key no longer administers.
    old_master = gateway.master_key
    env_file.write_text(env_file.read_text().replace(f"LITELLM_MASTER_KEY={old_master}\n",
                                                     "LITELLM_MASTER_KEY=sk-rotated-0123456789abcdef\n"))
    assert gateway.master_key == "sk-rotated-0123456789abcdef"
    started = gateway.run("gateway/run-local.sh", "start")
    assert started.returncode == 0, started.stdout + started.stderr
    status, body = post_messages(gateway.url, key)
    assert status == 200 and DEFAULT_REPLY in body
    assert key_info(gateway, key)["spend"] >= spend  # read with the new master key
    refused = urllib.request.Request(f"{gateway.url}/key/info?key={key}", headers={"Authorization": f"Bearer {old_master}"})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(refused, timeout=30)
    assert error.value.code in (401, 403)
    # The master keys are in gateway/.env only: not in any committed file, not in the gateway's log.
    log = (project / "gateway" / "litellm.log").read_text(errors="replace")
    for master in (old_master, gateway.master_key):
        assert subprocess.run(["git", "grep", "-qF", master], cwd=project, check=False).returncode == 1
        assert master not in log


def test_stopping_leaves_no_process(gateway):
    """Last in the module: it stops the shared gateway."""
    pid = int((gateway.project / "gateway" / "litellm.pid").read_text())
    assert gateway.run("gateway/run-local.sh", "stop").returncode == 0
    assert not Path(f"/proc/{pid}").exists()

"""A team moves between gateway engines without losing anything, live (issue 35): a Pattern C repository on LiteLLM
with a spend database, gateway/access.yaml, developers' keys and spend is switched to the Claude apps gateway with
`scripts/migrate.sh C --engine claude_apps_gateway`, rolled out as its summary says, and switched back.

At each step developers can work (a key before, a sign-in after, a key again after the way back); the LiteLLM
history stays readable with its own usage report (from the old setup the migration keeps in a worktree); gateway/.env
and access.yaml are unchanged byte for byte by every migration; the suggested sections apply cleanly with the target
engine's sync-access.sh; the lists of what could not be carried are exact; each engine keeps to its own database.
One Postgres (LiteLLM's schema in `litellm`, the apps gateway's in a database of its own), the mock provider, the test
OIDC issuer and CA of the other live modules."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from environment import clean_env, free_port
from gateways import post_messages, started_database_gateway
from generated_apps_gateway import GeneratedAppsGateway, fill_in
from mock_provider import DEFAULT_REPLY
from oidc_issuer import RunningIssuer, TestUser
from template_clone import GIT_ENV, git

pytestmark = pytest.mark.live

ALICE = TestUser(sub="00u-alice", email="alice@example.com", groups=["platform"])
ACCESS = """\
# reviewed in PR 7
teams:
  platform:
    budget: {usd: 500, period: monthly}
    rpm_limit: 600
    models: [claude-opus-5-5]
developers:
  alice@example.com:
    team: platform
    budget: {usd: 50, period: monthly}
    rpm_limit: 60
  bob:
    team: platform
    budget: {usd: 20, period: 30d}
"""
NOT_CARRIED_TO_APPS = [
    ("teams.platform.rpm_limit: 600 per minute; the Claude apps gateway has no rate limits (spend limits only); "
     "not carried"),
    ("developers.alice@example.com.team: platform; the Claude apps gateway takes group membership from your identity "
     "provider: put alice@example.com in its group platform there; not carried"),
    ("developers.alice@example.com.rpm_limit: 60 per minute; the Claude apps gateway has no rate limits (spend limits "
     "only); not carried"),
    ("developers.bob: not an email address; the Claude apps gateway knows developers by the email their identity "
     "provider sends: add them under users by email (team platform, budget $20 30d); not carried")]
NOT_CARRIED_TO_LITELLM = [
    ("groups.platform members: they come from your identity provider; give each developer team: platform by hand; "
     "not carried")]


def migrate(project: Path, home: Path, *args: str):
    env = clean_env(home, COPIER=str(Path(sys.executable).parent / "copier"), **GIT_ENV)
    return subprocess.run(["scripts/migrate.sh", *args], cwd=project, env=env, capture_output=True, text=True,
                          timeout=240, stdin=subprocess.DEVNULL, check=False)


def not_carried(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("not carried to "))
    count = int(re.search(r"\((\d+)\)", lines[start]).group(1))
    return [line.strip() for line in lines[start + 1:start + 1 + count]]


def commit(project: Path, message: str) -> None:
    git(project, "add", "-A")
    git(project, "commit", "-qm", message)


def tables(database, name: str) -> set[str]:
    return set(database.psql(name, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").split())


@pytest.fixture(scope="module")
def issuer():
    with RunningIssuer(user=ALICE) as running:
        yield running


def test_a_litellm_team_moves_to_the_apps_gateway_and_back(copie_module, template_repo, database, module_mock,
                                                           gateway_ca, issuer, claude_bin):
    timings = {}
    started = time.monotonic()
    with started_database_gateway(copie_module, template_repo, database, module_mock) as litellm:
        project, home = litellm.project, litellm.home
        env_file, access_file = project / "gateway" / ".env", project / "gateway" / "access.yaml"
        access_file.write_text(ACCESS)
        synced = litellm.run("scripts/sync-access.sh")
        assert synced.returncode == 0, synced.stdout + synced.stderr
        alice_key = (project / "gateway" / "keys" / "alice@example.com.key").read_text().strip()
        for handed_over in (project / "gateway" / "keys").iterdir():  # as sync-access.sh says: hand over, delete
            handed_over.unlink()
        assert post_messages(litellm.url, alice_key)[0] == 200
        git(project, "init", "-q", "-b", "main")
        commit(project, "LiteLLM with keys")
        env_before, access_before = env_file.read_bytes(), access_file.read_bytes()
        litellm_tables = tables(database, "litellm")
        timings["litellm"] = time.monotonic() - started

        # The switch, previewed then made; the LiteLLM gateway keeps running (the rollout runs both for a while).
        port = free_port()
        url = f"https://localhost:{port}"
        to_apps = ["C", "--engine", "claude_apps_gateway", "--data", f"oidc_issuer={issuer.url}",
                   "--data", f"oidc_client_id={issuer.client_id}", "--data", f"gateway_url={url}",
                   "--data", f"gateway_port={port}", "--data", f"corporate_ca_cert={gateway_ca.cert_path}"]
        head = git(project, "rev-parse", "HEAD").strip()
        mark = time.monotonic()
        preview = migrate(project, home, *to_apps, "--preview")
        assert preview.returncode == 0, preview.stdout + preview.stderr
        assert not_carried(preview.stdout) == NOT_CARRIED_TO_APPS
        assert git(project, "status", "--porcelain") == "" and git(project, "rev-parse", "HEAD").strip() == head
        assert not (project / "gateway" / "access.claude_apps_gateway.suggested.yaml").exists()
        assert not (project / ".migration-backup").exists()
        switched = migrate(project, home, *to_apps)
        timings["migrate to apps (preview + switch)"] = time.monotonic() - mark
        assert switched.returncode == 0, switched.stdout + switched.stderr
        assert env_file.read_bytes() == env_before and access_file.read_bytes() == access_before
        assert not_carried(switched.stdout) == NOT_CARRIED_TO_APPS
        assert "then revoke the old keys" in switched.stdout and "/login" in switched.stdout
        old = Path(re.search(r"runnable, in (\S+)/ ", switched.stdout).group(1))
        old = project / old
        assert (old / "gateway" / "litellm_config.yaml").is_file() and (old / "gateway" / ".env").is_symlink()
        # A key still works, and LiteLLM's history is read with its own usage report, from the old setup.
        assert post_messages(litellm.url, alice_key)[0] == 200
        # LiteLLM writes spend in batches: wait (bounded) until the report counts alice's request.
        deadline = time.monotonic() + 90
        while True:
            history = litellm.run(str(old / "scripts" / "usage-report.sh"), "--format", "json")
            assert history.returncode == 0, history.stdout + history.stderr
            counted = any(row["developer"] == "alice@example.com" and row["spend_usd"] > 0
                          for row in json.loads(history.stdout))
            if counted or time.monotonic() > deadline:
                break
            time.sleep(2)
        assert counted, history.stdout

        # The rollout: the new engine's secrets are appended, the suggested sections applied after review.
        leaf = gateway_ca.issue(project.parent / "tls-switch", names=("localhost", "127.0.0.1"), chain=True)
        apps = GeneratedAppsGateway(project, url, claude_bin, gateway_ca.cert_path,
                                    leaf.certificate.public_bytes(serialization.Encoding.PEM).decode())
        init = apps.run("scripts/init-secrets.sh")
        assert init.returncode == 0, init.stdout + init.stderr
        assert env_file.read_bytes().startswith(env_before)  # appended to; no line of it changed
        fill_in(env_file, OIDC_CLIENT_SECRET=issuer.client_secret,
                APPS_GATEWAY_DATABASE_URL=database.create_database("claude_gateway"),
                GATEWAY_TLS_CERT=str(leaf.cert_path), GATEWAY_TLS_KEY=str(leaf.key_path))
        suggested = project / "gateway" / "access.claude_apps_gateway.suggested.yaml"
        access_file.write_text(suggested.read_text())
        suggested.unlink()
        commit(project, "Claude apps gateway")
        try:
            mark = time.monotonic()
            start = apps.run("gateway/run-local.sh", "start")
            assert start.returncode == 0, start.stdout + start.stderr + apps.log
            applied = apps.run("scripts/sync-access.sh")
            assert applied.returncode == 0, applied.stdout + applied.stderr
            commit(project, "access applied")  # the policy fragment is the team's, committed with access.yaml
            status, answer = apps.admin("GET", "/v1/organizations/spend_limits", key="GATEWAY_ADMIN_READ_KEY")
            assert status == 200 and {(item["scope"]["type"], item["amount"]) for item in answer["data"]} == {
                ("rbac_group", "50000"), ("user", "5000")}, answer
            # A developer signs in and works; the report shows who has.
            alice_home = apps.developer("alice")
            apps.signed_in_as(alice_home, ALICE.email, ALICE.groups)
            signed_in = apps.claude(alice_home)
            assert signed_in.returncode == 0 and DEFAULT_REPLY in signed_in.stdout, signed_in.stdout + signed_in.stderr
            report = apps.run("scripts/usage-report.sh", "--format", "json")
            assert report.returncode == 0 and ALICE.email in report.stdout, report.stdout + report.stderr
            # Then the old keys are revoked from the old setup, and LiteLLM's history is still there.
            (old / "gateway" / "access.yaml").write_text("teams: {}\ndevelopers: {}\n")
            pruned = litellm.run(str(old / "scripts" / "sync-access.sh"), "--prune")
            assert pruned.returncode == 0, pruned.stdout + pruned.stderr
            assert post_messages(litellm.url, alice_key)[0] == 401
            assert "alice@example.com" in litellm.run(str(old / "scripts" / "usage-report.sh")).stdout
            timings["apps gateway rollout"] = time.monotonic() - mark
            # Each engine in its own database: LiteLLM's tables are as they were, and the apps gateway's elsewhere.
            assert tables(database, "litellm") == litellm_tables
            assert tables(database, "claude_gateway") and not tables(database, "claude_gateway") & litellm_tables

            # The way back, with LiteLLM still running on its database.
            env_apps, access_apps = env_file.read_bytes(), access_file.read_bytes()
            mark = time.monotonic()
            back = migrate(project, home, "C", "--engine", "litellm", "--data",
                           f"gateway_port={litellm.url.rsplit(':', 1)[1]}", "--data", f"gateway_url={litellm.url}",
                           "--data", "spend_database=true")
            timings["migrate back"] = time.monotonic() - mark
            assert back.returncode == 0, back.stdout + back.stderr
            assert env_file.read_bytes() == env_apps and access_file.read_bytes() == access_apps
            assert not_carried(back.stdout) == NOT_CARRIED_TO_LITELLM
            old_apps = project / re.search(r"runnable, in (\S+)/ ", back.stdout).group(1)
            assert (old_apps / "gateway" / "claude-apps-gateway.yaml").is_file()
            again = litellm.run("scripts/init-secrets.sh")
            assert again.returncode == 0 and env_file.read_bytes() == env_apps, again.stdout  # all LiteLLM's were set
            suggested = project / "gateway" / "access.litellm.suggested.yaml"
            access_file.write_text(suggested.read_text())
            suggested.unlink()
            commit(project, "back to LiteLLM")
            resynced = litellm.run("scripts/sync-access.sh")
            assert resynced.returncode == 0, resynced.stdout + resynced.stderr
            new_key = (project / "gateway" / "keys" / "alice@example.com.key").read_text().strip()
            assert new_key != alice_key and post_messages(litellm.url, new_key)[0] == 200, resynced.stdout
            history = litellm.run("scripts/usage-report.sh", "--format", "json")
            assert any(row["developer"] == "alice@example.com" and row["spend_usd"] > 0
                       for row in json.loads(history.stdout)), history.stdout
            # The apps gateway's own history, from its old setup, until it stops.
            apps_history = apps.run(str(old_apps / "scripts" / "usage-report.sh"))
            assert apps_history.returncode == 0 and ALICE.email in apps_history.stdout, apps_history.stderr
            pid = int((project / "gateway" / "claude-apps-gateway.pid").read_text())
            stopped = apps.run(str(old_apps / "gateway" / "run-local.sh"), "stop")
            assert stopped.returncode == 0 and not Path(f"/proc/{pid}").exists(), stopped.stdout + stopped.stderr
        finally:
            stop_apps_gateway(apps, project)
    print("engine switch timings: " + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in timings.items()))


def stop_apps_gateway(apps: GeneratedAppsGateway, project: Path) -> None:
    """The apps gateway started from this repository, stopped by its PID, wherever its setup now is."""
    pidfile = project / "gateway" / "claude-apps-gateway.pid"
    if not pidfile.exists():
        return
    pid = int(pidfile.read_text())
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    pidfile.unlink()

"""Switching a LiteLLM team to the SSO front and back with scripts/migrate.sh --engine (issue 36; the live round trip
between the single engines is tests/test_live_engine_switch.py): LiteLLM stays, with its database (DATABASE_URL) and
its master key, the front is added in front of it; gateway/.env and gateway/access.yaml are unchanged byte for byte;
init-secrets.sh then adds the front's secrets only; and the way back leaves LiteLLM as it was. Offline: copier, git
and the generated scripts, no gateway started."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from environment import clean_env, read_env_file
from template_clone import GIT_ENV, git

ENGINE = "claude_apps_gateway_with_litellm"
ACCESS = """\
teams:
  platform:
    budget: {usd: 500, period: 30d}
developers:
  alice@example.com:
    team: platform
    budget: {usd: 50, period: monthly}
"""
TO_FRONT = ["C", "--engine", ENGINE, "--data", "oidc_issuer=https://login.example.com",
            "--data", "oidc_client_id=claude-apps-gateway", "--data", "gateway_url=https://claude-gateway.example.com"]


def run(project: Path, home: Path, *cmd: str) -> subprocess.CompletedProcess:
    env = clean_env(home, COPIER=str(Path(sys.executable).parent / "copier"), **GIT_ENV)
    return subprocess.run(list(cmd), cwd=project, env=env, capture_output=True, text=True, timeout=240,
                          stdin=subprocess.DEVNULL, check=False)


def commit(project: Path, message: str) -> None:
    git(project, "add", "-A")
    git(project, "commit", "-qm", message)


def test_a_litellm_team_moves_behind_the_sso_front_and_back(copie, template_repo, tmp_path):
    result = copie.copy(extra_answers={"cost_tracking": True, "gateway_runtime": "process", "spend_database": True},
                        template_dir=template_repo)
    assert result.exception is None, repr(result.exception)
    project, home = result.project_dir, tmp_path / "home"
    home.mkdir()
    assert run(project, home, "scripts/init-secrets.sh").returncode == 0
    env_file, access_file = project / "gateway" / ".env", project / "gateway" / "access.yaml"
    env_file.write_text(env_file.read_text().replace("DATABASE_URL=\n", "DATABASE_URL=postgresql://litellm@db/litellm\n"))
    access_file.write_text(ACCESS)
    git(project, "init", "-q", "-b", "main")
    commit(project, "LiteLLM with keys")
    env_before, access_before = env_file.read_bytes(), access_file.read_bytes()
    litellm_before = read_env_file(env_file)

    switched = run(project, home, "scripts/migrate.sh", *TO_FRONT)
    assert switched.returncode == 0, switched.stdout + switched.stderr
    assert env_file.read_bytes() == env_before and access_file.read_bytes() == access_before
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["gateway_engine"] == ENGINE
    # Both engines' files: the front's config with LiteLLM as its one upstream, and LiteLLM's own.
    front = yaml.safe_load((project / "gateway" / "claude-apps-gateway.yaml").read_text())
    assert [u["name"] for u in front["upstreams"]] == ["litellm"] and front["upstreams"][0]["forward_user_identity"]
    assert (project / "gateway" / "litellm_config.yaml").is_file() and (project / "gateway" / "run-litellm.sh").is_file()
    suggested = yaml.safe_load((project / "gateway" / f"access.{ENGINE}.suggested.yaml").read_text())
    assert suggested["users"]["alice@example.com"]["budget"] == {"usd": 50, "period": "monthly"}, suggested
    assert "developers.alice@example.com.team: platform" in switched.stdout  # named as not carried

    # init-secrets.sh adds the front's secrets and its key at LiteLLM; LiteLLM's own values stay as they were.
    added = run(project, home, "scripts/init-secrets.sh")
    assert added.returncode == 0, added.stdout + added.stderr
    after = read_env_file(env_file)
    assert {k: after[k] for k in litellm_before} == litellm_before
    assert after["LITELLM_FRONT_KEY"].startswith("sk-") and len(after["GATEWAY_SESSION_SECRET"]) >= 32
    assert env_file.read_bytes().startswith(env_before)  # appended, no line of it changed
    commit(project, "behind the SSO front")

    back = run(project, home, "scripts/migrate.sh", "C", "--engine", "litellm")
    assert back.returncode == 0, back.stdout + back.stderr
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["gateway_engine"] == "litellm"
    assert read_env_file(env_file) == after and access_file.read_bytes() == access_before
    assert not (project / "gateway" / "claude-apps-gateway.yaml").exists()
    assert (project / "gateway" / "run-local.sh").is_file() and not (project / "gateway" / "run-litellm.sh").exists()

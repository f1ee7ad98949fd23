"""Groups, models and spend limits as code for the generated Claude apps gateway, live (issue 33): Pattern C with
gateway_engine=claude_apps_gateway started by its own scripts (tests/support/generated_apps_gateway.py), the test
OIDC issuer, a throwaway Postgres, the mock provider and the real CLI signed in as two developers in two IdP groups.

- the generated config makes the email the user id: a real /login mints a session whose `sub` is the email, and a
  spend limit keyed by the email stops that developer (429; the CLI prints the message) and no one else."""

from __future__ import annotations

import base64
import json

import postgres
import pytest
from apps_gateway import device_login
from environment import require_tool
from generated_apps_gateway import started_apps_gateway
from mock_provider import DEFAULT_REPLY, RunningMock
from oidc_issuer import RunningIssuer, TestUser
from tls_ca import TestCA

pytestmark = pytest.mark.live

CONTACT = "#ai-budget"
# Opaque subjects, as real identity providers issue them: nobody could write these into gateway/access.yaml.
ALICE = TestUser(sub="00u-alice-opaque", email="alice@example.com", groups=["engineering"])
BOB = TestUser(sub="00u-bob-opaque", email="bob@example.com", groups=["sales"])


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture(scope="module")
def gateway_db():
    require_tool(postgres.PG_BIN / "initdb", "PostgreSQL 15", "apt-get install postgresql")
    with postgres.Postgres() as db:
        yield db


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return TestCA.create(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def issuer():
    with RunningIssuer(user=ALICE) as running:
        yield running


@pytest.fixture(scope="module")
def mock():
    with RunningMock() as running:
        yield running


@pytest.fixture(scope="module")
def gateway(copie_module, template_repo, claude_bin, issuer, gateway_db, ca, mock):
    with started_apps_gateway(copie_module, template_repo, claude_bin, issuer, gateway_db, ca, mock.url,
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

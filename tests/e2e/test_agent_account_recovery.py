"""The account flows an agent expects besides sign-up and login, through the gateway and
without a token where the agent has none: a new confirmation code, a forgotten password,
a changed password (Cognito's own APIs behind them)."""
from __future__ import annotations

import time

import pytest

from tests.builders.agents import PASSWORD, login, new_agent, new_email, sign_up
from tests.helpers import api
from travel_platform.settings import BaseServiceSettings

pytestmark = pytest.mark.stack

NEW_PASSWORD = "Sturdier-pass-2025"
# moto checks a code only when it has moto's own prefix, and then it must be the one drawn.
WRONG_CODE = "moto-confirmation-code:000000"
SAME_ANSWER = {"code_sent_if_account_exists": True}


def _post(gateway: str, path: str, token: str | None = None, **body):
    return api(gateway, "POST", f"/api/agents/{path}", token, json=body)


def test_a_confirmation_code_is_resent_until_the_account_is_confirmed(gateway):
    email = new_email()
    assert sign_up(gateway, email).status_code == 201
    resent = _post(gateway, "resend-confirmation-code", email=email)
    assert (resent.status_code, resent.json()) == (200, SAME_ANSWER)
    assert _post(gateway, "confirm-signup", email=email, password=PASSWORD,
                 code="123456").status_code == 200
    again = _post(gateway, "resend-confirmation-code", email=email)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_confirmed"


def test_code_requests_do_not_tell_which_addresses_have_an_account(gateway):
    agent = new_agent(gateway)
    nobody = new_email("nobody")
    for path in ("resend-confirmation-code", "forgot-password"):
        answer = _post(gateway, path, email=nobody)
        assert (answer.status_code, answer.json()) == (200, SAME_ANSWER), path
    known = _post(gateway, "forgot-password", email=agent.email)
    assert (known.status_code, known.json()) == (200, SAME_ANSWER)
    unknown = _post(gateway, "confirm-forgot-password", email=nobody, code="123456",
                    new_password=NEW_PASSWORD)
    assert unknown.status_code == 400 and \
        unknown.json()["error"]["code"] == "invalid_confirmation_code"


def test_a_forgotten_password_is_replaced_with_the_emailed_code(gateway):
    agent = new_agent(gateway)
    assert _post(gateway, "forgot-password", email=agent.email.upper()).status_code == 200
    wrong = _post(gateway, "confirm-forgot-password", email=agent.email, code=WRONG_CODE,
                  new_password=NEW_PASSWORD)
    assert wrong.status_code == 400, wrong.text
    assert wrong.json()["error"]["code"] == "invalid_confirmation_code"
    login(gateway, agent.email)  # a wrong code changed nothing

    done = _post(gateway, "confirm-forgot-password", email=agent.email, code="123456",
                 new_password=NEW_PASSWORD)
    assert (done.status_code, done.json()) == (200, {"password_changed": True})
    assert login(gateway, agent.email, NEW_PASSWORD)["access_token"]
    old = _post(gateway, "login", email=agent.email, password=PASSWORD)
    assert old.status_code == 401


def test_an_agent_changes_their_password_knowing_the_current_one(gateway):
    agent = new_agent(gateway)
    change = "/api/agents/me/password"
    wrong = api(gateway, "POST", change, agent.token,
                json={"current_password": "not-it", "new_password": NEW_PASSWORD})
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "wrong_password"
    weak = api(gateway, "POST", change, agent.token,
               json={"current_password": PASSWORD, "new_password": "short"})
    assert weak.status_code == 422, weak.text
    assert weak.json()["error"]["details"][0]["field"] == "new_password"
    login(gateway, agent.email)  # neither changed anything

    done = api(gateway, "POST", change, agent.token,
               json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert done.status_code == 200, done.text
    assert login(gateway, agent.email, NEW_PASSWORD)["access_token"]


def test_changing_a_password_needs_an_agents_token(gateway, operator_token):
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert api(gateway, "POST", "/api/agents/me/password", json=body).status_code == 401
    assert api(gateway, "POST", "/api/agents/me/password", operator_token,
               json=body).status_code == 403


# Each process reuses an issuer's answer about a token for at most this long.
BOUND = BaseServiceSettings.model_fields["auth_liveness_seconds"].default


def _refused_within_the_bound(gateway: str, token: str) -> int:
    """The status a token meets at the gateway once the revocation bound has passed."""
    deadline = time.monotonic() + BOUND + 2
    while True:
        status = api(gateway, "GET", "/api/agents/me", token).status_code
        if status == 401 or time.monotonic() > deadline:
            return status
        time.sleep(0.5)


def test_a_password_change_ends_every_other_session_and_keeps_the_callers(gateway):
    # Issue 21, finding 6: a stolen session outlived the password change meant to end it.
    agent = new_agent(gateway)
    stolen = login(gateway, agent.email)
    done = api(gateway, "POST", "/api/agents/me/password", agent.token,
               json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert done.status_code == 200, done.text
    fresh = done.json()
    assert api(gateway, "GET", "/api/agents/me", fresh["access_token"]).status_code == 200
    assert _post(gateway, "refresh", refresh_token=fresh["refresh_token"]).status_code == 200
    assert _post(gateway, "refresh", refresh_token=stolen["refresh_token"]).status_code == 401
    assert _refused_within_the_bound(gateway, stolen["access_token"]) == 401


def test_a_reset_password_ends_every_session(gateway):
    agent = new_agent(gateway)
    assert _post(gateway, "forgot-password", email=agent.email).status_code == 200
    done = _post(gateway, "confirm-forgot-password", email=agent.email, code="123456",
                 new_password=NEW_PASSWORD)
    assert done.status_code == 200, done.text
    refused = _post(gateway, "refresh", refresh_token=agent.tokens["refresh_token"])
    assert refused.status_code == 401, refused.text
    assert login(gateway, agent.email, NEW_PASSWORD)["access_token"]

"""Travel agents' accounts through the gateway: sign-up, confirmation, login, refresh,
sign-out, their own profile, and what each mistake answers."""
from __future__ import annotations

import time

import pytest

from tests.builders.agents import (
    PASSWORD,
    agent_row,
    cognito_user,
    confirm,
    login,
    new_agent,
    new_email,
    rds,
    sign_up,
)
from tests.helpers import api
from travel_platform.settings import BaseServiceSettings

pytestmark = pytest.mark.stack


def test_sign_up_confirm_login_refresh_me_patch_and_sign_out(gateway, stack_env, cognito):
    email = new_email()
    created = sign_up(gateway, email.upper(), agency_name="  Atlas Voyages ", country="fr",
                      phone="+33 6 12-34-56-78")
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == "/api/agents/me"
    agent = created.json()["agent"]
    assert agent == {**agent, "email": email, "agency_name": "Atlas Voyages", "country": "FR",
                     "phone": "+33612345678", "status": "pending", "commission_rate": "0.1000"}
    assert created.json()["user_confirmed"] is False
    assert cognito_user(cognito, stack_env, email)["UserStatus"] == "UNCONFIRMED"

    not_yet = api(gateway, "POST", "/api/agents/login", json={"email": email, "password": PASSWORD})
    assert not_yet.status_code == 403
    assert not_yet.json()["error"]["code"] == "account_not_confirmed"

    confirmed = confirm(gateway, email)
    assert confirmed.status_code == 200, confirmed.text
    tokens = login(gateway, email.title())      # the address is matched in any case
    assert tokens["token_type"] == "Bearer" and tokens["refresh_token"]

    refreshed = api(gateway, "POST", "/api/agents/refresh",
                    json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    access = refreshed.json()["access_token"]
    assert access and access != tokens["access_token"]

    me = api(gateway, "GET", "/api/agents/me", access)
    assert me.status_code == 200, me.text
    assert me.json()["identity"]["subject"] == agent["cognito_sub"]
    assert me.json()["profile"]["id"] == agent["id"]

    patched = api(gateway, "PATCH", "/api/agents/me", access,
                  json={"agency_name": "Atlas Voyages SARL", "phone": None})
    assert patched.status_code == 200, patched.text
    profile = patched.json()["profile"]
    assert profile == {**profile, "agency_name": "Atlas Voyages SARL", "phone": None,
                       "country": "FR", "email": email}
    assert profile["updated_at"] > agent["updated_at"]       # kept by the database
    assert api(gateway, "GET", "/api/agents/me", access).json()["profile"] == profile

    signed_out = api(gateway, "POST", "/api/agents/logout", access)
    assert signed_out.status_code == 204, signed_out.text
    # Cognito-backed calls refuse what the sign-out revoked...
    again = api(gateway, "POST", "/api/agents/logout", access)
    assert again.status_code == 401 and again.json()["error"]["code"] == "token_revoked"
    stale = api(gateway, "POST", "/api/agents/refresh",
                json={"refresh_token": tokens["refresh_token"]})
    assert stale.status_code == 401
    assert stale.json()["error"]["code"] == "invalid_refresh_token"
    # ...and every other call refuses the access token too, once Cognito's answer reaches
    # every process (AUTH_LIVENESS_SECONDS; tests/e2e/test_revocation.py has each case).
    time.sleep(BaseServiceSettings.model_fields["auth_liveness_seconds"].default + 0.5)
    for _ in range(4):
        refused = api(gateway, "GET", "/api/agents/me", access)
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "token_revoked"


def test_sign_out_needs_a_token(gateway):
    response = api(gateway, "POST", "/api/agents/logout")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_missing"


def test_wrong_password_and_unknown_user_get_the_same_answer(gateway):
    agent = new_agent(gateway)
    answers = [api(gateway, "POST", "/api/agents/login", json={"email": email,
                                                              "password": "Wrong-pass-123"})
               for email in (agent.email, new_email("nobody"))]
    assert [a.status_code for a in answers] == [401, 401]
    bodies = [{k: v for k, v in a.json()["error"].items() if k != "request_id"} for a in answers]
    assert bodies[0] == bodies[1]
    assert bodies[0]["code"] == "invalid_credentials"


@pytest.mark.parametrize("password, problem", [("Short-1a", "long"), ("alllowercase-123", "upper"),
                                               ("NoDigitsHere-abc", "numeric")])
def test_weak_password_is_422_and_leaves_nothing_behind(gateway, stack_env, cognito, password,
                                                        problem):
    email = new_email()
    response = sign_up(gateway, email, password=password)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "weak_password"
    assert error["details"][0]["field"] == "password"
    assert cognito_user(cognito, stack_env, email) is None
    assert agent_row(stack_env, email) is None


def test_a_confirmed_accounts_email_is_409_in_any_case(gateway):
    email = new_agent(gateway).email
    for again in (email, email.upper()):
        response = sign_up(gateway, again, agency_name="Someone Else")
        assert response.status_code == 409, response.text
        assert response.json()["error"]["code"] == "email_already_registered"


def test_a_failed_insert_deletes_the_cognito_user_and_a_retry_then_works(
        gateway, stack_env, cognito):
    # A row an administrator acted on holds the address (its Cognito user is gone): SignUp
    # succeeds, the row refuses it, and the new Cognito user must be deleted again.
    email = new_email()
    with rds(stack_env) as conn:
        conn.execute("""insert into travel_agents (cognito_sub, email, agency_name, status)
                        values (gen_random_uuid()::text, %s, 'Stale Row', 'suspended')""",
                     (email,))
    refused = sign_up(gateway, email)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "email_already_registered"
    assert cognito_user(cognito, stack_env, email) is None      # compensated

    with rds(stack_env) as conn:
        conn.execute("delete from travel_agents where email = %s", (email,))
    retried = sign_up(gateway, email)
    assert retried.status_code == 201, retried.text
    user = cognito_user(cognito, stack_env, email)
    assert user is not None
    sub = next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")
    assert agent_row(stack_env, email) == {"cognito_sub": sub, "status": "pending"}


def test_an_orphaned_unconfirmed_cognito_user_makes_way_for_a_new_sign_up(
        gateway, stack_env, cognito):
    # What a sign-up whose undo also failed leaves: an unconfirmed user and no row.
    email = new_email()
    orphan = cognito.sign_up(ClientId=stack_env["AWS_COGNITO_CLIENT_ID"], Username=email,
                             Password=PASSWORD, UserAttributes=[{"Name": "email", "Value": email}])
    response = sign_up(gateway, email)
    assert response.status_code == 201, response.text
    new_sub = response.json()["agent"]["cognito_sub"]
    assert new_sub != orphan["UserSub"]
    assert agent_row(stack_env, email)["cognito_sub"] == new_sub


def test_a_squatters_sign_up_neither_blocks_nor_captures_the_owner(gateway, stack_env):
    email = new_email("owner")
    squatter_password, owner_password = "Squatter-pass-2024", "Owners-pass-2024"
    squatted = sign_up(gateway, email, password=squatter_password, agency_name="Squat Ltd")
    assert squatted.status_code == 201, squatted.text

    # The owner signs up their own address: the unconfirmed account makes way.
    owned = sign_up(gateway, email, password=owner_password, agency_name="Owner Travel")
    assert owned.status_code == 201, owned.text
    profile = owned.json()["agent"]
    assert profile["cognito_sub"] != squatted.json()["agent"]["cognito_sub"]
    assert profile["agency_name"] == "Owner Travel" and profile["status"] == "pending"
    assert agent_row(stack_env, email)["cognito_sub"] == profile["cognito_sub"]

    # The code goes to the owner's inbox; with it, only the owner's password confirms, so a
    # squatter who signs up again cannot have the owner confirm an account they hold.
    assert sign_up(gateway, email, password=squatter_password).status_code == 201
    refused = confirm(gateway, email, owner_password)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "invalid_confirmation_code"
    assert sign_up(gateway, email, password=owner_password,
                   agency_name="Owner Travel").status_code == 201
    assert confirm(gateway, email, squatter_password).status_code == 400
    assert confirm(gateway, email, owner_password).status_code == 200
    assert login(gateway, email, owner_password)["access_token"]
    bad = api(gateway, "POST", "/api/agents/login",
              json={"email": email, "password": squatter_password})
    assert bad.status_code == 401

    # Confirmed, the address is the owner's: a new sign-up is 409, and so is a new confirm.
    again = sign_up(gateway, email, password=squatter_password)
    assert again.status_code == 409 and "confirm" not in again.json()["error"]["message"]
    twice = confirm(gateway, email, owner_password)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_confirmed"


def test_a_confirmed_cognito_user_without_a_row_is_not_replaced(gateway, stack_env, cognito,
                                                                admin):
    response = sign_up(gateway, admin.email)
    assert response.status_code == 409
    assert cognito_user(cognito, stack_env, admin.email)["UserStatus"] == "CONFIRMED"
    assert agent_row(stack_env, admin.email) is None


def test_a_token_without_an_agent_profile_gets_404(gateway, admin):
    for method, kwargs in (("GET", {}), ("PATCH", {"json": {"country": "PT"}})):
        response = api(gateway, method, "/api/agents/me", admin.token, **kwargs)
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "agent_profile_not_found"


def test_confirming_an_unknown_address_says_nothing_about_accounts(gateway):
    # moto accepts any code for an existing user, so a wrong code cannot be shown here;
    # an unknown user gets the answer a wrong code gets.
    response = confirm(gateway, new_email("nobody"))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_confirmation_code"


def test_refresh_with_a_made_up_token_is_401(gateway):
    response = api(gateway, "POST", "/api/agents/refresh", json={"refresh_token": "made-up"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_refresh_token"


def _fields(response) -> set[str]:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    return {d["field"] for d in error["details"]}


def test_sign_up_lists_every_bad_field(gateway):
    response = api(gateway, "POST", "/api/agents/signup", json={
        "email": "not-an-address", "agency_name": "", "country": "XX", "phone": "12345",
        "admin": True})
    assert _fields(response) == {"email", "password", "agency_name", "country", "phone", "admin"}


@pytest.mark.parametrize("payload, field", [
    ({"email": "new@example.com"}, "email"),            # not changeable here
    ({"status": "active"}, "status"),
    ({"commission_rate": "0.9"}, "commission_rate"),
    ({"agency_name": None}, "agency_name"),
    ({"agency_name": "x" * 201}, "agency_name"),
    ({"agency_name": "Tab\tAgency"}, "agency_name"),
    ({"country": "ZZ"}, "country"),
    ({"country": "PRT"}, "country"),
    ({"phone": "0912345678"}, "phone"),
    ({"phone": "+1234567890123456"}, "phone"),
    ({}, "(body)"),
])
def test_profile_update_refuses_bad_fields(gateway, payload, field):
    agent = new_agent(gateway)
    assert _fields(api(gateway, "PATCH", "/api/agents/me", agent.token, json=payload)) == {field}


def test_bodies_must_be_json_objects(gateway):
    response = api(gateway, "POST", "/api/agents/signup", data="email=x",
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"

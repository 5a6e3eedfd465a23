"""Abuse of the operators' sign-in during the move of their logins (issue 21, second round:
findings 2, 3 and 7b), as an attacker would try it, from their own client addresses
(helpers.client_at) through the gateway:

- squatting an operator's address in the operators' pool (finding 2);
- spending Supabase Auth's per-address sign-in budget, which every operator's first sign-in
  and password change share, from anonymous logins (finding 3);
- locking an agent or an operator out with someone else's guesses (finding 7b).

Supabase Auth's limits apply to operator-service's calls here (its address, loopback, is
not exempt in this module's stack), so this module has a stack of its own. The tests run in
order and share that budget (30 password checks per 5 minutes): the last one spends it."""
from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests

from devstack import api as devstack
from devstack.api import Layout
from migrate.logins import pool_update
from tests.builders.operators import new_operator
from tests.conftest import TEST_PORT_OFFSET, TEST_STATE
from tests.e2e.migration import migrate, ok, sql
from tests.e2e.test_operator_logins import GROUPS, _move
from tests.helpers import client_at

# `devstack`: a stack of its own, called from several loopback addresses.
pytestmark = [pytest.mark.stack, pytest.mark.devstack]
LAYOUT = Layout(state=Path(f"{TEST_STATE}-login-abuse"), port_offset=TEST_PORT_OFFSET + 6000)
ATTEMPTS_PER_ADDRESS = 10    # ACCOUNT_ATTEMPTS_PER_WINDOW's default
# Supabase Auth's password sign-ins per 5 minutes per address, as the runbook advises a
# project to raise it for the window (every pool sign-in there spends one: Supabase still
# checks the password); the stand-in's default is Supabase's 30.
SIGN_IN_BUDGET = 60
ATTEMPTS_ALL_ADDRESSES = 100  # ACCOUNT_ATTEMPTS_PER_WINDOW_ALL_ADDRESSES's default
# What one test leaves a later one (they run in order).
LEFT_FOR_LATER: dict[str, str] = {}
_addresses = iter(f"127.0.{third}.{fourth}" for third in range(60, 90) for fourth in range(1, 250))


def new_client() -> requests.Session:
    """A client at a loopback address no other test of this module uses."""
    return client_at(next(_addresses))


@pytest.fixture(scope="module")
def env() -> Iterator[dict[str, str]]:
    """A fresh stack whose Auth stand-in limits operator-service too, with the operators'
    logins in the window (both sign-ins open)."""
    saved = os.environ.get("AUTH_RATE_LIMIT_EXEMPT")
    os.environ["AUTH_RATE_LIMIT_EXEMPT"] = ""
    os.environ["AUTH_RATE_LIMIT_SIGN_IN_SIGN_UPS"] = str(SIGN_IN_BUDGET)
    try:
        with devstack.fresh_stack(LAYOUT) as env:
            if saved is not None:
                os.environ["AUTH_RATE_LIMIT_EXEMPT"] = saved
            del os.environ["AUTH_RATE_LIMIT_SIGN_IN_SIGN_UPS"]
            ok(env, "backup", "operators")
            ok(env, "start", "operators")
            yield env
    finally:
        if saved is not None:
            os.environ["AUTH_RATE_LIMIT_EXEMPT"] = saved
        os.environ.pop("AUTH_RATE_LIMIT_SIGN_IN_SIGN_UPS", None)


def operator_login(env: dict, email: str, password: str,
                   client: requests.Session | None = None) -> requests.Response:
    return (client or new_client()).post(f"{env['GATEWAY_URL']}/api/operators/login",
                                         json={"email": email, "password": password},
                                         timeout=30)


def cognito(env: dict):
    return boto3.client("cognito-idp", region_name=env["AWS_REGION"],
                        endpoint_url=env["AWS_ENDPOINT_URL"],
                        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])


def squat(env: dict, email: str) -> str:
    """What the review did: a public SignUp of someone else's address to the operators'
    pool with the console's public client id (moto takes it; AWS refuses it now that the
    pool is admin-create-only: tests/unit/test_terraform.py holds that). Its sub."""
    made = cognito(env).sign_up(ClientId=env["AWS_COGNITO_OPERATOR_CLIENT_ID"], Username=email,
                                Password="Squatter-1234",
                                UserAttributes=[{"Name": "email", "Value": email}])
    return made["UserSub"]


def pool_subs(env: dict, email: str) -> list[str]:
    users = cognito(env).list_users(UserPoolId=env["AWS_COGNITO_OPERATOR_POOL_ID"],
                                    Filter=f'email = "{email}"')["Users"]
    return [next(a["Value"] for a in u["Attributes"] if a["Name"] == "sub") for u in users]


def assert_429(answer: requests.Response) -> None:
    assert answer.status_code == 429, answer.text
    assert int(answer.headers["Retry-After"]) >= 1
    assert answer.json()["error"]["code"] == "too_many_requests"


# --- finding 2: a squatter in the operators' pool ------------------------------------------

def test_a_squatter_of_an_operators_address_yields_to_their_first_sign_in(env):
    victim = new_operator(env, sign_in=False)
    squatter = squat(env, victim.email)
    signed_in = operator_login(env, victim.email, victim.password)
    assert signed_in.status_code == 200, signed_in.text
    [sub] = pool_subs(env, victim.email)
    assert sub != squatter
    assert sql(env, "rds", "select cognito_sub, operator_id::text from operator_identities "
               "where email = %s", (victim.email,)) == [(sub, victim.id)]


def test_import_logins_replaces_a_squatter_and_finalize_is_not_held_by_it(env):
    victim = new_operator(env, sign_in=False)
    squatter = squat(env, victim.email)
    imported = ok(env, "import-logins", "operators")
    assert f"imported {victim.email}" in imported, imported
    [sub] = pool_subs(env, victim.email)
    assert sub != squatter
    assert sql(env, "rds", "select operator_id::text from operator_identities where "
               "cognito_sub = %s", (sub,)) == [(victim.id,)]
    # Nobody is left for finalize to wait for because of the squatter.
    refused = migrate(env, "finalize", "operators")
    assert victim.email not in refused.stderr + refused.stdout


def test_a_pool_user_of_another_operator_is_never_replaced(env):
    other, victim = new_operator(env, sign_in=False), new_operator(env, sign_in=False)
    made = cognito(env).admin_create_user(
        UserPoolId=env["AWS_COGNITO_OPERATOR_POOL_ID"], Username=victim.email,
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": victim.email},
                        {"Name": "custom:operator_id", "Value": other.id}])
    sub = next(a["Value"] for a in made["User"]["Attributes"] if a["Name"] == "sub")
    refused = operator_login(env, victim.email, victim.password)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "sign_in_conflict"
    assert pool_subs(env, victim.email) == [sub]
    # What support does (the victim then moves; finalize, last, waits for nobody).
    cognito(env).admin_delete_user(UserPoolId=env["AWS_COGNITO_OPERATOR_POOL_ID"],
                                   Username=victim.email)


# --- finding 3: the shared Supabase budget ---------------------------------------------------

def test_anonymous_logins_with_made_up_emails_do_not_spend_the_sign_in_budget(env):
    # Made-up e-mails, each from its own address (no per-address limit holds them back):
    # more than Supabase Auth's password sign-ins per 5 minutes per address.
    for _ in range(SIGN_IN_BUDGET + 10):
        refused = operator_login(env, f"nobody-{uuid.uuid4().hex[:12]}@example.com",
                                 "Guess-123456")
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"]["code"] == "invalid_credentials"
    operator = new_operator(env, sign_in=False)
    signed_in = operator_login(env, operator.email, operator.password)
    assert signed_in.status_code == 200, signed_in.text


def test_an_unknown_email_and_a_wrong_password_answer_alike(env):
    operator = new_operator(env, sign_in=False)
    client = new_client()
    timings: dict[str, list[float]] = {"unknown": [], "wrong": []}
    bodies = set()
    for _ in range(3):
        for case, email in (("unknown", f"nobody-{uuid.uuid4().hex[:12]}@example.com"),
                            ("wrong", operator.email)):
            started = time.monotonic()
            answer = operator_login(env, email, "Guess-123456", client)
            timings[case].append(time.monotonic() - started)
            assert answer.status_code == 401, answer.text
            error = answer.json()["error"]
            bodies.add((error["code"], error["message"]))
    assert len(bodies) == 1
    unknown, wrong = (statistics.median(timings[c]) for c in ("unknown", "wrong"))
    # Refused in about the time a password check takes (loose: 2 cores, other stacks).
    assert unknown >= 0.5 * wrong, timings


# --- finding 7b: someone else's guesses -----------------------------------------------------

def test_an_agents_guesser_does_not_lock_the_agent_out(env):
    email, password = env["DEMO_AGENT_EMAIL"], env["DEMO_AGENT_PASSWORD"]
    guesser = new_client()
    answers = [guesser.post(f"{env['GATEWAY_URL']}/api/agents/login",
                            json={"email": email, "password": "Wrong-pass-1"}, timeout=30)
               for _ in range(ATTEMPTS_PER_ADDRESS + 2)]
    assert [a.status_code for a in answers[:ATTEMPTS_PER_ADDRESS]] == [401] * ATTEMPTS_PER_ADDRESS
    assert_429(answers[-1])
    # The guesser's address waits; the agent at theirs signs in.
    owner = new_client().post(f"{env['GATEWAY_URL']}/api/agents/login",
                              json={"email": email.upper(), "password": password}, timeout=30)
    assert owner.status_code == 200, owner.text
    assert_429(guesser.post(f"{env['GATEWAY_URL']}/api/agents/login",
                            json={"email": email, "password": password}, timeout=30))


def test_an_agent_has_a_ceiling_across_addresses(env):
    gateway = env["GATEWAY_URL"]
    email = f"ceiling-{uuid.uuid4().hex[:12]}@example.com"
    answers = []
    for _ in range(ATTEMPTS_ALL_ADDRESSES // ATTEMPTS_PER_ADDRESS + 1):
        client = new_client()
        answers += [client.post(f"{gateway}/api/agents/login",
                                json={"email": email, "password": "Wrong-pass-1"},
                                timeout=30).status_code
                    for _ in range(ATTEMPTS_PER_ADDRESS)]
    assert answers.count(401) == ATTEMPTS_ALL_ADDRESSES, answers
    assert_429(new_client().post(f"{gateway}/api/agents/login",
                                 json={"email": email, "password": "Wrong-pass-1"}, timeout=30))


def test_an_operators_guesser_does_not_lock_the_operator_out(env):
    operator = new_operator(env, sign_in=False)
    assert operator_login(env, operator.email, operator.password).status_code == 200
    guesser = new_client()
    answers = [operator_login(env, operator.email, "Guess-123456", guesser)
               for _ in range(ATTEMPTS_PER_ADDRESS + 1)]
    assert [a.status_code for a in answers[:-1]] == [401] * ATTEMPTS_PER_ADDRESS
    assert_429(answers[-1])
    signed_in = operator_login(env, operator.email.upper(), operator.password)
    assert signed_in.status_code == 200, signed_in.text
    token = signed_in.json()["access_token"]
    LEFT_FOR_LATER["operator_token"] = token
    # The password change counts the same way, before Supabase Auth is asked.
    changes = [guesser.post(f"{env['GATEWAY_URL']}/api/operators/me/password",
                            headers={"Authorization": f"Bearer {token}"},
                            json={"current_password": "Guess-123456",
                                  "new_password": "Changed-Pass-1234"}, timeout=30)
               for _ in range(ATTEMPTS_PER_ADDRESS + 1)]
    assert [a.status_code for a in changes[:-1]] == [403] * ATTEMPTS_PER_ADDRESS
    assert_429(changes[-1])


# --- last: Supabase Auth's own limit, spent -------------------------------------------------

def test_supabase_auths_own_limit_is_a_429_with_retry_after_never_a_503(env):
    # Wrong passwords of real operators, each from its own address, until Supabase Auth's
    # per-address budget (operator-service's one address) is spent.
    operators = [new_operator(env, sign_in=False) for _ in range(5)]
    answers = []
    for attempt in range(2 * SIGN_IN_BUDGET):
        answer = operator_login(env, operators[attempt % 5].email, "Guess-123456")
        answers.append(answer)
        if answer.status_code != 401:
            break
    assert answers[-1].status_code == 429, [a.status_code for a in answers]
    assert_429(answers[-1])
    # A first sign-in with the right password meets the same limit, told when to retry.
    newcomer = new_operator(env, sign_in=False)
    assert_429(operator_login(env, newcomer.email, newcomer.password))


def test_finalize_takes_the_trigger_off_the_pool_and_says_so(env):
    # After the budget is spent, a token of the pool from earlier moves the units on (run
    # alone, a first sign-in gives one).
    token = LEFT_FOR_LATER.get("operator_token")
    if token is None:
        operator = new_operator(env, sign_in=False)
        token = operator_login(env, operator.email, operator.password).json()["access_token"]
    for carrier, members in GROUPS:
        _move(env, carrier, members, token)
    ok(env, "import-logins", "operators")
    # The trigger as Terraform attaches it (moto runs none; provision.py attaches none).
    client, pool_id = cognito(env), env["AWS_COGNITO_OPERATOR_POOL_ID"]
    trigger = "arn:aws:lambda:us-east-1:123456789012:function:travel-platform-user-migration"
    pool = client.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    client.update_user_pool(**pool_update(pool, lambda_config={"UserMigration": trigger}))
    finalized = ok(env, "finalize", "operators")
    assert "UserMigration trigger" in finalized and "detached" in finalized, finalized
    after = client.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert "UserMigration" not in (after.get("LambdaConfig") or {})
    assert after["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True

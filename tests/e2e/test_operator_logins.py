"""Operators' logins move from Supabase Auth to the operators' Cognito pool (issue 9,
docs/operator-logins.md), with real clients: supabase-py before, boto3 after, our API
throughout. Moving logins changes which tokens the whole stack accepts, so this module has a
stack of its own (started here, stopped after, also when tests fail). The tests run in
order: each leaves the move where the next expects it."""
from __future__ import annotations

import datetime
import shutil
import threading
import time
import uuid
from pathlib import Path

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from devstack import stack
from devstack.layout import Layout
from supabase import create_client
from tests.conftest import TEST_PORT_OFFSET, TEST_STATE
from tests.e2e.agents import login
from tests.e2e.packages import package_fields, publish_package
from tests.e2e.test_migration_tool import migrate, ok, sql, status
from tests.helpers import api, logged_request_ids
from travel_platform.clock import utc_today

pytestmark = pytest.mark.stack
GROUPS = (("packages", ("addons", "exclusions", "packages")), ("operators", ("operators",)))
# What one test leaves the next (they run in order).
LEFT_FOR_LATER: dict[str, tuple[str, str]] = {}
LAYOUT = Layout(state=Path(f"{TEST_STATE}-logins"), port_offset=TEST_PORT_OFFSET + 1000)


@pytest.fixture(scope="module")
def env() -> dict:
    """A fresh whole stack whose operators' logins the tests move."""
    layout = LAYOUT
    stack.down(layout)
    shutil.rmtree(layout.state, ignore_errors=True)
    try:
        yield stack.up(layout)
    finally:
        stack.down(layout)


def cognito(env: dict):
    """boto3's Cognito client, as a frontend's backend or an operator's tool would use it."""
    return boto3.client("cognito-idp", region_name=env["AWS_REGION"],
                        endpoint_url=env["AWS_ENDPOINT_URL"],
                        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])


def supabase_sign_in(env: dict, email: str, password: str) -> str:
    """An access token from Supabase Auth, through supabase-py (what operators use before)."""
    client = create_client(env["SUPABASE_URL"], env["SUPABASE_ANON_KEY"])
    return client.auth.sign_in_with_password({"email": email, "password": password}) \
        .session.access_token


def cognito_sign_in(env: dict, email: str, password: str) -> str:
    """An access token straight from the operators' pool, through boto3 (what they use after)."""
    answer = cognito(env).initiate_auth(
        ClientId=env["AWS_COGNITO_OPERATOR_CLIENT_ID"], AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password})
    return answer["AuthenticationResult"]["AccessToken"]


def log_in(env: dict, email: str, password: str) -> requests.Response:
    """POST /api/operators/login through the gateway."""
    return api(env["GATEWAY_URL"], "POST", "/api/operators/login",
               json={"email": email, "password": password})


def cognito_user(env: dict, email: str) -> dict | None:
    """The operators' pool's user with this e-mail, or None."""
    try:
        return cognito(env).admin_get_user(UserPoolId=env["AWS_COGNITO_OPERATOR_POOL_ID"],
                                           Username=email)
    except ClientError as error:
        assert error.response["Error"]["Code"] == "UserNotFoundException"
        return None


def new_supabase_operator(env: dict, **extra) -> tuple[str, str, str]:
    """(id, e-mail, password) of a new Supabase Auth user, confirmed."""
    email, password = f"op-{uuid.uuid4().hex[:10]}@example.com", f"Pw-{uuid.uuid4().hex[:12]}"
    admin = {"apikey": env["SUPABASE_SERVICE_ROLE_KEY"],
             "Authorization": f"Bearer {env['SUPABASE_SERVICE_ROLE_KEY']}"}
    created = requests.post(f"{env['SUPABASE_URL']}/auth/v1/admin/users", headers=admin,
                            json={"email": email, "password": password, "email_confirm": True,
                                  **extra}, timeout=10)
    assert created.status_code == 200, created.text
    return created.json()["id"], email, password


def views(env: dict, token: str) -> dict:
    """What an operator sees of their own: profile, packages, bookings."""
    gateway = env["GATEWAY_URL"]
    me = api(gateway, "GET", "/api/operators/me", token)
    packages = api(gateway, "GET", "/api/operators/me/packages?limit=100", token)
    bookings = api(gateway, "GET", "/api/bookings?limit=100", token)
    for answer in (me, packages, bookings):
        assert answer.status_code == 200, answer.text
    return {"operator": me.json()["identity"]["subject"], "profile": me.json()["profile"],
            "packages": packages.json(), "bookings": bookings.json()}


def eventually(request, status: int, *, seconds: float = 5.0) -> requests.Response:
    """The first answer of `request()` with `status`, or the last one after `seconds` (each
    process re-reads the state of the move at most every second)."""
    deadline = time.monotonic() + seconds
    while True:
        answer = request()
        if answer.status_code == status or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def test_before_the_move_operators_sign_in_with_supabase_only(env):
    refused = log_in(env, env["DEMO_OPERATOR_EMAIL"], env["DEMO_OPERATOR_PASSWORD"])
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "operator_login_closed"
    assert cognito_user(env, env["DEMO_OPERATOR_EMAIL"]) is None
    token = supabase_sign_in(env, env["DEMO_OPERATOR_EMAIL"], env["DEMO_OPERATOR_PASSWORD"])
    assert views(env, token)["profile"]["company_name"]
    # The demo agent books one of the operator's packages, so the operator has a booking.
    gateway = env["GATEWAY_URL"]
    package = publish_package(gateway, token)
    agent = login(gateway, env["DEMO_AGENT_EMAIL"], env["DEMO_AGENT_PASSWORD"])["access_token"]
    departure = utc_today() + datetime.timedelta(days=30)
    booked = api(gateway, "POST", "/api/bookings", agent, headers={"Idempotency-Key": "b1"},
                 json={"package_id": package["id"], "departure_date": str(departure),
                       "travellers": [{"full_name": "Ana Lopes", "email": "ana@example.com"}],
                       "addon_ids": []})
    assert booked.status_code == 201, booked.text


def test_the_first_sign_in_moves_the_demo_operator_with_the_same_password(env):
    email, password = env["DEMO_OPERATOR_EMAIL"], env["DEMO_OPERATOR_PASSWORD"]
    old_token = supabase_sign_in(env, email, password)
    before = views(env, old_token)
    assert before["packages"]["total"] >= 1 and before["bookings"]["total"] >= 1
    ok(env, "backup", "operators")
    ok(env, "start", "operators")
    signed_in = eventually(lambda: log_in(env, email, password), 200)
    assert signed_in.status_code == 200, signed_in.text
    new_token = signed_in.json()["access_token"]
    # Same operator, same data, with either token during the window.
    assert views(env, new_token) == before
    assert views(env, old_token) == before
    # The Cognito user exists now with that very password: boto3 signs in directly.
    assert cognito_user(env, email)["UserStatus"] == "CONFIRMED"
    assert views(env, cognito_sign_in(env, email, password)) == before


def test_a_wrong_password_or_a_banned_or_deleted_user_creates_nothing(env):
    _, email, password = new_supabase_operator(env)
    wrong = log_in(env, email, password + "x")
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_credentials"
    _, banned, banned_password = new_supabase_operator(env, ban_duration="24h")
    deleted_id, deleted, deleted_password = new_supabase_operator(env)
    admin = {"apikey": env["SUPABASE_SERVICE_ROLE_KEY"],
             "Authorization": f"Bearer {env['SUPABASE_SERVICE_ROLE_KEY']}"}
    assert requests.delete(f"{env['SUPABASE_URL']}/auth/v1/admin/users/{deleted_id}",
                           headers=admin, timeout=10).status_code == 200
    for who, secret in ((banned, banned_password), (deleted, deleted_password)):
        refused = log_in(env, who, secret)
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"]["code"] == "invalid_credentials"
    for who in (email, banned, deleted):
        assert cognito_user(env, who) is None, who
    assert sql(env, "rds", "select count(*) from operator_identities where email = any(%s)",
               ([email, banned, deleted],)) == [(0,)]


def test_a_race_of_first_sign_ins_makes_one_cognito_user(env):
    operator_id, email, password = new_supabase_operator(env)
    answers: list[int] = []
    barrier = threading.Barrier(8)

    def sign_in():
        barrier.wait()
        answers.append(log_in(env, email, password).status_code)

    threads = [threading.Thread(target=sign_in) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * 8
    users = cognito(env).list_users(UserPoolId=env["AWS_COGNITO_OPERATOR_POOL_ID"],
                                    Filter=f'email = "{email}"')["Users"]
    assert len(users) == 1
    assert sql(env, "rds", "select operator_id::text from operator_identities where email = %s",
               (email,)) == [(operator_id,)]


def test_a_password_changed_in_the_window_changes_on_both_sides(env):
    _, email, password = new_supabase_operator(env)
    token = log_in(env, email, password).json()["access_token"]
    new_password = "Changed-" + uuid.uuid4().hex[:10] + "A1"
    weak = api(env["GATEWAY_URL"], "POST", "/api/operators/me/password", token,
               json={"current_password": password, "new_password": "short"})
    assert weak.status_code == 400
    assert weak.json()["error"]["details"][0]["field"] == "new_password"
    wrong = api(env["GATEWAY_URL"], "POST", "/api/operators/me/password", token,
                json={"current_password": "not-it", "new_password": new_password})
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "wrong_password"
    changed = api(env["GATEWAY_URL"], "POST", "/api/operators/me/password", token,
                  json={"current_password": password, "new_password": new_password})
    assert changed.status_code == 204, changed.text
    assert supabase_sign_in(env, email, new_password)
    assert cognito_sign_in(env, email, new_password)
    assert log_in(env, email, password).status_code == 401
    LEFT_FOR_LATER["changed"] = (email, new_password)


def test_rollback_goes_back_to_supabase_and_costs_nobody_their_password(env):
    email, password = LEFT_FOR_LATER["changed"]
    demo = env["DEMO_OPERATOR_EMAIL"], env["DEMO_OPERATOR_PASSWORD"]
    cognito_token = log_in(env, *demo).json()["access_token"]
    before = views(env, cognito_token)
    ok(env, "rollback", "operators")
    refused = eventually(lambda: api(env["GATEWAY_URL"], "GET", "/api/operators/me",
                                     cognito_token), 401)
    assert refused.json()["error"]["code"] == "operator_login_closed"
    assert log_in(env, *demo).json()["error"]["code"] == "operator_login_closed"
    # Supabase Auth signs everyone in as before, with the password changed in the window.
    assert views(env, supabase_sign_in(env, *demo)) == before
    assert supabase_sign_in(env, email, password)
    # Moving again later needs no reset either.
    ok(env, "start", "operators")
    again = eventually(lambda: log_in(env, email, password), 200)
    assert again.status_code == 200, again.text


def _move(env: dict, carrier: str, members: tuple[str, ...], token: str) -> None:
    """Move a unit and those that switch with it to RDS, as the design note orders."""
    for unit in members:
        if status(env)[unit]["state"] == "new":
            ok(env, "backup", unit)
            ok(env, "start", unit)
        ok(env, "verify", unit)
    ok(env, "shadow", carrier, "on")
    path = "/api/packages" if carrier == "packages" else "/api/operators/me"
    deadline = time.monotonic() + 10
    while status(env)[carrier]["shadow_compared"] < 1 and time.monotonic() < deadline:
        assert api(env["GATEWAY_URL"], "GET", path, token).status_code == 200
        time.sleep(0.2)
    ok(env, "switch-reads", carrier)
    ok(env, "verify", carrier)
    for unit in members:
        ok(env, "verify", unit)
    ok(env, "switch-writes", carrier)


def test_status_counts_who_moved_and_the_rest_are_imported_once(env):
    never_id, never, never_password = new_supabase_operator(env)
    logins = status(env)["operators"]["logins"]
    assert logins["remaining"] >= 1 and logins["by_login"] >= 3
    refused = migrate(env, "finalize", "operators")
    assert refused.returncode == 3
    token = log_in(env, env["DEMO_OPERATOR_EMAIL"], env["DEMO_OPERATOR_PASSWORD"]).json()
    for carrier, members in GROUPS:
        _move(env, carrier, members, token["access_token"])
    refused = migrate(env, "finalize", "operators")
    assert refused.returncode == 3 and "import-logins operators" in refused.stderr
    imported = ok(env, "import-logins", "operators")
    assert never in imported and "password reset required" in imported
    assert cognito_user(env, never)["UserStatus"] == "RESET_REQUIRED"
    assert status(env)["operators"]["logins"]["remaining"] == 0
    # Never twice: a second run finds nobody.
    assert "already has a sign-in" in ok(env, "import-logins", "operators")
    # Until finalize, Supabase Auth still vouches for the old password: no reset needed yet.
    assert log_in(env, never, never_password).status_code == 200
    assert cognito_user(env, never)["UserStatus"] == "CONFIRMED"
    assert sql(env, "rds", "select linked_via from operator_identities where operator_id = %s",
               (never_id,)) == [("import",)]


def test_after_finalize_supabase_tokens_are_refused_at_the_gateway(env):
    demo = env["DEMO_OPERATOR_EMAIL"], env["DEMO_OPERATOR_PASSWORD"]
    supabase_token = supabase_sign_in(env, *demo)
    cognito_token = log_in(env, *demo).json()["access_token"]
    before = views(env, cognito_token)
    ok(env, "finalize", "operators")
    refused = eventually(lambda: api(env["GATEWAY_URL"], "GET", "/api/operators/me",
                                     supabase_token), 401)
    assert refused.json()["error"]["code"] == "account_moved"
    # Refused by the gateway: the request never reached operator-service.
    request_id = refused.headers["X-Request-ID"]
    assert request_id in logged_request_ids(LAYOUT.logs, "gateway")
    assert request_id not in logged_request_ids(LAYOUT.logs, "operator-service")
    assert views(env, cognito_token) == before
    # Bookings and the catalogue refuse it too: every route checks the same rule.
    assert api(env["GATEWAY_URL"], "GET", "/api/bookings", supabase_token).status_code == 401
    # A new package by the moved operator still belongs to them.
    made = api(env["GATEWAY_URL"], "POST", "/api/operators/me/packages", cognito_token,
               json=package_fields())
    assert made.status_code == 201 and made.json()["operator_id"] == before["operator"]

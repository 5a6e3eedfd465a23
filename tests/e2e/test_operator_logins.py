"""Operators' logins move from Supabase Auth to the operators' Cognito pool (issue 9,
docs/operator-logins.md), with real clients: supabase-py before, boto3 after, our API
throughout. Moving logins changes which tokens the whole stack accepts, so this module has a
stack of its own (started here, stopped after, also when tests fail). The tests run in
order: each leaves the move where the next expects it."""
from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from gateway_auth.verdicts import NGINX_REUSE_SECONDS
from playwright.sync_api import Page, expect

from devstack import api as devstack
from devstack.api import Layout
from supabase import create_client
from tests.builders.agents import login
from tests.builders.bookings import new_booking
from tests.builders.operators import delete_operator, new_operator, update_operator
from tests.builders.packages import package_fields, publish_package
from tests.conftest import TEST_PORT_OFFSET, TEST_STATE
from tests.e2e.browser import browser_fixture, page_fixture, sign_in  # noqa: F401
from tests.e2e.test_migration_tool import migrate, ok, sql, status
from tests.helpers import api, logged_request_ids
from travel_platform.auth.operator_logins import MAX_AGE
from travel_platform.settings import BaseServiceSettings

# `devstack`: a devstack stack of its own.
pytestmark = [pytest.mark.stack, pytest.mark.devstack]
GROUPS = (("packages", ("addons", "exclusions", "packages")), ("operators", ("operators",)))
# What one test leaves the next (they run in order).
LEFT_FOR_LATER: dict[str, tuple[str, str]] = {}
LAYOUT = Layout(state=Path(f"{TEST_STATE}-logins"), port_offset=TEST_PORT_OFFSET + 1000)


@pytest.fixture(scope="module")
def env() -> Iterator[dict[str, str]]:
    """A fresh whole stack whose operators' logins the tests move."""
    with devstack.fresh_stack(LAYOUT) as env:
        yield env


def cognito(env: dict):
    """boto3's Cognito client, as a frontend's backend or an operator's tool would use it."""
    return boto3.client("cognito-idp", region_name=env["AWS_REGION"],
                        endpoint_url=env["AWS_ENDPOINT_URL"],
                        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])


def supabase_sign_in(env: dict, email: str, password: str) -> str:
    """An access token from Supabase Auth, through supabase-py (what operators use before)."""
    client = create_client(env["SUPABASE_URL"], env["SUPABASE_ANON_KEY"])
    session = client.auth.sign_in_with_password({"email": email, "password": password}).session
    assert session is not None, f"{email}: signed in without a session"
    return session.access_token


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


def refused_after(env: dict, step: str, token: str) -> requests.Response:
    """Run `step` of the operators' move; then the first 401 an operator's `token` meets."""
    ok(env, step, "operators")
    return eventually(lambda: api(env["GATEWAY_URL"], "GET", "/api/operators/me", token), 401)


def test_before_the_move_operators_sign_in_with_supabase_only(env):
    refused = log_in(env, env["DEMO_OPERATOR_EMAIL"], env["DEMO_OPERATOR_PASSWORD"])
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "operator_login_closed"
    # A forgotten password too is Supabase Auth's to reset until the move begins (the
    # dashboard goes there on this answer).
    closed = forgot(env, env["DEMO_OPERATOR_EMAIL"])
    assert closed.status_code == 401, closed.text
    assert closed.json()["error"]["code"] == "operator_login_closed"
    assert cognito_user(env, env["DEMO_OPERATOR_EMAIL"]) is None
    token = supabase_sign_in(env, env["DEMO_OPERATOR_EMAIL"], env["DEMO_OPERATOR_PASSWORD"])
    assert views(env, token)["profile"]["company_name"]
    # The demo agent books one of the operator's packages, so the operator has a booking.
    gateway = env["GATEWAY_URL"]
    package = publish_package(gateway, token)
    agent = login(gateway, env["DEMO_AGENT_EMAIL"], env["DEMO_AGENT_PASSWORD"])["access_token"]
    new_booking(gateway, agent, package, travellers=1)


def test_before_the_move_the_dashboard_signs_operators_in_with_supabase(env, page: Page):
    # The API says its sign-in is closed; the dashboard then asks Supabase Auth (supabase-js).
    sign_in(page, env["GATEWAY_URL"], env["DEMO_OPERATOR_EMAIL"], env["DEMO_OPERATOR_PASSWORD"],
            operator=True)
    expect(page.get_by_role("heading", name="My packages")).to_be_visible()
    assert cognito_user(env, env["DEMO_OPERATOR_EMAIL"]) is None


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
    user = new_operator(env, sign_in=False)
    wrong = log_in(env, user.email, user.password + "x")
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_credentials"
    banned = new_operator(env, sign_in=False, ban_duration="24h")
    deleted = new_operator(env, sign_in=False)
    admin = {"apikey": env["SUPABASE_SERVICE_ROLE_KEY"],
             "Authorization": f"Bearer {env['SUPABASE_SERVICE_ROLE_KEY']}"}
    assert requests.delete(f"{env['SUPABASE_URL']}/auth/v1/admin/users/{deleted.id}",
                           headers=admin, timeout=10).status_code == 200
    for who in (banned, deleted):
        refused = log_in(env, who.email, who.password)
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"]["code"] == "invalid_credentials"
    emails = [user.email, banned.email, deleted.email]
    for who in emails:
        assert cognito_user(env, who) is None, who
    assert sql(env, "rds", "select count(*) from operator_identities where email = any(%s)",
               (emails,)) == [(0,)]


def test_a_race_of_first_sign_ins_makes_one_cognito_user(env):
    operator = new_operator(env, sign_in=False)
    operator_id, email, password = operator.id, operator.email, operator.password
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


def supabase_session(env: dict, email: str, password: str):
    """A whole Supabase session (access and refresh token), through supabase-py."""
    client = create_client(env["SUPABASE_URL"], env["SUPABASE_ANON_KEY"])
    return client.auth.sign_in_with_password({"email": email, "password": password}).session


def supabase_refresh(env: dict, refresh_token: str) -> requests.Response:
    """Supabase Auth's refresh grant, as supabase-js sends it."""
    return requests.post(f"{env['SUPABASE_URL']}/auth/v1/token?grant_type=refresh_token",
                         headers={"apikey": env["SUPABASE_ANON_KEY"]}, timeout=10,
                         json={"refresh_token": refresh_token})


def test_a_password_changed_in_the_window_changes_on_both_sides(env):
    operator = new_operator(env, sign_in=False)
    email, password = operator.email, operator.password
    token = log_in(env, email, password).json()["access_token"]
    new_password = "Changed-" + uuid.uuid4().hex[:10] + "A1"
    weak = api(env["GATEWAY_URL"], "POST", "/api/operators/me/password", token,
               json={"current_password": password, "new_password": "short"})
    assert weak.status_code == 400
    assert weak.json()["error"]["details"][0]["field"] == "new_password"
    wrong = api(env["GATEWAY_URL"], "POST", "/api/operators/me/password", token,
                json={"current_password": "not-it", "new_password": new_password})
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "wrong_password"
    # Sessions someone else may hold, on each side (issue 21, finding 6).
    stolen_pool = log_in(env, email, password).json()
    stolen_supabase = supabase_session(env, email, password)
    changed = api(env["GATEWAY_URL"], "POST", "/api/operators/me/password", token,
                  json={"current_password": password, "new_password": new_password})
    assert changed.status_code == 200, changed.text
    fresh = changed.json()
    assert api(env["GATEWAY_URL"], "GET", "/api/operators/me",
               fresh["access_token"]).json()["identity"]["source"] == "cognito-operators"
    assert api(env["GATEWAY_URL"], "POST", "/api/operators/refresh",
               json={"refresh_token": fresh["refresh_token"]}).status_code == 200
    assert api(env["GATEWAY_URL"], "POST", "/api/operators/refresh",
               json={"refresh_token": stolen_pool["refresh_token"]}).status_code == 401
    assert supabase_refresh(env, stolen_supabase.refresh_token).status_code != 200
    assert supabase_sign_in(env, email, new_password)
    assert cognito_sign_in(env, email, new_password)
    assert log_in(env, email, password).status_code == 401
    # Changed with a Supabase token: the caller gets a fresh Supabase session, the rest end.
    newer = "Newer-" + uuid.uuid4().hex[:10] + "A1"
    own = supabase_session(env, email, new_password)
    other = supabase_session(env, email, new_password)
    changed = api(env["GATEWAY_URL"], "POST", "/api/operators/me/password", own.access_token,
                  json={"current_password": new_password, "new_password": newer})
    assert changed.status_code == 200, changed.text
    assert supabase_refresh(env, changed.json()["refresh_token"]).status_code == 200
    assert supabase_refresh(env, other.refresh_token).status_code != 200
    assert api(env["GATEWAY_URL"], "POST", "/api/operators/refresh",
               json={"refresh_token": fresh["refresh_token"]}).status_code == 401
    LEFT_FOR_LATER["changed"] = (email, newer)


def test_in_the_window_supabase_still_decides_passwords_bans_and_deletions(env):
    # Issue 21, finding 4: once moved, an operator was no longer bound by Supabase Auth.
    changed, banned, deleted = (new_operator(env, sign_in=False) for _ in range(3))
    tokens = {}
    for who in (changed, banned, deleted):
        answer = log_in(env, who.email, who.password)
        assert answer.status_code == 200, answer.text
        tokens[who.email] = answer.json()["access_token"]
    new_password = "Supa-" + uuid.uuid4().hex[:10] + "A1"
    update_operator(env, changed, password=new_password)
    old = log_in(env, changed.email, changed.password)
    assert old.status_code == 401 and old.json()["error"]["code"] == "invalid_credentials"
    assert log_in(env, changed.email, new_password).status_code == 200
    update_operator(env, banned, ban_duration="24h")
    delete_operator(env, deleted)
    assert log_in(env, banned.email, banned.password).status_code == 401
    time.sleep(BaseServiceSettings.model_fields["auth_liveness_seconds"].default + 0.5)
    targets = (env["GATEWAY_URL"], LAYOUT.url("operator-service"), LAYOUT.url("booking-service"))
    for who, code in ((banned, "account_disabled"), (deleted, "account_deleted")):
        for base in targets:
            path = "/api/bookings" if base == targets[2] else "/api/operators/me"
            refused = api(base, "GET", path, tokens[who.email])
            assert refused.status_code == 401, (base, refused.text)
            assert refused.json()["error"]["code"] == code
    LEFT_FOR_LATER["banned"] = (banned.email, banned.password)


def forgot(env: dict, email: str) -> requests.Response:
    """POST /api/operators/forgot-password through the gateway."""
    return api(env["GATEWAY_URL"], "POST", "/api/operators/forgot-password",
               json={"email": email})


def reset(env: dict, email: str, new_password: str) -> requests.Response:
    """POST /api/operators/confirm-forgot-password (moto takes any code)."""
    return api(env["GATEWAY_URL"], "POST", "/api/operators/confirm-forgot-password",
               json={"email": email, "code": "123456", "new_password": new_password})


def test_in_the_window_a_forgotten_password_is_reset_on_both_sides(env):
    # An operator who never signed in during the window forgets their password: the pool
    # makes their user from Supabase Auth's (as the trigger would) and sends a code.
    operator = new_operator(env, sign_in=False)
    held = supabase_session(env, operator.email, operator.password)   # someone else's, say
    sent = forgot(env, operator.email)
    assert sent.status_code == 200, sent.text
    assert sent.json() == {"code_sent_if_account_exists": True}
    assert cognito_user(env, operator.email)["UserStatus"] == "RESET_REQUIRED"
    new_password = "Reset-" + uuid.uuid4().hex[:10] + "A1"
    done = reset(env, operator.email, new_password)
    assert done.status_code == 200, done.text
    assert done.json() == {"password_changed": True}
    # The new password opens both sides (a rollback costs them nothing); the old, neither.
    signed_in = log_in(env, operator.email, new_password)
    assert signed_in.status_code == 200, signed_in.text
    assert views(env, signed_in.json()["access_token"])["operator"] == operator.id
    assert supabase_sign_in(env, operator.email, new_password)
    assert log_in(env, operator.email, operator.password).status_code == 401
    # Every other session of the account ended.
    assert supabase_refresh(env, held.refresh_token).status_code != 200
    # Nobody's address, and an address whose owner never confirmed it with Supabase Auth
    # (anyone can sign one up there): the same answer, and no pool user is made.
    unconfirmed = new_operator(env, sign_in=False, email_confirm=False).email
    for email in (f"nobody-{uuid.uuid4().hex[:8]}@example.com", unconfirmed):
        answer = forgot(env, email)
        assert answer.status_code == 200 and answer.json() == sent.json()
        assert cognito_user(env, email) is None


def test_in_the_window_the_dashboard_signs_operators_in_through_the_api(env, page: Page):
    # An operator who never signed in during the window: the dashboard's sign-in moves them.
    operator = new_operator(env, sign_in=False)
    sign_in(page, env["GATEWAY_URL"], operator.email, operator.password, operator=True)
    expect(page.get_by_role("heading", name="My packages")).to_be_visible()
    moved = cognito_user(env, operator.email)
    assert moved is not None and moved["UserStatus"] == "CONFIRMED"
    page.get_by_role("button", name="Sign out").click()
    # Another forgets their password: the code (moto takes any) sets it on both sides.
    forgetful = new_operator(env, sign_in=False)
    page.goto(f"{env['GATEWAY_URL']}/#/forgot?as=operator")
    page.get_by_label("E-mail").fill(forgetful.email)
    page.get_by_role("button", name="E-mail me a code").click()
    expect(page.get_by_text(f"If {forgetful.email} has an account")).to_be_visible()
    page.get_by_label("Code from the e-mail").fill("123456")
    new_password = "Browser-" + uuid.uuid4().hex[:10] + "A1"
    page.get_by_label("New password").fill(new_password)
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("heading", name="My packages")).to_be_visible()
    assert supabase_sign_in(env, forgetful.email, new_password)


def test_a_signed_out_or_disabled_pool_token_is_refused_everywhere_within_the_bound(env):
    # Tokens of the operators' pool, used at the gateway and at operator-service straight,
    # then signed out with boto3's GlobalSignOut or their user disabled by an administrator.
    tokens = {}
    for case in ("sign_out", "disable"):
        operator = new_operator(env, sign_in=False)
        tokens[case] = (operator.email,
                        log_in(env, operator.email, operator.password).json()["access_token"])
    targets = (env["GATEWAY_URL"], LAYOUT.url("operator-service"))
    for _, token in tokens.values():
        for base in targets:
            for _ in range(6):
                assert api(base, "GET", "/api/operators/me", token).status_code == 200
    cognito(env).global_sign_out(AccessToken=tokens["sign_out"][1])
    cognito(env).admin_disable_user(UserPoolId=env["AWS_COGNITO_OPERATOR_POOL_ID"],
                                    Username=tokens["disable"][0])
    time.sleep(BaseServiceSettings.model_fields["auth_liveness_seconds"].default + 0.5)
    for _, token in tokens.values():
        for base in targets:
            for _ in range(6):
                refused = api(base, "GET", "/api/operators/me", token)
                assert refused.status_code == 401, refused.text
                assert refused.json()["error"]["code"] == "token_revoked"


def test_rollback_goes_back_to_supabase_and_costs_nobody_their_password(env):
    email, password = LEFT_FOR_LATER["changed"]
    demo = env["DEMO_OPERATOR_EMAIL"], env["DEMO_OPERATOR_PASSWORD"]
    cognito_token = log_in(env, *demo).json()["access_token"]
    before = views(env, cognito_token)
    refused = refused_after(env, "rollback", cognito_token)
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
    never_signed_in = new_operator(env, sign_in=False)
    never_id, never, never_password = (never_signed_in.id, never_signed_in.email,
                                       never_signed_in.password)
    logins = status(env)["operators"]["logins"]
    assert logins["remaining"] >= 1 and logins["by_login"] >= 3
    refused = migrate(env, "finalize", "operators")
    assert refused.returncode == 3
    token = log_in(env, env["DEMO_OPERATOR_EMAIL"], env["DEMO_OPERATOR_PASSWORD"]).json()
    for carrier, members in GROUPS:
        _move(env, carrier, members, token["access_token"])
    refused = migrate(env, "finalize", "operators")
    assert refused.returncode == 3 and "import-logins operators" in refused.stderr
    banned_later = new_operator(env, sign_in=False)
    resets_later = new_operator(env, sign_in=False)
    LEFT_FOR_LATER["resets_later"] = (resets_later.email, resets_later.id)
    imported = ok(env, "import-logins", "operators")
    assert never in imported and "password reset required" in imported
    # Imported, then banned in Supabase: finalize must not leave them a way in (a reset).
    assert banned_later.email in imported
    update_operator(env, banned_later, ban_duration="24h")
    LEFT_FOR_LATER["banned_later"] = (banned_later.email, "")
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
    finalized = ok(env, "finalize", "operators")
    refused = eventually(lambda: api(env["GATEWAY_URL"], "GET", "/api/operators/me",
                                     supabase_token), 401)
    assert refused.json()["error"]["code"] == "account_moved"
    # Bans carry over (issue 21, finding 4): each banned operator's pool user is disabled,
    # whether they moved by signing in or were imported and banned after.
    for name in ("banned", "banned_later"):
        email = LEFT_FOR_LATER[name][0]
        assert cognito_user(env, email)["Enabled"] is False, email
        assert email in finalized
    # The banned operator's pool password, right as it is, opens nothing now.
    assert log_in(env, *LEFT_FOR_LATER["banned"]).status_code == 401
    # Whichever process noticed the move first said so; once every one has re-read the
    # state (each at most every MAX_AGE) and nginx's reuse of a verdict has ended, the
    # gateway refuses: the request never reaches operator-service.
    time.sleep(2 * MAX_AGE + NGINX_REUSE_SECONDS)
    refused = api(env["GATEWAY_URL"], "GET", "/api/operators/me", supabase_token)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "account_moved"
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


def test_after_finalize_an_imported_operator_sets_their_password_with_a_code(env):
    # Imported before finalize and never signed in: RESET_REQUIRED. Supabase Auth is no
    # longer asked (it may be switched off by now): the pool alone resets the password.
    email, operator_id = LEFT_FOR_LATER["resets_later"]
    assert cognito_user(env, email)["UserStatus"] == "RESET_REQUIRED"
    refused = log_in(env, email, "whatever-it-was")
    assert refused.status_code != 200
    assert forgot(env, email).status_code == 200
    new_password = "After-" + uuid.uuid4().hex[:10] + "A1"
    done = reset(env, email, new_password)
    assert done.status_code == 200, done.text
    signed_in = log_in(env, email, new_password)
    assert signed_in.status_code == 200, signed_in.text
    assert views(env, signed_in.json()["access_token"])["operator"] == operator_id


def test_after_the_move_the_dashboard_needs_no_supabase_auth(env, page: Page):
    # Finalized, and Supabase Auth switched off: operators still sign in, work and sign
    # out in the dashboard, and a wrong password is told in the API's words.
    assert devstack.stop_part(LAYOUT, "supabase-auth")
    gateway = env["GATEWAY_URL"]
    sign_in(page, gateway, env["DEMO_OPERATOR_EMAIL"], env["DEMO_OPERATOR_PASSWORD"],
            operator=True)
    expect(page.get_by_role("heading", name="My packages")).to_be_visible()
    page.get_by_role("link", name="Bookings").click()
    expect(page.get_by_role("heading", name="Bookings of my packages")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    page.goto(f"{gateway}/#/login")
    page.get_by_role("button", name="Tour operator").click()
    page.get_by_label("E-mail").fill(env["DEMO_OPERATOR_EMAIL"])
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("invalid e-mail or password")).to_be_visible()

"""Sign-out, ban and deletion stop a token within the revocation bound, everywhere it is
checked: through the gateway and at each service called straight (issue 10, item 5).

Each case uses the issuer's real client (supabase-py, boto3) on a real user and token: the
token is first used everywhere (so every cache holds a "live" answer), then revoked; from
AUTH_LIVENESS_SECONDS after the revocation on, every part refuses it with 401 and the code
of what happened. All cases are revoked together, so the module waits for the bound once."""
from __future__ import annotations

import os
import signal
import time

import pytest

from devstack.api import main_pid
from supabase import create_client
from tests.builders.agents import new_agent
from tests.builders.packages import package_fields
from tests.e2e.tokens import session_of, supabase_token
from tests.helpers import api, logged_request_ids
from travel_platform.settings import BaseServiceSettings

# `devstack`: each service's own port, and Supabase Auth's process (SIGSTOP).
pytestmark = [pytest.mark.stack, pytest.mark.devstack]

# The stack runs with the default: what a revocation takes to reach every process.
BOUND = BaseServiceSettings.model_fields["auth_liveness_seconds"].default
# Where a token is checked: the gateway, and each service on its own port (a route of each
# that takes any verified token, whatever its issuer).
TARGETS = {"gateway": ("gateway", "/api/packages"),
           "agent-service": ("agent-service", "/internal/agents?sub=nobody"),
           "operator-service": ("operator-service", "/api/packages"),
           "booking-service": ("booking-service", "/api/bookings")}
# Each part runs two workers with caches of their own: ask each part this often.
ASKS = 6


def ask(test_layout, target: str, token: str):
    part, path = TARGETS[target]
    return api(test_layout.url(part), "GET", path, token)


def supabase_admin(stack_env):
    """supabase-py with the service role key, as a project's back office uses it."""
    return create_client(stack_env["SUPABASE_URL"],
                         stack_env["SUPABASE_SERVICE_ROLE_KEY"]).auth.admin


@pytest.fixture(scope="module")
def revoked(stack_env, test_layout, gateway, cognito, new_operator) -> dict:
    """Case: (token, the code it must be refused with), each token used everywhere, then
    revoked by its issuer; returned once the bound has passed since the last revocation."""
    admin, pool_id = supabase_admin(stack_env), stack_env["AWS_COGNITO_USER_POOL_ID"]
    operators = {name: new_operator() for name in ("logout", "ban", "delete")}
    agents = {name: new_agent(gateway) for name in ("sign_out", "disable", "delete")}
    revocations = {
        "supabase_logout": (operators["logout"].token, "token_revoked",
                            lambda: admin.sign_out(operators["logout"].token)),
        "supabase_ban": (operators["ban"].token, "account_disabled",
                         lambda: admin.update_user_by_id(operators["ban"].id,
                                                         {"ban_duration": "24h"})),
        "supabase_delete": (operators["delete"].token, "account_deleted",
                            lambda: admin.delete_user(operators["delete"].id)),
        "cognito_global_sign_out": (agents["sign_out"].token, "token_revoked",
                                    lambda: cognito.global_sign_out(
                                        AccessToken=agents["sign_out"].token)),
        "cognito_admin_disable_user": (agents["disable"].token, "token_revoked",
                                       lambda: cognito.admin_disable_user(
                                           UserPoolId=pool_id,
                                           Username=agents["disable"].email)),
        "cognito_admin_delete_user": (agents["delete"].token, "account_deleted",
                                      lambda: cognito.admin_delete_user(
                                          UserPoolId=pool_id,
                                          Username=agents["delete"].email)),
    }
    for name, (token, _, _) in revocations.items():
        for target in TARGETS:
            for _ in range(ASKS):
                answer = ask(test_layout, target, token)
                assert answer.status_code == 200, (name, target, answer.text)
    for _, _, revoke in revocations.values():
        revoke()
    time.sleep(BOUND + 0.5)
    return {name: (token, code) for name, (token, code, _) in revocations.items()}


@pytest.mark.parametrize("case", ["supabase_logout", "supabase_ban", "supabase_delete",
                                  "cognito_global_sign_out", "cognito_admin_disable_user",
                                  "cognito_admin_delete_user"])
@pytest.mark.parametrize("target", TARGETS)
def test_a_revoked_token_is_refused_everywhere_within_the_bound(test_layout, revoked, case,
                                                                 target):
    token, code = revoked[case]
    for _ in range(ASKS):
        answer = ask(test_layout, target, token)
        assert answer.status_code == 401, answer.text
        error = answer.json()["error"]
        assert error["code"] == code and error["message"]
        if target == "gateway":
            assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_gateway_refuses_revoked_tokens_before_any_service(test_layout, revoked):
    # gateway-auth keeps a verdict no longer than the issuer's answer it was made from: no
    # verdict made before the revocation lets a request through to the service behind.
    request_ids = set()
    for token, _ in revoked.values():
        for _ in range(ASKS):
            answer = ask(test_layout, "gateway", token)
            assert answer.status_code == 401, answer.text
            request_ids.add(answer.headers["X-Request-ID"])
    assert request_ids <= logged_request_ids(test_layout.logs, "gateway")
    assert not request_ids & logged_request_ids(test_layout.logs, "operator-service")


def test_a_deleted_operators_write_is_401_at_once_never_500(stack_env, test_layout, gateway,
                                                            new_operator):
    operator = new_operator()
    made = api(gateway, "POST", "/api/operators/me/packages", operator.token,
               json=package_fields())
    assert made.status_code == 201, made.text
    supabase_admin(stack_env).delete_user(operator.id)
    # Right away, before every process has heard it from Supabase Auth: whichever check
    # notices first (the issuer's answer, or the database finding no account), a 401.
    for base in (gateway, test_layout.url("operator-service")):
        for method, path, body in (("POST", "/api/operators/me/packages", package_fields()),
                                   ("PATCH", "/api/operators/me", {"company_name": "Gone"})):
            answer = api(base, method, path, operator.token, json=body)
            assert answer.status_code == 401, answer.text
            assert answer.json()["error"]["code"] == "account_deleted"


def test_while_supabase_auth_cannot_answer_known_tokens_work_for_the_bound_only(
        stack_env, test_layout, operator_token):
    # Supabase Auth frozen (SIGSTOP: it accepts connections and never answers, the worst
    # outage for a caller). A token a process has an answer for keeps working there until
    # that answer is AUTH_LIVENESS_SECONDS + AUTH_LIVENESS_STALE_SECONDS old, then 503; a
    # token no process has seen gets 503 at once: no token is accepted on an older word of
    # its issuer, and a short outage logs nobody out.
    stale = BaseServiceSettings.model_fields["auth_liveness_stale_seconds"].default
    now = int(time.time())
    known, unseen = (supabase_token(stack_env, test_layout, iat=now - age, exp=now + 600,
                                    **session_of(operator_token)) for age in (0, 1))
    targets = ("gateway", "operator-service")
    for target in targets:
        for _ in range(ASKS):
            assert ask(test_layout, target, known).status_code == 200
    answered = time.monotonic()
    pid = main_pid(test_layout, "supabase-auth")
    assert pid, "the Auth stand-in is not running"
    os.killpg(pid, signal.SIGSTOP)
    try:
        time.sleep(BOUND + 0.5)         # every answer is stale now, and cannot be renewed
        served = []
        for target in targets:
            # A worker that answered the token before serves its stale answer; one that
            # never saw it (each part runs two, each with its own answers) cannot.
            served += [ask(test_layout, target, known).status_code for _ in range(ASKS)]
            refused = ask(test_layout, target, unseen)
            assert refused.status_code == 503, refused.text
            assert refused.json()["error"]["code"] == "auth_unavailable"
        assert set(served) <= {200, 503} and 200 in served, served
        time.sleep(max(0.0, answered + BOUND + stale + 0.5 - time.monotonic()))
        for target in targets:
            for _ in range(ASKS):
                refused = ask(test_layout, target, known)
                assert refused.status_code == 503, refused.text
                assert refused.json()["error"]["code"] == "auth_unavailable"
    finally:
        os.killpg(pid, signal.SIGCONT)
    # Back: answered again (each part's circuit breaker retries within 10 s).
    deadline = time.monotonic() + 15
    while ask(test_layout, "gateway", known).status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.5)

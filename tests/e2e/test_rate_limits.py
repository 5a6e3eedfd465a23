"""Rate limits (issue 10 item 3): at the gateway per client address on the account flows
and per token on the API; in agent-service per account; in the Auth stand-in per address,
as Supabase's. Each refusal is a 429 with Retry-After, in the service's error shape.

The suite itself calls from an exempt address (tests/conftest.py); these tests call from
other loopback addresses, each its own client as far as the limits can tell."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from agent_service.settings import AgentSettings
from gateway_config import GatewaySettings

from devstack.api import AUTH_STANDIN, AUTH_STANDIN_RATE_LIMIT_WINDOW, settings_class
from tests.builders.agents import PASSWORD, new_agent, new_email
from tests.conftest import TRUSTED_PROXY
from tests.helpers import access_log, api, bearer, clear_of_window_edge, client_at

# `devstack`: calls from several loopback addresses (a published port makes them one).
pytestmark = [pytest.mark.stack, pytest.mark.devstack]

LIMITS = GatewaySettings()
ACCOUNT_ATTEMPTS = AgentSettings.model_fields["account_attempts_per_window"].default
ACCOUNT_WINDOW = AgentSettings.model_fields["account_attempt_window_seconds"].default
# Supabase's own per-address limits, which the stand-in keeps unless a stack sets others.
STANDIN_LIMITS = settings_class(AUTH_STANDIN).model_fields
SIGN_IN_SIGN_UPS = STANDIN_LIMITS["auth_rate_limit_sign_in_sign_ups"].default
TOKEN_REFRESHES = STANDIN_LIMITS["auth_rate_limit_token_refresh"].default


def _assert_gateway_429(response) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["Retry-After"]) >= 1
    error = response.json()["error"]
    assert error["status"] == 429 and error["code"] == "too_many_requests"
    assert error["request_id"] == response.headers["X-Request-ID"]


def test_account_flows_are_limited_per_client_address(gateway):
    flood = client_at("127.0.0.21")
    count = LIMITS.account_flows_burst_per_address + 10
    answers = [flood.post(f"{gateway}/api/agents/login", json={}, timeout=15)
               for _ in range(count)]
    refused = [a for a in answers if a.status_code == 429]
    # At most the burst and the steady rate's share of the few seconds this took pass.
    assert len(refused) >= 5, [a.status_code for a in answers]
    _assert_gateway_429(refused[0])
    assert int(refused[0].headers["Retry-After"]) == -(
        -60 // LIMITS.account_flows_per_minute_per_address)
    # Another client is not held back by the first one's flood.
    other = client_at("127.0.0.22").post(f"{gateway}/api/agents/login", json={}, timeout=15)
    assert other.status_code == 400, other.text


@pytest.fixture
def flood_logins(gateway):
    """`flood_logins(client, count, forwarded_for)`: `count` failed agent logins from
    `client`, the i-th with the X-Forwarded-For `forwarded_for(i)`; their statuses."""
    def flood(client, count: int, forwarded_for) -> list[int]:
        return [client.post(f"{gateway}/api/agents/login", json={}, timeout=15,
                            headers={"X-Forwarded-For": forwarded_for(i)}).status_code
                for i in range(count)]
    return flood


def test_behind_the_load_balancer_each_client_has_its_own_bucket(gateway, test_layout,
                                                                 flood_logins):
    # The load balancer connects from its own address and appends the client's to
    # X-Forwarded-For: one client's flood of failed logins through it ...
    balancer = client_at(TRUSTED_PROXY)
    statuses = flood_logins(balancer, LIMITS.account_flows_burst_per_address + 10,
                            lambda _i: "203.0.113.7")
    assert statuses.count(429) >= 5, statuses
    # ... keeps no other client out of any sign-in, also one whose own X-Forwarded-For
    # names the flooder (the balancer appends the real address after it) ...
    for client, path, body in [
            ("203.0.113.8", "/api/agents/login", {}),
            ("198.51.100.9, 203.0.113.9", "/api/operators/login", {}),
            ("203.0.113.7, 203.0.113.10", "/api/agents/signup", {})]:
        answer = balancer.post(f"{gateway}{path}", json=body, timeout=15,
                               headers={"X-Forwarded-For": client})
        assert answer.status_code == 400, (path, answer.text)
    # ... while the flooder stays refused, whatever it puts in front of its address.
    spoofing = balancer.post(f"{gateway}/api/agents/login", json={}, timeout=15,
                             headers={"X-Forwarded-For": "127.0.0.1, 203.0.113.7"})
    _assert_gateway_429(spoofing)
    # The gateway's log names the client, not the balancer.
    time.sleep(0.3)
    [line] = [e for e in access_log(test_layout.logs, "gateway")
              if e["request_id"] == spoofing.headers["X-Request-ID"]]
    assert line["client"] == "203.0.113.7"


def test_a_direct_client_cannot_choose_its_address_with_x_forwarded_for(flood_logins):
    # Not from the load balancer: X-Forwarded-For is ignored, also when it names the
    # suite's exempt address or a new address on every request.
    direct = client_at("127.0.0.3")
    statuses = flood_logins(direct, LIMITS.account_flows_burst_per_address + 10,
                            lambda i: "127.0.0.1" if i % 2 else f"198.51.100.{i}")
    assert statuses.count(429) >= 5, statuses


def test_the_api_is_limited_per_token(gateway, agent_token, operator_token):
    flood = client_at("127.0.0.23")
    count = LIMITS.api_burst_per_token + 3 * LIMITS.api_per_second_per_token
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: flood.get(f"{gateway}/api/packages?limit=1",
                                                   headers=bearer(agent_token), timeout=15),
                                range(count)))
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {200, 429} and 429 in statuses, statuses
    _assert_gateway_429(next(a for a in answers if a.status_code == 429))
    # Another token from the same address still gets through.
    other = flood.get(f"{gateway}/api/packages?limit=1", headers=bearer(operator_token),
                      timeout=15)
    assert other.status_code == 200, other.text


def test_requests_without_a_token_are_told_to_sign_in_not_limited_as_one_token(gateway):
    # No token, no per-token bucket: a caller who has not signed in is told so (401) however
    # often, within its address's limit. Were "no token" a key, every such request from
    # anywhere would drain one bucket and be answered 429.
    flood = client_at("127.0.0.28")
    count = LIMITS.api_burst_per_token + 3 * LIMITS.api_per_second_per_token
    assert count < LIMITS.api_burst_per_address
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: flood.get(f"{gateway}/api/packages?limit=1",
                                                   timeout=15), range(count)))
    assert [a.status_code for a in answers] == [401] * count


def _spellings(token: str) -> list[str]:
    """The same bearer token written 64 ways: the scheme in every mix of cases, one space,
    two or a tab before the token."""
    return [f"{scheme}{(' ', '  ', chr(9))[i % 3]}{token}"
            for i in range(64)
            for scheme in ["".join(c.upper() if i >> k & 1 else c
                                   for k, c in enumerate("bearer"))]]


def test_one_token_is_one_bucket_however_it_is_spelled(gateway, agent_token):
    # Finding 7a: keyed on the raw header, each spelling had a bucket of its own.
    spelled = _spellings(agent_token)
    assert len(set(spelled)) == 64
    flood = client_at("127.0.0.27")
    count = LIMITS.api_burst_per_token + 3 * LIMITS.api_per_second_per_token
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: flood.get(
            f"{gateway}/api/packages?limit=1", timeout=15,
            headers={"Authorization": spelled[i % len(spelled)]}), range(count)))
    statuses = [a.status_code for a in answers]
    # Every spelling is a valid token (the services read the scheme in any case) ...
    assert set(statuses) <= {200, 429}, statuses
    # ... and all of them drain one bucket.
    assert 429 in statuses, statuses
    _assert_gateway_429(next(a for a in answers if a.status_code == 429))


@pytest.mark.parametrize("flow, path, body", [
    ("login", "/api/agents/login", lambda email: {"email": email, "password": "Wrong-pass-1"}),
    ("signup", "/api/agents/signup",
     lambda email: {"email": email, "password": PASSWORD, "agency_name": "Flood Travel",
                    "country": "PT"}),
    ("confirm", "/api/agents/confirm-signup",
     lambda email: {"email": email, "password": "Wrong-pass-1", "code": "000000"}),
    ("refresh", "/api/agents/refresh", lambda email: {"refresh_token": f"guess-{email}"}),
])
def test_account_flows_are_limited_per_account(gateway, flow, path, body):
    clear_of_window_edge(ACCOUNT_WINDOW)
    # From the suite's exempt address: the gateway lets every attempt through, and
    # agent-service, which reads the account from the body, counts them.
    email = new_email(flow)
    answers = [api(gateway, "POST", path, json=body(email)) for _ in range(ACCOUNT_ATTEMPTS)]
    assert 429 not in [a.status_code for a in answers], [a.text for a in answers]
    refused = api(gateway, "POST", path, json=body(email))
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["Retry-After"]) >= 1
    error = refused.json()["error"]
    assert error["code"] == "too_many_requests" and error["request_id"]
    # Another account is not held back.
    assert api(gateway, "POST", path, json=body(new_email(flow))).status_code != 429


def test_successful_logins_do_not_use_up_the_accounts_attempts(gateway):
    clear_of_window_edge(ACCOUNT_WINDOW)
    agent = new_agent(gateway)
    for _ in range(ACCOUNT_ATTEMPTS + 2):
        assert api(gateway, "POST", "/api/agents/login",
                   json={"email": agent.email, "password": PASSWORD}).status_code == 200
    wrong = {"email": agent.email, "password": "Wrong-pass-1"}
    assert [api(gateway, "POST", "/api/agents/login", json=wrong).status_code
            for _ in range(ACCOUNT_ATTEMPTS)] == [401] * ACCOUNT_ATTEMPTS
    # Then even the right password waits, from this address: the account is locked here
    # for the window (elsewhere it is not: tests/e2e/test_operator_login_abuse.py).
    locked = api(gateway, "POST", "/api/agents/login",
                 json={"email": agent.email, "password": PASSWORD})
    assert locked.status_code == 429, locked.text


def _standin(stack_env, path: str, body: dict, address: str):
    return client_at(address).post(f"{stack_env['SUPABASE_URL']}/auth/v1{path}", json=body,
                                   headers={"apikey": stack_env["SUPABASE_ANON_KEY"]},
                                   timeout=15)


def _assert_gotrue_429(response) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error_code"] == "over_request_rate_limit"
    assert int(response.headers["Retry-After"]) >= 1


def test_auth_standin_limits_sign_ins_and_sign_ups_per_address_like_supabase(stack_env):
    address, wrong = "127.0.0.24", {"email": new_email("op"), "password": "wrong-password"}
    clear_of_window_edge(AUTH_STANDIN_RATE_LIMIT_WINDOW)
    for _ in range(SIGN_IN_SIGN_UPS):
        response = _standin(stack_env, "/token?grant_type=password", wrong, address)
        assert response.status_code == 400, response.text
    _assert_gotrue_429(_standin(stack_env, "/token?grant_type=password", wrong, address))
    # Sign-ups share the bucket, as on Supabase.
    _assert_gotrue_429(_standin(stack_env, "/signup", {"email": new_email("op"),
                                                       "password": PASSWORD}, address))
    other = _standin(stack_env, "/token?grant_type=password", wrong, "127.0.0.25")
    assert other.status_code == 400 and other.json()["error_code"] == "invalid_credentials"


def test_auth_standin_limits_refreshes_per_address_like_supabase(stack_env):
    address, body = "127.0.0.26", {"refresh_token": "not-a-token"}
    clear_of_window_edge(AUTH_STANDIN_RATE_LIMIT_WINDOW)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(
            lambda _: _standin(stack_env, "/token?grant_type=refresh_token", body, address),
            range(TOKEN_REFRESHES)))
    assert {a.status_code for a in answers} == {400}
    _assert_gotrue_429(_standin(stack_env, "/token?grant_type=refresh_token", body, address))

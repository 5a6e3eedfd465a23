"""Every token rule, end to end: through the gateway and straight to each service's own port.

Each case is a well-formed token signed by the issuer's real key that breaks exactly one
rule; the same token without that one change is accepted everywhere (the controls below), so
a refusal with the rule's own code can only come from that rule. A service checks tokens
itself because it trusts no caller on the network: the gateway's check must not hide a
service's."""
from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.tokens import (
    another_ec_key,
    another_rsa_key,
    cognito_token,
    session_of,
    supabase_secret_token,
    supabase_token,
)
from tests.helpers import api, forge, jwt_parts

# `devstack`: each service's port, past the gateway (compose publishes the gateway only).
pytestmark = [pytest.mark.stack, pytest.mark.devstack]

# A claim whose name is no Python name; its value is JSON, like every claim's.
ADMINS_GROUP: dict[str, Any] = {"cognito:groups": ["admins"]}
# Where each target is asked: a route that takes any verified token, whatever its issuer.
TARGETS = {"gateway": ("gateway", "/api/packages"),
           "agent-service": ("agent-service", "/internal/agents?sub=nobody"),
           "operator-service": ("operator-service", "/api/packages"),
           "booking-service": ("booking-service", "/api/bookings")}


def ask(test_layout, target: str, token: str):
    part, path = TARGETS[target]
    return api(test_layout.url(part), "GET", path, token)


def _cognito_cases(access_token: str) -> dict[str, tuple[str, str]]:
    """Rule name: (token breaking only that rule, the code it must be refused with)."""
    return {
        "token_use": (cognito_token(access_token, token_use="id"), "token_not_access_token"),
        "client_id": (cognito_token(access_token, client_id="another-app-client"),
                      "token_unknown_client"),
        # The pool's own key, but RS512: Cognito signs with RS256 only.
        "algorithm_of_issuer": (cognito_token(access_token, alg="RS512"),
                                "token_algorithm_not_allowed"),
        "signature": (cognito_token(access_token, key=another_rsa_key(),
                                    **ADMINS_GROUP), "token_invalid_signature"),
        "expiry": (cognito_token(access_token, iat=int(time.time()) - 7200,
                                 exp=int(time.time()) - 3600), "token_expired"),
        "issuer": (cognito_token(access_token, iss=jwt_parts(access_token)[1]["iss"] + "x"),
                   "token_unknown_issuer"),
    }


def _supabase_cases(stack_env, test_layout, operator_token: str) -> dict[str, tuple[str, str]]:
    header, payload, signature = jwt_parts(operator_token)
    stand_in_kid = header["kid"]
    return {
        "audience": (supabase_token(stack_env, test_layout, aud="anon"), "token_wrong_audience"),
        "role_anon": (supabase_token(stack_env, test_layout, role="anon"), "token_not_a_user"),
        "role_service_role": (supabase_secret_token(stack_env, role="service_role"),
                              "token_not_a_user"),
        "signature": (supabase_token(stack_env, test_layout, key=another_ec_key()),
                      "token_invalid_signature"),
        # RS256 is an algorithm the project may use, but the key this token names is ES256:
        # only the key's own algorithm may verify with it, never the one the token names.
        "algorithm_from_key": (forge({"alg": "RS256", "typ": "JWT", "kid": stand_in_kid},
                                     jwt_parts(supabase_token(stack_env, test_layout))[1],
                                     "c2lnbmF0dXJl"), "token_algorithm_not_allowed"),
        # The operator's real token with another subject: readable, but the signature fails.
        "tampered": (forge(header, {**payload, "sub": "someone-else"}, signature),
                     "token_invalid_signature"),
    }


COGNITO_RULES = ["token_use", "client_id", "algorithm_of_issuer", "signature", "expiry", "issuer"]
SUPABASE_RULES = ["audience", "role_anon", "role_service_role", "signature", "tampered",
                  "algorithm_from_key"]


@pytest.mark.parametrize("target", TARGETS)
def test_the_unbroken_tokens_are_accepted(test_layout, agent_token, operator_token, stack_env,
                                          target):
    # Built like the cases, on the demo operator's live session, which Supabase Auth still
    # vouches for (every part also asks it: shared/travel_platform/auth/revocation.py).
    live = session_of(operator_token)
    controls = {"cognito": agent_token,
                "supabase (ES256)": supabase_token(stack_env, test_layout, **live),
                "supabase (legacy HS256 secret)": supabase_secret_token(stack_env, **live)}
    for name, token in controls.items():
        response = ask(test_layout, target, token)
        assert response.status_code == 200, (name, response.text)
    # The Cognito cases re-sign the agent's claims with the pool's key: unbroken, such a
    # token passes every rule of ours, and only Cognito, which never issued it, refuses it.
    resigned = ask(test_layout, target, cognito_token(agent_token))
    assert resigned.status_code == 401, resigned.text
    assert resigned.json()["error"]["code"] == "token_revoked"


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("rule", COGNITO_RULES)
def test_a_cognito_token_breaking_one_rule_is_refused_by_that_rule(
        test_layout, agent_token, target, rule):
    token, code = _cognito_cases(agent_token)[rule]
    response = ask(test_layout, target, token)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("rule", SUPABASE_RULES)
def test_a_supabase_token_breaking_one_rule_is_refused_by_that_rule(
        test_layout, stack_env, operator_token, target, rule):
    token, code = _supabase_cases(stack_env, test_layout, operator_token)[rule]
    response = ask(test_layout, target, token)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize("part", ["gateway", "agent-service"])
def test_a_forged_admin_token_opens_no_admin_route(test_layout, agent_token, admin, part):
    # The demo agent's claims with the admins group: signed by anyone but the pool it is
    # refused by the signature; signed with the pool's key (moto's is public) but never
    # issued by Cognito, it is refused by Cognito itself; whether or not the gateway is in
    # front. A real admin's token opens the list.
    admin_claims = {"cognito:groups": ["admins"]}
    forged = cognito_token(agent_token, key=another_rsa_key(), **admin_claims)
    minted = cognito_token(agent_token, **admin_claims)
    url = test_layout.url(part)
    assert api(url, "GET", "/api/agents?limit=1", admin.token).status_code == 200
    for token, code in ((forged, "token_invalid_signature"), (minted, "token_revoked")):
        response = api(url, "GET", "/api/agents?limit=1", token)
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == code

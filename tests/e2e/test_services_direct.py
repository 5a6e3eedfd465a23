"""Each service, called straight (not through the gateway), still verifies the bearer
token itself and ignores identity headers: it is deployed on its own and trusts no caller."""
from __future__ import annotations

import pytest
import requests

from tests.helpers import bearer, forge, jwt_parts

# `devstack`: each service's port, past the gateway (compose publishes the gateway only).
pytestmark = [pytest.mark.stack, pytest.mark.devstack]


@pytest.mark.parametrize("service, path", [("agent-service", "/api/agents/me"),
                                           ("operator-service", "/api/operators/me"),
                                           ("operator-service", "/api/packages"),
                                           ("booking-service", "/api/bookings")])
def test_identity_headers_without_a_token_are_refused(test_layout, stack_env, service, path):
    forged = {"X-Auth-Source": "cognito", "X-Auth-Subject": "admin", "X-Auth-Groups": "admins"}
    response = requests.get(f"{test_layout.url(service)}{path}", headers=forged, timeout=5)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_missing"


def test_service_refuses_the_wrong_issuer_itself(test_layout, operator_token):
    response = requests.get(f"{test_layout.url('agent-service')}/api/agents/me",
                            headers=bearer(operator_token), timeout=5)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "wrong_token_issuer"


@pytest.mark.parametrize("service, path", [("agent-service", "/api/agents/me"),
                                           ("operator-service", "/api/packages"),
                                           ("booking-service", "/api/bookings")])
def test_service_refuses_a_tampered_token_itself(test_layout, agent_token, service, path):
    # A readable token (valid JSON, the pool's kid and algorithm) whose payload was changed
    # after signing: only the signature check can refuse it.
    header, payload, signature = jwt_parts(agent_token)
    tampered = forge(header, {**payload, "cognito:groups": ["admins"]}, signature)
    response = requests.get(f"{test_layout.url(service)}{path}", headers=bearer(tampered),
                            timeout=5)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_invalid_signature"


def test_service_makes_a_request_id_when_called_directly(test_layout, agent_token):
    response = requests.get(f"{test_layout.url('agent-service')}/api/agents/me",
                            headers=bearer(agent_token), timeout=5)
    assert response.status_code == 200
    assert len(response.headers["X-Request-ID"]) >= 8

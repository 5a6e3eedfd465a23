"""Input an attacker sends on purpose, through the gateway and straight to each service:
every answer is the one JSON error shape with the right status, never a 500 or a page."""
from __future__ import annotations

import pytest

from tests.helpers import api

pytestmark = pytest.mark.stack

NESTED = "[" * 1000 + "]" * 1000  # 2 KB


@pytest.mark.parametrize("path, needs_token", [("/api/agents/login", False),
                                               ("/api/agents/signup", False),
                                               ("/api/operators/me/packages", True),
                                               ("/api/bookings", True)])
def test_deeply_nested_json_is_a_400_on_every_json_route(gateway, agent_token, operator_token,
                                                         path, needs_token):
    token = (operator_token if "operators" in path else agent_token) if needs_token else None
    response = api(gateway, "POST", path, token, data=NESTED,
                   headers={"Content-Type": "application/json", "Idempotency-Key": "nested"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "too_deeply_nested"

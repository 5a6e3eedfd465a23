"""The gateway's API docs are usable by a frontend: every route they list is one the
gateway serves, tokens are explained per issuer, and booking declares Idempotency-Key."""
from __future__ import annotations

import re

import pytest

from tests.helpers import api
from travel_platform.registry import registry

pytestmark = pytest.mark.stack

# Every service the gateway routes to lists its document (the registry's `api`).
SERVICES = [part.name for part in registry().services]


@pytest.mark.parametrize("service", SERVICES)
def test_every_documented_route_is_served_by_the_gateway(gateway, service):
    doc = api(gateway, "GET", f"/docs/{service}.json").json()
    assert doc["paths"]
    for path, operations in doc["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "00000000-0000-4000-8000-000000000000", path)
        for method in operations:
            answer = api(gateway, method.upper(), concrete)
            # Refused for want of a token or a body, or a resource not found: never the
            # gateway's "no such route".
            error = answer.json().get("error", {})
            assert error.get("message") != "no such route", (method, path)
        assert path.startswith("/api/"), path


def test_the_docs_say_how_to_get_each_token_and_booking_declares_its_key(gateway):
    doc = api(gateway, "GET", "/docs/booking-service.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert {"agentToken", "operatorToken", "operatorSupabaseToken"} <= set(schemes)
    book = doc["paths"]["/api/bookings"]["post"]
    [key] = [p for p in book["parameters"] if p["in"] == "header"]
    assert (key["name"], key["required"]) == ("Idempotency-Key", True)
    assert {"agentToken": []} in book["security"]

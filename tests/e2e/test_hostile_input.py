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


def _chunks(data: bytes, size: int = 64 * 1024):
    for start in range(0, len(data), size):
        yield data[start:start + size]


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("service, path", [("agent-service", "/api/agents/login"),
                                           ("operator-service", "/api/operators/me/packages"),
                                           ("booking-service", "/api/bookings")])
@pytest.mark.devstack  # a service's own port, or its process
def test_a_body_over_1_mb_sent_straight_to_a_service_is_a_json_413(
        test_layout, agent_token, operator_token, service, path, framing):
    token = {"agent-service": None, "operator-service": operator_token,
             "booking-service": agent_token}[service]
    body = b'{"title": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    data = _chunks(body) if framing == "chunked" else body
    response = api(test_layout.url(service), "POST", path, token, data=data,
                   headers={"Content-Type": "application/json", "Idempotency-Key": "big"})
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"


@pytest.mark.devstack  # a service's own port, or its process
@pytest.mark.parametrize("service", ["agent-service", "operator-service", "booking-service"])
def test_too_many_headers_sent_straight_to_a_service_is_a_json_431(test_layout, service):
    # gunicorn refuses more than 100 header fields before any app sees the request.
    headers = {f"X-Filler-{n}": "v" for n in range(120)}
    response = api(test_layout.url(service), "GET", "/health", headers=headers)
    assert response.status_code == 431
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "header_too_large"


DISGUISED = "licence\u202efdp.exe"   # displays as licenceexe.pdf


@pytest.mark.parametrize("path, caller, body, field", [
    ("/api/agents/signup", None, {"email": "x@example.com", "password": "Sturdy-pass-2024",
                                  "agency_name": DISGUISED, "country": "PT"}, "agency_name"),
    ("/api/agents/me/documents", "agent", {"file_name": DISGUISED, "size": 10,
                                           "content_type": "application/pdf",
                                           "kind": "licence"}, "file_name"),
    ("/api/bookings", "agent", {"package_id": "8d0fd2b3-9ca7-4d9e-a95f-9e13dded323e",
                                "departure_date": "2031-05-01",
                                "travellers": [{"full_name": "Ana\r\nX-Injected: 1",
                                                "email": "ana@example.com"}]},
     "travellers.0.full_name"),
    ("/api/operators/me/packages", "operator", {"title": "\x1b[2J\x1b[31mSALE"}, "title"),
])
def test_control_characters_in_display_text_are_refused(gateway, agent_token, operator_token,
                                                        path, caller, body, field):
    token = {"agent": agent_token, "operator": operator_token, None: None}[caller]
    response = api(gateway, "POST", path, token, json=body,
                   headers={"Idempotency-Key": "display-text"})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert [d["field"] for d in error["details"]] == [field]

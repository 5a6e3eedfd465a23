"""Operators get the gate agents have (issue 10, item 4): anyone with the public anon key
can sign up to Supabase Auth, so a new operator is pending until an administrator approves
them; only active operators publish packages and confirm bookings; administrators list,
approve, suspend and reactivate operators."""
from __future__ import annotations

import datetime
import uuid

import pytest

from tests.builders.agents import active_agent
from tests.builders.packages import draft_package, package_fields
from tests.helpers import api
from travel_platform.clock import utc_today

pytestmark = pytest.mark.stack


def publish(gateway: str, token: str, package_id: str):
    return api(gateway, "POST", f"/api/operators/me/packages/{package_id}/publish", token)


def book(gateway: str, agent_token: str, package_id: str):
    departure = utc_today() + datetime.timedelta(days=30)
    return api(gateway, "POST", "/api/bookings", agent_token,
               headers={"Idempotency-Key": uuid.uuid4().hex},
               json={"package_id": package_id, "departure_date": str(departure),
                     "travellers": [{"full_name": "Ana Lopes", "email": "ana@example.com"}],
                     "addon_ids": []})


def act(gateway: str, admin_token: str, operator_id: str, action: str):
    return api(gateway, "POST", f"/api/operators/{operator_id}/{action}", admin_token)


@pytest.fixture(scope="module")
def booking_agent(gateway, stack_env) -> str:
    """An active travel agent's token."""
    return active_agent(gateway, stack_env).token


def test_a_new_operator_drafts_but_cannot_publish_until_an_admin_approves(
        gateway, new_operator, admin):
    operator = new_operator(active=False)
    package = draft_package(gateway, operator.token).answer
    me = api(gateway, "GET", "/api/operators/me", operator.token).json()
    assert me["profile"]["status"] == "pending"
    refused = publish(gateway, operator.token, package["id"])
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "operator_not_active"
    queue = api(gateway, "GET", "/api/operators?status=pending&limit=100", admin.token)
    assert queue.status_code == 200, queue.text
    assert operator.id in {row["id"] for row in queue.json()["data"]}
    approved = act(gateway, admin.token, operator.id, "approve")
    assert approved.status_code == 200 and approved.json()["status"] == "active"
    assert publish(gateway, operator.token, package["id"]).status_code == 200


def test_only_administrators_manage_operators(gateway, new_operator, admin, booking_agent):
    operator = new_operator(active=False)
    draft_package(gateway, operator.token)
    for token, status in ((booking_agent, 403), (operator.token, 403), (None, 401)):
        for method, path in (("GET", "/api/operators"),
                             ("GET", f"/api/operators/{operator.id}"),
                             ("POST", f"/api/operators/{operator.id}/approve")):
            answer = api(gateway, method, path, token)
            assert answer.status_code == status, (method, path, answer.text)
    assert api(gateway, "GET", f"/api/operators/{operator.id}",
               admin.token).json()["status"] == "pending"
    # An operator cannot approve themselves through their own profile either.
    sneaky = api(gateway, "PATCH", "/api/operators/me", operator.token,
                 json={"status": "active"})
    assert sneaky.status_code == 400


def test_a_suspended_operator_cannot_publish_or_confirm_until_reactivated(
        gateway, new_operator, admin, booking_agent):
    operator = new_operator()
    package = draft_package(gateway, operator.token, body=package_fields()).answer
    assert publish(gateway, operator.token, package["id"]).status_code == 200
    booking = book(gateway, booking_agent, package["id"])
    assert booking.status_code == 201, booking.text
    booking_id = booking.json()["id"]
    assert act(gateway, admin.token, operator.id, "suspend").json()["status"] == "suspended"
    other = draft_package(gateway, operator.token, body=package_fields())
    assert publish(gateway, operator.token, other.id).json()["error"]["code"] == \
        "operator_not_active"
    refused = api(gateway, "POST", f"/api/bookings/{booking_id}/confirm", operator.token)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "operator_not_active"
    assert act(gateway, admin.token, operator.id, "reactivate").status_code == 200
    confirmed = api(gateway, "POST", f"/api/bookings/{booking_id}/confirm", operator.token)
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"


def test_an_illegal_status_change_is_409_with_the_current_status(gateway, new_operator, admin):
    operator = new_operator()
    answer = act(gateway, admin.token, operator.id, "approve")
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "invalid_status_transition"
    assert answer.json()["error"]["details"][0]["current_status"] == "active"
    missing = act(gateway, admin.token, str(uuid.uuid4()), "suspend")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "operator_not_found"

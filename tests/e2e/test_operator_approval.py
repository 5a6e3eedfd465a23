"""Operators get the gate agents have (issue 10, item 4): anyone with the public anon key
can sign up to Supabase Auth, so a new operator is pending until an administrator approves
them; only active operators publish packages and confirm bookings; administrators list,
approve, suspend and reactivate operators."""
from __future__ import annotations

import datetime
import json
import uuid

import psycopg
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
    other = draft_package(gateway, operator.token, body=package_fields())
    assert act(gateway, admin.token, operator.id, "suspend").json()["status"] == "suspended"
    assert publish(gateway, operator.token, other.id).json()["error"]["code"] == \
        "operator_not_active"
    # Frozen: not even a new draft (issue 21, finding 5).
    new = api(gateway, "POST", "/api/operators/me/packages", operator.token,
              json=package_fields())
    assert new.status_code == 403 and new.json()["error"]["code"] == "operator_suspended"
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


# The gate in the database (issue 21, finding 5) ---------------------------------------------------

def as_supabase_js(stack_env, operator, statement: str, params=()) -> int:
    """`statement` as supabase-js runs it through PostgREST: role `authenticated` with the
    operator's own claims, committed."""
    with psycopg.connect(stack_env["SUPABASE_DB_ADMIN_URL"]) as conn:
        conn.execute("select set_config('request.jwt.claims', %s, true)",
                     (json.dumps({"sub": operator.id, "role": "authenticated"}),))
        conn.execute("set local role authenticated")
        return conn.execute(statement, params).rowcount


def test_a_pending_operator_cannot_publish_by_direct_sql_so_nothing_is_booked(
        gateway, stack_env, new_operator, booking_agent):
    operator = new_operator(active=False)
    package = draft_package(gateway, operator.token, body=package_fields())
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_supabase_js(stack_env, operator, "update multi_city_hotel_packages"
                       " set status = 'published' where id = %s", (package.id,))
    booked = book(gateway, booking_agent, package.id)
    assert booked.status_code == 404, booked.text
    assert booked.json()["error"]["code"] == "package_not_found"


def test_a_suspended_operators_packages_leave_the_catalogue_until_reactivated(
        gateway, stack_env, new_operator, admin, booking_agent):
    operator = new_operator()
    city = f"Gate{uuid.uuid4().hex[:8]}"
    fields = package_fields()
    fields["stops"][0]["city"] = city
    package = draft_package(gateway, operator.token, body=fields)
    assert publish(gateway, operator.token, package.id).status_code == 200

    def listed() -> tuple[list[str], int]:
        search = api(gateway, "GET", f"/api/packages?city={city}", booking_agent)
        assert search.status_code == 200, search.text
        one = api(gateway, "GET", f"/api/packages/{package.id}", booking_agent)
        return [p["id"] for p in search.json()["data"]], one.status_code

    assert listed() == ([package.id], 200)
    assert act(gateway, admin.token, operator.id, "suspend").status_code == 200
    assert listed() == ([], 404)
    booked = book(gateway, booking_agent, package.id)
    assert booked.status_code == 404, booked.text
    assert booked.json()["error"]["code"] == "package_not_found"
    assert "suspended" in booked.json()["error"]["message"]
    edit = api(gateway, "PATCH", f"/api/operators/me/packages/{package.id}", operator.token,
               json={"title": "Still selling"})
    assert edit.status_code == 403, edit.text
    assert edit.json()["error"]["code"] == "operator_suspended"
    assert api(gateway, "POST", f"/api/operators/me/packages/{package.id}/archive",
               operator.token).json()["error"]["code"] == "operator_suspended"
    assert as_supabase_js(stack_env, operator, "update multi_city_hotel_packages"
                          " set title = 'Still selling' where id = %s", (package.id,)) == 0

    # Reactivated, they come back as they were.
    assert act(gateway, admin.token, operator.id, "reactivate").status_code == 200
    assert listed() == ([package.id], 200)
    again = api(gateway, "GET", f"/api/packages/{package.id}", booking_agent).json()
    assert (again["status"], again["title"]) == ("published", package.title)
    assert book(gateway, booking_agent, package.id).status_code == 201


def test_administrators_see_the_verified_sign_in_email_beside_the_typed_one(
        gateway, new_operator, admin):
    operator = new_operator(active=False)
    typed = api(gateway, "PATCH", "/api/operators/me", operator.token,
                json={"company_name": "Big Bank Travel", "contact_email": "ceo@bigbank.example"})
    assert typed.status_code == 200, typed.text
    queue = api(gateway, "GET", "/api/operators?status=pending&limit=100", admin.token).json()
    [row] = [r for r in queue["data"] if r["id"] == operator.id]
    assert row["contact_email"] == "ceo@bigbank.example"
    assert row["sign_ins"] == [{"issuer": "supabase", "email": operator.email,
                                "confirmed": True}]
    one = api(gateway, "GET", f"/api/operators/{operator.id}", admin.token).json()
    assert one["sign_ins"] == row["sign_ins"]
    approved = act(gateway, admin.token, operator.id, "approve").json()
    assert approved["sign_ins"] == row["sign_ins"]

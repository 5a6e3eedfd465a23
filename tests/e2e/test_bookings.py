"""Bookings through the gateway on the real stack: an agent books an operator's package,
both sides see it, and it stays right under retries, races and a dead dependency."""
from __future__ import annotations

import datetime
import os
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import psycopg
import pytest
from booking_service.settings import BookingSettings

from devstack import api as devstack
from tests.builders import agents
from tests.builders.agents import new_agent, set_status
from tests.builders.bookings import DEPARTURE, book, booking_body
from tests.builders.packages import TODAY, publish_package
from tests.helpers import access_log, api

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def package(gateway, operator_token):
    """Room for every booking this module makes on one departure."""
    return publish_package(gateway, operator_token, capacity=500)


@pytest.fixture(scope="module")
def other_operator_token(new_operator):
    """A second tour operator."""
    return new_operator().token


@pytest.fixture(scope="module")
def active_agent(gateway, stack_env):
    """A fresh agent, approved, with commission rate 0.1000."""
    return agents.active_agent(gateway, stack_env)


def rows_with_key(stack_env, key):
    with psycopg.connect(stack_env["RDS_ADMIN_URL"]) as conn:
        return conn.execute("select count(*) from bookings.bookings where idempotency_key = %s",
                            (key,)).fetchone()[0]


def test_full_journey_agent_books_operator_confirms_both_see_it(
        gateway, package, active_agent, operator_token):
    addons = package.addon_ids
    created = book(gateway, active_agent.token, booking_body(package, 2, addons))
    assert created.status_code == 201, created.text
    booking = created.json()
    assert booking["status"] == "pending"
    assert Decimal(booking["total_price"]) == Decimal("2190.00")  # 2x1000 + 2x45 + 100
    assert Decimal(booking["commission_amount"]) == Decimal("219.00")
    assert created.headers["Location"] == f"/api/bookings/{booking['id']}"

    operator_view = api(gateway, "GET", "/api/bookings", operator_token).json()
    row = next(r for r in operator_view["data"] if r["id"] == booking["id"])
    assert row["agent"]["agency_name"] == "Test Travel"
    assert row["package"]["title"] == package.title
    assert [s["city"] for s in row["package"]["stops"]] == ["Lisbon", "Porto"]

    confirmed = api(gateway, "POST", f"/api/bookings/{booking['id']}/confirm", operator_token)
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    mine = api(gateway, "GET", f"/api/bookings/{booking['id']}", active_agent.token).json()
    assert mine["status"] == "confirmed"

    summary = api(gateway, "GET", "/api/bookings/summary", active_agent.token).json()
    assert summary["counts"]["confirmed"] == 1
    month = DEPARTURE.strftime("%Y-%m")
    assert [Decimal(m["commission"]) for m in summary["commission_by_month"]
            if m["month"] == month] == [Decimal("219.00")]
    per_package = api(gateway, "GET", "/api/bookings/summary", operator_token).json()["packages"]
    line = next(p for p in per_package if p["package_id"] == package.id)
    assert line["confirmed"] == 1 and line["title"] == package.title


def test_the_same_idempotency_key_returns_the_same_booking(gateway, package, active_agent,
                                                           stack_env):
    key, body = uuid.uuid4().hex, booking_body(package, 1)
    first = book(gateway, active_agent.token, body, key)
    again = book(gateway, active_agent.token, body, key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert rows_with_key(stack_env, key) == 1
    different = book(gateway, active_agent.token, booking_body(package, 2), key)
    assert different.status_code == 422
    assert different.json()["error"]["code"] == "idempotency_key_reused"


def test_a_booking_needs_an_idempotency_key(gateway, package, active_agent):
    response = api(gateway, "POST", "/api/bookings", active_agent.token,
                   json=booking_body(package, 1))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_required"


def test_racing_agents_never_overbook_the_last_seats(gateway, operator_token, active_agent,
                                                     stack_env):
    small = publish_package(gateway, operator_token, capacity=5)
    body = booking_body(small, 1)
    with ThreadPoolExecutor(max_workers=30) as pool:
        answers = list(pool.map(lambda _: book(gateway, active_agent.token, body), range(30)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(201) == 5, statuses
    assert statuses.count(409) == 25, statuses
    assert all(a.json()["error"]["code"] == "sold_out" for a in answers if a.status_code == 409)
    with psycopg.connect(stack_env["RDS_ADMIN_URL"]) as conn:
        taken = conn.execute("select seats_taken from bookings.departures where package_id = %s",
                             (small.id,)).fetchone()[0]
    assert taken == 5


def test_cancelling_gives_the_seats_back(gateway, operator_token, active_agent):
    tiny = publish_package(gateway, operator_token, capacity=2)
    first = book(gateway, active_agent.token, booking_body(tiny, 2)).json()
    assert book(gateway, active_agent.token, booking_body(tiny, 1)).status_code == 409
    cancelled = api(gateway, "POST", f"/api/bookings/{first['id']}/cancel", active_agent.token)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert book(gateway, active_agent.token, booking_body(tiny, 2)).status_code == 201


def test_declining_gives_the_seats_back(gateway, operator_token, active_agent):
    tiny = publish_package(gateway, operator_token, capacity=2)
    first = book(gateway, active_agent.token, booking_body(tiny, 2)).json()
    assert book(gateway, active_agent.token, booking_body(tiny, 1)).status_code == 409
    declined = api(gateway, "POST", f"/api/bookings/{first['id']}/decline", operator_token)
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    assert book(gateway, active_agent.token, booking_body(tiny, 2)).status_code == 201


def _departed(stack_env, booking: dict, days_ago: int) -> None:
    # Arranging the passage of time: the departure date arrives (0) or has passed (1).
    with psycopg.connect(stack_env["RDS_ADMIN_URL"]) as conn:
        conn.execute("update bookings.bookings set departure_date = %s where id = %s",
                     (TODAY - datetime.timedelta(days=days_ago), booking["id"]))


@pytest.mark.parametrize("days_ago", [0, 1])
def test_an_agent_cannot_cancel_once_the_departure_date_is_reached(
        gateway, package, active_agent, stack_env, days_ago):
    booking = book(gateway, active_agent.token, booking_body(package, 1)).json()
    _departed(stack_env, booking, days_ago)
    response = api(gateway, "POST", f"/api/bookings/{booking['id']}/cancel",
                   active_agent.token)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "departure_passed"
    mine = api(gateway, "GET", f"/api/bookings/{booking['id']}", active_agent.token).json()
    assert mine["status"] == "pending"


@pytest.mark.parametrize("days_ago", [0, 1])
def test_an_operator_cannot_confirm_once_the_departure_date_is_reached(
        gateway, package, active_agent, operator_token, stack_env, days_ago):
    booking = book(gateway, active_agent.token, booking_body(package, 1)).json()
    _departed(stack_env, booking, days_ago)
    response = api(gateway, "POST", f"/api/bookings/{booking['id']}/confirm", operator_token)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "departure_passed"
    assert api(gateway, "GET", f"/api/bookings/{booking['id']}",
               active_agent.token).json()["status"] == "pending"
    # Declining it only gives the seats back: still allowed.
    declined = api(gateway, "POST", f"/api/bookings/{booking['id']}/decline", operator_token)
    assert declined.status_code == 200 and declined.json()["status"] == "declined"


def test_operators_never_see_the_agents_commission(gateway, package, active_agent,
                                                   operator_token):
    booking = book(gateway, active_agent.token, booking_body(package, 1)).json()
    assert booking["commission_rate"] == "0.1000"   # the agent who booked sees it
    path = f"/api/bookings/{booking['id']}"
    shown = [api(gateway, "GET", path, operator_token).json(),
             next(r for r in api(gateway, "GET", "/api/bookings", operator_token,
                                 params={"limit": 100}).json()["data"]
                  if r["id"] == booking["id"]),
             api(gateway, "POST", f"{path}/confirm", operator_token).json()]
    for seen in shown:
        assert seen["id"] == booking["id"] and seen["total_price"] == booking["total_price"]
        assert "commission_rate" not in seen and "commission_amount" not in seen, seen
    assert shown[0]["agent"] == {"agency_name": "Test Travel"}


def test_a_total_larger_than_the_platform_holds_is_422_and_writes_nothing(
        gateway, operator_token, active_agent, stack_env):
    # The largest price operator-service accepts: one traveller fits, two overflow.
    dearest = publish_package(gateway, operator_token, price="9999999999.99")
    key = uuid.uuid4().hex
    response = book(gateway, active_agent.token, booking_body(dearest, 2), key)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "total_too_large"
    assert rows_with_key(stack_env, key) == 0


def test_an_idempotency_key_belongs_to_the_agent_who_sent_it(gateway, package, active_agent,
                                                             stack_env):
    other = new_agent(gateway)
    set_status(stack_env, other.id, "active")
    key, body = uuid.uuid4().hex, booking_body(package, 1)
    mine = book(gateway, active_agent.token, body, key)
    theirs = book(gateway, other.token, body, key)
    assert (mine.status_code, theirs.status_code) == (201, 201), theirs.text
    assert theirs.json()["id"] != mine.json()["id"]
    assert theirs.json()["agent_sub"] != mine.json()["agent_sub"]
    assert rows_with_key(stack_env, key) == 2
    # Nor does another agent's key tell them it was used: a different body books as well.
    key = uuid.uuid4().hex
    assert book(gateway, active_agent.token, body, key).status_code == 201
    different = book(gateway, other.token, booking_body(package, 2), key)
    assert different.status_code == 201, different.text


@pytest.mark.parametrize("action, actor, start, expected", [
    ("cancel", "agent", "pending", 200), ("cancel", "agent", "confirmed", 200),
    ("cancel", "agent", "cancelled", 409), ("cancel", "agent", "declined", 409),
    ("confirm", "operator", "pending", 200), ("confirm", "operator", "confirmed", 409),
    ("confirm", "operator", "cancelled", 409), ("decline", "operator", "pending", 200),
    ("decline", "operator", "confirmed", 409), ("confirm", "agent", "pending", 403),
    ("cancel", "operator", "pending", 403)])
def test_transition_table(gateway, package, active_agent, operator_token, action, actor,
                          start, expected):
    tokens = {"agent": active_agent.token, "operator": operator_token}
    booking = book(gateway, active_agent.token, booking_body(package, 1)).json()
    moves = {"confirmed": ("confirm", "operator"), "cancelled": ("cancel", "agent"),
             "declined": ("decline", "operator")}
    if start != "pending":
        move, who = moves[start]
        assert api(gateway, "POST", f"/api/bookings/{booking['id']}/{move}",
                   tokens[who]).status_code == 200
    response = api(gateway, "POST", f"/api/bookings/{booking['id']}/{action}", tokens[actor])
    assert response.status_code == expected, response.text
    if expected == 409:
        error = response.json()["error"]
        assert error["code"] == "invalid_status_transition"
        assert error["details"] == [{"current_status": start, "action": action}]


def test_bookings_come_in_pages_that_say_where_the_next_one_starts(gateway, package, stack_env):
    agent = new_agent(gateway)
    set_status(stack_env, agent.id, "active")
    made = [book(gateway, agent.token, booking_body(package, 1)).json()["id"] for _ in range(3)]
    seen, offset, pages = [], 0, []
    while offset is not None:
        page = api(gateway, "GET", "/api/bookings", agent.token,
                   params={"limit": 2, "offset": offset}).json()
        pages.append((page["offset"], page["limit"], page["total"], page["next_offset"]))
        seen += [row["id"] for row in page["data"]]
        offset = page["next_offset"]
    assert pages == [(0, 2, 3, 2), (2, 2, 3, None)]
    assert seen == made[::-1]  # newest first, each once


def test_other_peoples_bookings_are_404(gateway, package, active_agent, other_operator_token):
    booking = book(gateway, active_agent.token, booking_body(package, 1)).json()
    stranger = new_agent(gateway)
    for token in (stranger.token, other_operator_token):
        assert api(gateway, "GET", f"/api/bookings/{booking['id']}", token).status_code == 404
        assert booking["id"] not in {r["id"] for r in
                                     api(gateway, "GET", "/api/bookings", token).json()["data"]}
    assert api(gateway, "POST", f"/api/bookings/{booking['id']}/confirm",
               other_operator_token).status_code == 404
    assert api(gateway, "POST", f"/api/bookings/{booking['id']}/cancel",
               stranger.token).status_code == 404


def test_only_active_agents_book(gateway, package, stack_env):
    pending = new_agent(gateway)
    response = book(gateway, pending.token, booking_body(package, 1))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "agent_not_active"
    set_status(stack_env, pending.id, "suspended")
    assert book(gateway, pending.token, booking_body(package, 1)).status_code == 403


def test_operators_cannot_book(gateway, package, operator_token):
    response = book(gateway, operator_token, booking_body(package, 1))
    assert response.status_code == 403


@pytest.mark.parametrize("change, code", [
    ({"departure_date": str(TODAY + datetime.timedelta(days=400))}, "not_bookable"),
    ({"travellers": [{"full_name": f"T{i}", "email": "a@example.com"} for i in range(7)]},
     "not_bookable"),
    ({"addon_ids": [str(uuid.uuid4())]}, "unknown_addons")])
def test_unbookable_requests_are_422(gateway, package, active_agent, change, code):
    response = book(gateway, active_agent.token, {**booking_body(package, 1), **change})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code


def test_prices_sent_by_the_client_are_refused(gateway, package, active_agent):
    response = book(gateway, active_agent.token, {**booking_body(package, 1), "total_price": 1})
    assert response.status_code == 400
    assert {d["field"] for d in response.json()["error"]["details"]} == {"total_price"}


FRESH = {"Cache-Control": "no-cache"}


def _downstream_calls(test_layout, request_id) -> dict[str, int]:
    time.sleep(0.3)
    return {service: sum(1 for e in access_log(test_layout.logs, service)
                         if e["request_id"] == request_id)
            for service in ("agent-service", "operator-service")}


def test_a_page_costs_one_call_to_each_other_service(gateway, package, active_agent, test_layout):
    for _ in range(3):
        assert book(gateway, active_agent.token, booking_body(package, 1)).status_code == 201
    page = api(gateway, "GET", "/api/bookings?limit=50", active_agent.token, headers=FRESH)
    assert page.status_code == 200 and len(page.json()["data"]) >= 3
    assert _downstream_calls(test_layout, page.headers["X-Request-ID"]) == {
        "agent-service": 1, "operator-service": 1}


NO_CALLS = {"agent-service": 0, "operator-service": 0}
ONE_CALL_EACH = {"agent-service": 1, "operator-service": 1}
# The freshness bound the test stack runs with (DISPLAY_MAX_AGE_SECONDS, its default).
DISPLAY_MAX_AGE = datetime.timedelta(
    seconds=BookingSettings.model_fields["display_max_age_seconds"].default)


def _shown(page) -> list[tuple[str, list[str], str]]:
    """(title, stop cities, agency name) of each row of a page, newest first."""
    assert page.status_code == 200, page.text
    assert "degraded" not in page.json(), page.json()
    return [(row["package"]["title"], [s["city"] for s in row["package"]["stops"]],
             row["agent"]["agency_name"]) for row in page.json()["data"]]


def _told_earlier(stack_env, agent_sub: str, by: datetime.timedelta) -> None:
    # Arranging the passage of time: what the agent's bookings keep of their packages and
    # agency was told `by` earlier than it was.
    with psycopg.connect(stack_env["RDS_ADMIN_URL"]) as conn:
        conn.execute("""update bookings.bookings set package_seen_at = package_seen_at - %(by)s,
                                                     agency_seen_at = agency_seen_at - %(by)s
                         where agent_sub = %(sub)s""", {"by": by, "sub": agent_sub})


def test_a_page_shows_the_bookings_as_booked_without_asking_the_other_services(
        gateway, package, stack_env, test_layout):
    """A caller no page was ever made for, on their first view as on every reload: the
    titles, stops and agency name come from the bookings themselves."""
    agent = agents.active_agent(gateway, stack_env)
    made = [book(gateway, agent.token, booking_body(package, 1)).json()["id"] for _ in range(3)]
    pages = [api(gateway, "GET", "/api/bookings", agent.token) for _ in range(4)]
    for page in pages:
        assert _shown(page) == [(package.title, ["Lisbon", "Porto"], "Test Travel")] * 3
    one = api(gateway, "GET", f"/api/bookings/{made[0]}", agent.token)
    assert one.json()["package"]["title"] == package.title
    for response in [*pages, one]:
        assert _downstream_calls(test_layout, response.headers["X-Request-ID"]) == NO_CALLS


def test_a_renamed_package_shows_its_new_title_once_the_freshness_bound_has_passed(
        gateway, operator_token, stack_env, test_layout):
    first, second = (publish_package(gateway, operator_token) for _ in range(2))
    agent = agents.active_agent(gateway, stack_env)
    sub = [book(gateway, agent.token, booking_body(booked, 1)).json()["agent_sub"]
           for booked in (first, second, second)][0]
    renamed = f"{first.title} (renamed)"
    assert api(gateway, "PATCH", f"/api/operators/me/packages/{first.id}", operator_token,
               json={"title": renamed}).status_code == 200

    def titles():
        page = api(gateway, "GET", "/api/bookings", agent.token)
        calls = _downstream_calls(test_layout, page.headers["X-Request-ID"])
        return [title for title, _, _ in _shown(page)], calls

    # Within the bound: as booked, and nobody else asked.
    assert titles() == ([second.title, second.title, first.title], NO_CALLS)
    _told_earlier(stack_env, sub, DISPLAY_MAX_AGE - datetime.timedelta(seconds=10))
    assert titles() == ([second.title, second.title, first.title], NO_CALLS)
    # Past it: the new title, asked for once per service for the whole page (two packages)...
    _told_earlier(stack_env, sub, datetime.timedelta(seconds=20))
    assert titles() == ([second.title, second.title, renamed], ONE_CALL_EACH)
    # ...and kept: the next page asks nobody again.
    assert titles() == ([second.title, second.title, renamed], NO_CALLS)
    # A refresh button (no-cache) asks at once, whatever the age.
    newest = f"{first.title} (renamed again)"
    assert api(gateway, "PATCH", f"/api/operators/me/packages/{first.id}", operator_token,
               json={"title": newest}).status_code == 200
    refreshed = api(gateway, "GET", "/api/bookings", agent.token, headers=FRESH)
    assert [t for t, _, _ in _shown(refreshed)] == [second.title, second.title, newest]
    assert _downstream_calls(test_layout, refreshed.headers["X-Request-ID"]) == ONE_CALL_EACH


def test_bookings_made_before_pages_kept_copies_are_filled_when_first_read(
        gateway, package, stack_env, test_layout):
    agent = agents.active_agent(gateway, stack_env)
    sub = [book(gateway, agent.token, booking_body(package, 1)).json()["agent_sub"]
           for _ in range(2)][0]
    with psycopg.connect(stack_env["RDS_ADMIN_URL"]) as conn:  # as a row made before 019 is
        conn.execute("""update bookings.bookings
                           set package_title = null, package_stops = null, package_seen_at = null,
                               agency_name = null, agency_seen_at = null
                         where agent_sub = %s""", (sub,))
    for calls in (ONE_CALL_EACH, NO_CALLS):
        page = api(gateway, "GET", "/api/bookings", agent.token)
        assert _shown(page) == [(package.title, ["Lisbon", "Porto"], "Test Travel")] * 2
        assert _downstream_calls(test_layout, page.headers["X-Request-ID"]) == calls


@pytest.mark.devstack  # a service's own port, or its process
@pytest.mark.parametrize("dependency", ["operator-service", "agent-service"])
def test_a_dead_dependency_degrades_lists_and_refuses_new_bookings(
        gateway, package, active_agent, test_layout, stack_env, dependency):
    assert book(gateway, active_agent.token, booking_body(package, 1)).status_code == 201
    devstack.stop_part(test_layout, dependency)
    try:
        # The newest booking's page needs nobody: served whole, not degraded.
        newest = api(gateway, "GET", "/api/bookings", active_agent.token, params={"limit": 1})
        assert newest.status_code == 200 and "degraded" not in newest.json(), newest.text
        assert [(r["package"]["title"], r["agent"]["agency_name"])
                for r in newest.json()["data"]] == [(package.title, "Test Travel")]
        # Asking anew names the dead service; rows keep what they last showed.
        listed = api(gateway, "GET", "/api/bookings", active_agent.token, headers=FRESH)
        assert listed.status_code == 200
        assert listed.json()["degraded"] == [dependency]
        assert len(listed.json()["data"]) >= 1
        assert all(r["package"] and r["agent"] for r in listed.json()["data"])
        key = uuid.uuid4().hex
        refused = book(gateway, active_agent.token, booking_body(package, 1), key)
        assert refused.status_code == 503
        assert refused.json()["error"]["details"] == [{"dependency": dependency}]
        assert rows_with_key(stack_env, key) == 0
    finally:
        devstack.up(test_layout)
        _wait_until_enriched(gateway, active_agent.token)


def _wait_until_enriched(gateway, token, timeout=30.0):
    """After a restart, wait out the circuit breakers (reset after 10 s) of every
    booking-service worker: several whole pages in a row, not one lucky worker."""
    deadline, whole_in_a_row = time.monotonic() + timeout, 0
    while time.monotonic() < deadline and whole_in_a_row < 8:
        page = api(gateway, "GET", "/api/bookings", token, headers=FRESH).json()
        whole_in_a_row = 0 if "degraded" in page else whole_in_a_row + 1
        time.sleep(0.1 if whole_in_a_row else 0.5)
    assert whole_in_a_row >= 8, "bookings stayed degraded after the dependency came back"


@pytest.mark.devstack  # a service's own port, or its process
def test_a_hung_dependency_costs_one_timeout_then_the_breaker_fails_fast(
        gateway, package, active_agent, test_layout):
    """A dependency that accepts connections but never answers (SIGSTOP) is cut off by the
    read timeout, and after a few failures each worker's circuit breaker stops waiting."""
    assert book(gateway, active_agent.token, booking_body(package, 1)).status_code == 201
    pid = devstack.main_pid(test_layout, "operator-service")
    os.killpg(pid, signal.SIGSTOP)

    def timed_list():
        start = time.monotonic()
        response = api(gateway, "GET", "/api/bookings", active_agent.token, headers=FRESH)
        return response, time.monotonic() - start

    try:
        first, seconds = timed_list()
        assert first.status_code == 200 and first.json()["degraded"] == ["operator-service"]
        assert seconds < 5, seconds  # one read timeout (2 s), not a hung worker
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda _: timed_list(), range(24)))
        # Each gunicorn worker has its own breaker; once every one has seen enough
        # failures, no request waits on the dead service any more.
        fast_in_a_row = 0
        for _ in range(30):
            later, seconds = timed_list()
            assert later.json()["degraded"] == ["operator-service"]
            fast_in_a_row = fast_in_a_row + 1 if seconds < 1 else 0
            if fast_in_a_row == 4:
                break
        assert fast_in_a_row == 4, "the circuit breakers did not open"
    finally:
        os.killpg(pid, signal.SIGCONT)
        _wait_until_enriched(gateway, active_agent.token)

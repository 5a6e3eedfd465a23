"""Each error a user can get from booking-service, without a stack: its service modules
(making, reading, transitions) over a fake service client that answers as agent-service
and operator-service would, and an in-memory bookings table in place of repository.py.
The last test holds that every code booking-service raises is named here."""
from __future__ import annotations

import datetime
import re
import uuid
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import cast

import pytest
from booking_service import making, reading, repository, transitions
from booking_service.backends import Dependencies
from booking_service.schemas import NewBooking
from psycopg import errors as pg_errors
from psycopg.pq import DiagnosticField

from tests.helpers import REPO
from travel_platform.auth import Identity
from travel_platform.errors import APIError, status_and_code
from travel_platform.http import ServiceClient

TODAY = datetime.date(2027, 1, 10)
PACKAGE_ID = str(uuid.uuid4())
INSURANCE = str(uuid.uuid4())
AGENT = Identity(source="cognito", subject="sub-agent", email=None, groups=(), role=None,
                 expires_at=0, claims={})
OPERATOR = Identity(source="supabase", subject=str(uuid.uuid4()), email=None, groups=(),
                    role=None, expires_at=0, claims={})


class Answer:
    def __init__(self, status_code: int, body: dict):
        self.status_code, self.body = status_code, body

    def json(self) -> dict:
        return self.body


class FakeServiceClient:
    """A ServiceClient whose answers are given per path; records what it was asked."""

    def __init__(self, name: str, answers: dict[str, Answer]):
        self.name, self.answers = name, answers
        self.asked: list[str] = []

    def get(self, path: str, params=None) -> Answer:
        self.asked.append(path)
        return self.answers[path]


def package(**overrides) -> dict:
    row = {"id": PACKAGE_ID, "operator_id": OPERATOR.subject, "title": "Lisbon and Porto",
           "status": "published", "price_per_traveller": "1290.50", "currency": "EUR",
           "min_travellers": 1, "max_travellers": 4, "capacity_per_departure": 10,
           "first_departure_date": "2027-02-01", "last_departure_date": "2027-03-31",
           "addons": [{"id": INSURANCE, "name": "Insurance", "price": "45.00",
                       "pricing": "per_traveller"}], "stops": []}
    return {**row, **overrides}


def deps(*, agent_status="active", commission_rate="0.1000", packages=None,
         operator_status="active", agents_status_code=200) -> Dependencies:
    agents = FakeServiceClient("agent-service", {"/internal/agents": Answer(
        agents_status_code, {"data": [{"sub": AGENT.subject, "agency_name": "Atlas",
                                       "status": agent_status,
                                       "commission_rate": commission_rate}]})})
    operators = FakeServiceClient("operator-service", {
        "/internal/packages": Answer(200, {"data": [package()] if packages is None else packages}),
        "/api/operators/me": Answer(200, {"profile": None if operator_status is None
                                          else {"status": operator_status}})})
    # Duck-typed: booking-service calls only `get` and reads `name`.
    return Dependencies(agents=cast(ServiceClient, agents),
                                operators=cast(ServiceClient, operators),
                                display_max_age=datetime.timedelta(seconds=300))


def body(*, travellers=2, date=datetime.date(2027, 2, 15), addons=()) -> NewBooking:
    people = [{"full_name": f"Traveller {i}", "email": "lead@example.com" if i == 0 else None}
              for i in range(travellers)]
    return NewBooking(package_id=PACKAGE_ID, departure_date=date, travellers=people,
                      addon_ids=list(addons))


def quote_refusal(dependencies: Dependencies, request: NewBooking | None = None,
                  identity: Identity = AGENT) -> tuple[int, str]:
    with pytest.raises(APIError) as error:
        making.preview_price(deps=dependencies, identity=identity, body=request or body(),
                              today=TODAY)
    return status_and_code(error.value)


def test_an_active_agent_gets_the_price_with_their_commission():
    price = making.preview_price(deps=deps(), identity=AGENT, body=body(addons=[INSURANCE]),
                                  today=TODAY)
    assert str(price["total_price"]) == "2671.00"        # 2 x 1290.50 + 2 x 45
    assert str(price["commission_amount"]) == "267.10"


def test_only_travel_agents_book():
    assert quote_refusal(deps(), identity=OPERATOR) == (403, "agents_only")


@pytest.mark.parametrize("status", ["pending", "suspended"])
def test_an_agent_who_is_not_active_cannot_book(status):
    assert quote_refusal(deps(agent_status=status)) == (403, "agent_not_active")


def test_an_agent_unknown_to_agent_service_cannot_book():
    dependencies = deps()
    dependencies.agents.answers["/internal/agents"] = Answer(200, {"data": []})
    assert quote_refusal(dependencies) == (403, "agent_not_active")


def test_an_agent_service_that_withholds_the_commission_rate_is_503_dependency_error():
    assert quote_refusal(deps(commission_rate=None)) == (503, "dependency_error")


def test_a_lookup_agent_service_refuses_is_503_dependency_error():
    assert quote_refusal(deps(agents_status_code=400)) == (503, "dependency_error")


def test_a_package_operator_service_does_not_show_is_404_package_not_found():
    # Not published, withdrawn, or its operator suspended: row-level security leaves it out.
    assert quote_refusal(deps(packages=[])) == (404, "package_not_found")


@pytest.mark.parametrize(("request_", "row", "problem"), [
    (body(), package(status="draft"), "not published"),
    (body(date=datetime.date(2027, 4, 1)), package(), "outside"),
    (body(date=TODAY), package(first_departure_date="2027-01-01"), "future"),
    (body(travellers=2), package(min_travellers=3), "at least 3"),
    (body(travellers=2), package(max_travellers=1), "at most 1"),
    (body(), package(price_per_traveller=None), "no price"),
])
def test_a_package_that_cannot_be_booked_like_this_is_422_not_bookable_saying_why(
        request_, row, problem):
    with pytest.raises(APIError) as error:
        making.preview_price(deps=deps(packages=[row]), identity=AGENT, body=request_,
                              today=TODAY)
    assert status_and_code(error.value) == (422, "not_bookable")
    assert any(problem in d["problem"] for d in error.value.details)


def test_an_add_on_the_package_does_not_offer_is_422_unknown_addons():
    assert quote_refusal(deps(), body(addons=[str(uuid.uuid4())])) == (422, "unknown_addons")


@pytest.mark.parametrize("status", [None, "pending", "suspended"])
def test_an_operator_who_is_not_active_cannot_confirm(status):
    with pytest.raises(APIError) as error:
        transitions.transition(pool=None, deps=deps(operator_status=status), identity=OPERATOR,
                           booking_id=uuid.uuid4(), action="confirm", today=TODAY)
    assert status_and_code(error.value) == (403, "operator_not_active")
    assert error.value.details == [{"field": "status", "problem": status or "pending"}]


@pytest.mark.parametrize(("identity", "action"), [
    (OPERATOR, "cancel"), (AGENT, "confirm"), (AGENT, "decline")])
def test_only_the_party_an_action_belongs_to_takes_it(identity, action):
    with pytest.raises(APIError) as error:
        transitions.transition(pool=None, deps=deps(), identity=identity, booking_id=uuid.uuid4(),
                           action=action, today=TODAY)
    assert status_and_code(error.value) == (403, "wrong_party")


def test_an_operator_service_that_refuses_the_operators_profile_is_503_dependency_error():
    dependencies = deps()
    dependencies.operators.answers["/api/operators/me"] = Answer(500, {})
    with pytest.raises(APIError) as error:
        transitions.transition(pool=None, deps=dependencies, identity=OPERATOR,
                               booking_id=uuid.uuid4(), action="confirm", today=TODAY)
    assert status_and_code(error.value) == (503, "dependency_error")


def test_a_total_the_bookings_table_cannot_hold_is_422_total_too_large():
    assert quote_refusal(deps(packages=[package(price_per_traveller="9999999999.99")])) == (
        422, "total_too_large")


# --- through an in-memory bookings table --------------------------------------------------

class Connection:
    @contextmanager
    def transaction(self):
        yield


class Pool:
    @contextmanager
    def connection(self):
        yield Connection()


class Bookings:
    """The rows and seats of the bookings schema, behind repository.py's functions."""

    def __init__(self, capacity_taken: int = 0):
        self.rows: dict[str, dict] = {}
        self.taken = capacity_taken
        self.seats_asked = 0

    def _reaches(self, row: dict, owner: repository.Owner) -> bool:
        return row[owner.column] == owner.subject

    def find_by_idempotency_key(self, *, conn, agent_sub, key):
        return next((dict(r) for r in self.rows.values()
                     if r["agent_sub"] == agent_sub and r["idempotency_key"] == key), None)

    def insert_booking(self, *, conn, booking):
        row = {**booking, "id": str(uuid.uuid4()), "status": "pending"}
        self.rows[row["id"]] = row
        return {k: v for k, v in row.items() if k != "request_fingerprint"}

    def take_seats(self, *, conn, package_id, departure_date, capacity, seats):
        if self.taken + seats > capacity:
            raise pg_errors.CheckViolation("over capacity", info={
                DiagnosticField.CONSTRAINT_NAME: b"departures_within_capacity"})
        self.taken += seats

    def seats_left(self, *, conn, package_id, departure_date):
        return package()["capacity_per_departure"] - self.taken

    def get_booking(self, *, conn, booking_id, owner, lock=False, shown=False):
        row = self.rows.get(str(booking_id))
        return dict(row) if row and self._reaches(row, owner) else None

    def set_status(self, *, conn, booking_id, status):
        self.rows[str(booking_id)]["status"] = status
        return dict(self.rows[str(booking_id)])

    def release_seats(self, *, conn, package_id, departure_date, seats):
        self.taken -= seats


@pytest.fixture
def table(monkeypatch) -> Bookings:
    bookings = Bookings()
    for name in ("find_by_idempotency_key", "insert_booking", "take_seats", "seats_left",
                 "get_booking", "set_status", "release_seats"):
        monkeypatch.setattr(repository, name, getattr(bookings, name))
    return bookings


NOW = datetime.datetime(2027, 1, 10, 9, 0, tzinfo=datetime.UTC)


def book(request: NewBooking | None = None, *, key: str | None = "key-1", dependencies=None):
    return making.create_booking(pool=Pool(), deps=dependencies or deps(), identity=AGENT,
                                 body=request or body(), idempotency_key=key, now=NOW)


def refusal(call) -> tuple[int, str]:
    with pytest.raises(APIError) as error:
        call()
    return status_and_code(error.value)


@pytest.mark.parametrize("key", [None, "", "k" * 201])
def test_a_booking_without_a_usable_idempotency_key_is_400_idempotency_key_required(table, key):
    assert refusal(lambda: book(key=key)) == (400, "idempotency_key_required")
    assert table.rows == {}


def test_the_same_key_and_body_answer_the_first_booking_without_asking_anyone(table):
    first, created = book()
    unreachable = deps(agents_status_code=503)
    again, created_again = book(dependencies=unreachable)
    assert (created, created_again) == (True, False)
    assert again["id"] == first["id"] and len(table.rows) == 1
    assert unreachable.agents.asked == []


def test_the_same_key_with_another_body_is_422_idempotency_key_reused(table):
    book()
    assert refusal(lambda: book(body(travellers=3))) == (422, "idempotency_key_reused")
    assert len(table.rows) == 1


def test_more_travellers_than_seats_left_is_409_sold_out_saying_how_many_are_left(table):
    table.taken = 9
    with pytest.raises(APIError) as error:
        book(body(travellers=2))
    assert status_and_code(error.value) == (409, "sold_out")
    assert error.value.details == [{"seats_left": 1, "seats_requested": 2}]


STRANGER = Identity(source="cognito", subject="sub-other", email=None, groups=(), role=None,
                    expires_at=0, claims={})


@pytest.mark.parametrize("whose", ["someone else's", "unknown"])
def test_someone_elses_or_an_unknown_booking_is_404_booking_not_found(table, whose):
    booking, _ = book()
    identity, booking_id = ((STRANGER, booking["id"]) if whose == "someone else's"
                            else (AGENT, uuid.uuid4()))
    assert refusal(lambda: reading.get_booking(
        pool=Pool(), deps=deps(), identity=identity, booking_id=booking_id,
        now=NOW)) == (404, "booking_not_found")
    assert refusal(lambda: transitions.transition(
        pool=Pool(), deps=deps(), identity=identity, booking_id=booking_id,
        action="cancel", today=TODAY)) == (404, "booking_not_found")


def test_a_move_the_status_does_not_allow_is_409_naming_the_current_status(table):
    booking, _ = book()
    transitions.transition(pool=Pool(), deps=deps(), identity=OPERATOR,
                           booking_id=booking["id"], action="decline", today=TODAY)
    with pytest.raises(APIError) as error:
        transitions.transition(pool=Pool(), deps=deps(), identity=OPERATOR,
                               booking_id=booking["id"], action="confirm", today=TODAY)
    assert status_and_code(error.value) == (409, "invalid_status_transition")
    assert error.value.details == [{"current_status": "declined", "action": "confirm"}]


def test_cancelling_on_the_departure_day_is_409_departure_passed_and_keeps_the_seats(table):
    booking, _ = book()
    departure = booking["departure_date"]
    assert refusal(lambda: transitions.transition(
        pool=Pool(), deps=deps(), identity=AGENT, booking_id=booking["id"], action="cancel",
        today=departure)) == (409, "departure_passed")
    assert table.taken == 2
    cancelled = transitions.transition(pool=Pool(), deps=deps(), identity=AGENT,
                                       booking_id=booking["id"], action="cancel",
                                       today=departure - datetime.timedelta(days=1))
    assert cancelled["status"] == "cancelled" and table.taken == 0


def test_operators_never_see_the_agents_commission(table):
    booking, _ = book()
    assert booking["commission_amount"] == Decimal("258.10")
    declined = transitions.transition(pool=Pool(), deps=deps(), identity=OPERATOR,
                                      booking_id=booking["id"], action="decline", today=TODAY)
    assert "commission_amount" not in declined and "commission_rate" not in declined


def test_every_code_booking_service_raises_has_a_test_here():
    source = "".join(path.read_text() for path in
                     (REPO / "services/booking-service/booking_service").glob("*.py"))
    raised = set(re.findall(r'code="([a-z_]+)"', source)) | {"invalid_status_transition"}
    tested = set(re.findall(r'"([a-z_]+)"\)', Path(__file__).read_text()))
    assert raised - tested == set()

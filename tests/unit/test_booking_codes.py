"""The booking rules that need another service's answer, each error a user can get from
them, without a stack: booking-service's public functions over a fake service client that
answers as agent-service and operator-service would."""
from __future__ import annotations

import datetime
import uuid
from typing import cast

import pytest
from booking_service import service
from booking_service.schemas import NewBooking

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
         operator_status="active", agents_status_code=200) -> service.Dependencies:
    agents = FakeServiceClient("agent-service", {"/internal/agents": Answer(
        agents_status_code, {"data": [{"sub": AGENT.subject, "agency_name": "Atlas",
                                       "status": agent_status,
                                       "commission_rate": commission_rate}]})})
    operators = FakeServiceClient("operator-service", {
        "/internal/packages": Answer(200, {"data": [package()] if packages is None else packages}),
        "/api/operators/me": Answer(200, {"profile": None if operator_status is None
                                          else {"status": operator_status}})})
    # Duck-typed: booking-service calls only `get` and reads `name`.
    return service.Dependencies(agents=cast(ServiceClient, agents),
                                operators=cast(ServiceClient, operators),
                                display_max_age=datetime.timedelta(seconds=300))


def body(*, travellers=2, date=datetime.date(2027, 2, 15), addons=()) -> NewBooking:
    people = [{"full_name": f"Traveller {i}", "email": "lead@example.com" if i == 0 else None}
              for i in range(travellers)]
    return NewBooking(package_id=PACKAGE_ID, departure_date=date, travellers=people,
                      addon_ids=list(addons))


def quote_refusal(dependencies: service.Dependencies, request: NewBooking | None = None,
                  identity: Identity = AGENT) -> tuple[int, str]:
    with pytest.raises(APIError) as error:
        service.preview_price(deps=dependencies, identity=identity, body=request or body(),
                              today=TODAY)
    return status_and_code(error.value)


def test_an_active_agent_gets_the_price_with_their_commission():
    price = service.preview_price(deps=deps(), identity=AGENT, body=body(addons=[INSURANCE]),
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
        service.preview_price(deps=deps(packages=[row]), identity=AGENT, body=request_,
                              today=TODAY)
    assert status_and_code(error.value) == (422, "not_bookable")
    assert any(problem in d["problem"] for d in error.value.details)


def test_an_add_on_the_package_does_not_offer_is_422_unknown_addons():
    assert quote_refusal(deps(), body(addons=[str(uuid.uuid4())])) == (422, "unknown_addons")


@pytest.mark.parametrize("status", [None, "pending", "suspended"])
def test_an_operator_who_is_not_active_cannot_confirm(status):
    with pytest.raises(APIError) as error:
        service.transition(pool=None, deps=deps(operator_status=status), identity=OPERATOR,
                           booking_id=uuid.uuid4(), action="confirm", today=TODAY)
    assert status_and_code(error.value) == (403, "operator_not_active")
    assert error.value.details == [{"field": "status", "problem": status or "pending"}]


@pytest.mark.parametrize(("identity", "action"), [
    (OPERATOR, "cancel"), (AGENT, "confirm"), (AGENT, "decline")])
def test_only_the_party_an_action_belongs_to_takes_it(identity, action):
    with pytest.raises(APIError) as error:
        service.transition(pool=None, deps=deps(), identity=identity, booking_id=uuid.uuid4(),
                           action=action, today=TODAY)
    assert status_and_code(error.value) == (403, "wrong_party")

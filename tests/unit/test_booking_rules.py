"""booking-service's pure rules (booking_service/rules.py) and prices (pricing.py), each on
its own, no I/O; the errors they raise through the services: test_booking_codes.py."""
import datetime
from decimal import Decimal

import pytest
from booking_service import repository, rules
from booking_service.clients import Addon, AgentInfo, PackageInfo
from booking_service.pricing import MAX_AMOUNT, quote
from booking_service.rules import fingerprint
from booking_service.schemas import NewBooking
from operator_service.schemas import PackageCreate
from pydantic import ValidationError

from travel_platform.auth import Identity
from travel_platform.errors import APIError, Unprocessable, status_and_code

TODAY = datetime.date(2027, 1, 10)
AGENT = Identity(source="cognito", subject="sub-agent", email=None, groups=(), role=None,
                 expires_at=0, claims={})
OPERATOR = Identity(source="supabase", subject="op-1", email=None, groups=(), role=None,
                    expires_at=0, claims={})


def package(**overrides) -> PackageInfo:
    values = dict(id="p1", operator_id="o1", title="Lisbon and Porto", status="published",
                  price_per_traveller=Decimal("1290.50"), currency="EUR", min_travellers=1,
                  max_travellers=4, capacity_per_departure=10,
                  first_departure_date=datetime.date(2027, 2, 1),
                  last_departure_date=datetime.date(2027, 3, 31), addons=(), stops=())
    return PackageInfo(**{**values, **overrides})


def request(travellers: int = 2, date=datetime.date(2027, 2, 15), addons=()) -> NewBooking:
    people = [{"full_name": f"Traveller {i}", "email": "lead@example.com" if i == 0 else None}
              for i in range(travellers)]
    return NewBooking(package_id="8d0fd2b3-9ca7-4d9e-a95f-9e13dded323e", departure_date=date,
                      travellers=people, addon_ids=list(addons))


def test_price_is_per_traveller_plus_addons_and_commission_is_rounded_half_up():
    insurance = Addon(id="a1", name="Insurance", price=Decimal("45.00"), per_traveller=True)
    transfer = Addon(id="a2", name="Airport transfer", price=Decimal("100.00"), per_traveller=False)
    result = quote(package=package(), travellers=2, addons=[insurance, transfer],
                   commission_rate=Decimal("0.1000"))
    assert result.total == Decimal("2771.00")  # 2 x 1290.50 + 2 x 45 + 100
    assert result.commission == Decimal("277.10")
    assert [line["amount"] for line in result.lines] == ["2581.00", "90.00", "100.00"]
    assert result.currency == "EUR"


def test_commission_rounds_half_up_to_the_cent():
    result = quote(package=package(price_per_traveller=Decimal("0.05")), travellers=1, addons=[],
                   commission_rate=Decimal("0.1"))
    assert result.commission == Decimal("0.01")  # 0.005 rounds up, not to even


def test_the_largest_price_operators_may_set_is_bookable_once():
    result = quote(package=package(price_per_traveller=Decimal("9999999999.99")), travellers=1,
                   addons=[], commission_rate=Decimal("1"))
    assert result.total == result.commission == MAX_AMOUNT


def test_the_largest_price_operators_may_set_is_the_largest_total_bookings_hold():
    # Operator-service's Money and the bookings columns are both numeric(12, 2).
    largest = PackageCreate(title="T", price_per_traveller=MAX_AMOUNT)
    assert largest.price_per_traveller == MAX_AMOUNT
    with pytest.raises(ValidationError):
        PackageCreate(title="T", price_per_traveller=MAX_AMOUNT + Decimal("0.01"))


@pytest.mark.parametrize("travellers, addon_price", [(2, None), (1, "0.01")])
def test_a_total_the_bookings_table_cannot_hold_is_422(travellers, addon_price):
    addons = [Addon(id="a1", name="Extra", price=Decimal(addon_price), per_traveller=False)
              ] if addon_price else []
    with pytest.raises(Unprocessable) as error:
        quote(package=package(price_per_traveller=Decimal("9999999999.99")),
              travellers=travellers, addons=addons, commission_rate=Decimal("0.1"))
    assert error.value.code == "total_too_large"


def test_fingerprint_tells_a_retry_from_a_different_request():
    assert fingerprint(request()) == fingerprint(request())
    assert fingerprint(request()) != fingerprint(request(travellers=3))


def test_the_lead_traveller_needs_an_email():
    with pytest.raises(ValueError):
        NewBooking(package_id="8d0fd2b3-9ca7-4d9e-a95f-9e13dded323e",
                   departure_date=datetime.date(2027, 2, 1), travellers=[{"full_name": "A"}])


def raised(call) -> tuple[int, str]:
    with pytest.raises(APIError) as error:
        call()
    return status_and_code(error.value)


# --- who books, and with which key -------------------------------------------------------

def test_only_agents_book():
    rules.ensure_agent(AGENT)
    assert raised(lambda: rules.ensure_agent(OPERATOR)) == (403, "agents_only")


@pytest.mark.parametrize("key, ok", [("k", True), ("k" * rules.MAX_IDEMPOTENCY_KEY_LENGTH, True),
                                     (None, False), ("", False),
                                     ("k" * (rules.MAX_IDEMPOTENCY_KEY_LENGTH + 1), False)])
def test_an_idempotency_key_has_1_to_200_characters(key, ok):
    if ok:
        assert rules.ensure_idempotency_key(key) == key
    else:
        assert raised(lambda: rules.ensure_idempotency_key(key)) == (
            400, "idempotency_key_required")


def test_a_used_key_answers_only_the_same_request():
    rules.ensure_same_request(fingerprint(request()), fingerprint(request()))
    assert raised(lambda: rules.ensure_same_request(fingerprint(request()), fingerprint(
        request(travellers=3)))) == (422, "idempotency_key_reused")


@pytest.mark.parametrize("agent, code", [
    (None, "agent_not_active"),
    (AgentInfo("sub-agent", "Atlas", "pending", Decimal("0.1")), "agent_not_active"),
    (AgentInfo("sub-agent", "Atlas", "suspended", Decimal("0.1")), "agent_not_active"),
    (AgentInfo("sub-agent", "Atlas", "active", None), "dependency_error"),
])
def test_only_an_active_agent_with_a_commission_rate_books(agent, code):
    assert raised(lambda: rules.ensure_may_book(agent))[1] == code


def test_an_active_agent_books():
    agent = AgentInfo("sub-agent", "Atlas", "active", Decimal("0.1"))
    assert rules.ensure_may_book(agent) is agent


# --- which package, on which day ----------------------------------------------------------

def test_a_package_the_catalogue_does_not_show_is_not_found():
    assert rules.ensure_in_catalogue(package()) == package()
    assert raised(lambda: rules.ensure_in_catalogue(None)) == (404, "package_not_found")


def test_a_published_package_in_its_window_for_a_fitting_party_is_bookable():
    assert rules.bookability_problems(package(), request(), TODAY) == []
    rules.ensure_bookable(package(), request(), TODAY)


@pytest.mark.parametrize("date, ok", [
    (datetime.date(2027, 1, 31), False), (datetime.date(2027, 2, 1), True),
    (datetime.date(2027, 3, 31), True), (datetime.date(2027, 4, 1), False)])
def test_the_departure_is_within_the_packages_window_inclusive(date, ok):
    problems = rules.bookability_problems(package(), request(date=date), TODAY)
    assert (problems == []) is ok


@pytest.mark.parametrize("today, ok", [(datetime.date(2027, 2, 14), True),
                                       (datetime.date(2027, 2, 15), False)])
def test_the_departure_is_after_today(today, ok):
    problems = rules.bookability_problems(package(), request(date=datetime.date(2027, 2, 15)),
                                          today)
    assert (problems == []) is ok


@pytest.mark.parametrize("travellers, ok", [(1, False), (2, True), (3, True), (4, False)])
def test_the_party_is_within_the_packages_travellers_per_booking(travellers, ok):
    fitting = package(min_travellers=2, max_travellers=3)
    assert (rules.bookability_problems(fitting, request(travellers), TODAY) == []) is ok


def test_every_problem_of_a_booking_is_named_at_once():
    broken = package(status="draft", price_per_traveller=None, max_travellers=1)
    with pytest.raises(Unprocessable) as error:
        rules.ensure_bookable(broken, request(travellers=2, date=datetime.date(2027, 5, 1)),
                              TODAY)
    assert error.value.code == "not_bookable"
    assert [d["problem"] for d in error.value.details] == [
        "the package is not published",
        "the departure date is outside the package's bookable window",
        "at most 1 travellers per booking", "the package has no price or capacity"]


def test_a_package_without_capacity_cannot_be_booked():
    assert rules.bookability_problems(package(capacity_per_departure=0), request(), TODAY) == [
        "the package has no price or capacity"]


def test_add_ons_are_those_the_package_offers_in_the_order_chosen():
    transfer = Addon(id="8d0fd2b3-0000-4d9e-a95f-9e13dded3231", name="Transfer",
                     price=Decimal("35"), per_traveller=False)
    insurance = Addon(id="8d0fd2b3-0000-4d9e-a95f-9e13dded3232", name="Insurance",
                      price=Decimal("45"), per_traveller=True)
    offering = package(addons=(transfer, insurance))
    assert rules.chosen_addons(offering, request(addons=[insurance.id, transfer.id])) == [
        insurance, transfer]
    unknown = "8d0fd2b3-0000-4d9e-a95f-9e13dded3239"
    with pytest.raises(APIError) as error:
        rules.chosen_addons(offering, request(addons=[transfer.id, unknown]))
    assert status_and_code(error.value) == (422, "unknown_addons")
    assert error.value.details == [{"addon_id": unknown}]


def test_sold_out_says_how_many_seats_are_left():
    error = rules.sold_out(seats_left=1, seats_requested=3)
    assert status_and_code(error) == (409, "sold_out")
    assert error.details == [{"seats_left": 1, "seats_requested": 3}]
    assert rules.sold_out(seats_left=None, seats_requested=3).details[0]["seats_left"] == 0


# --- whose bookings, and what of them ----------------------------------------------------

def test_an_agent_reaches_the_bookings_they_made_an_operator_those_of_their_packages():
    assert rules.owner_of(AGENT) == repository.agent_owner("sub-agent")
    assert rules.owner_of(OPERATOR) == repository.operator_owner("op-1")


def test_only_the_agent_who_booked_sees_the_commission():
    booking = {"id": "b1", "total_price": "10", "commission_rate": "0.1",
               "commission_amount": "1"}
    assert rules.shown_to(AGENT, booking) == booking
    assert rules.shown_to(OPERATOR, booking) == {"id": "b1", "total_price": "10"}


def test_a_missing_booking_is_404():
    assert status_and_code(rules.booking_not_found()) == (404, "booking_not_found")


# --- how a booking moves ------------------------------------------------------------------

@pytest.mark.parametrize("identity, action, ok", [
    (AGENT, "cancel", True), (OPERATOR, "cancel", False),
    (OPERATOR, "confirm", True), (AGENT, "confirm", False),
    (OPERATOR, "decline", True), (AGENT, "decline", False)])
def test_each_action_belongs_to_one_party(identity, action, ok):
    if ok:
        rules.ensure_party(identity, action)
    else:
        assert raised(lambda: rules.ensure_party(identity, action)) == (403, "wrong_party")


@pytest.mark.parametrize("status", ["pending", "suspended"])
def test_only_an_active_operator_confirms(status):
    rules.ensure_may_confirm("active")
    assert raised(lambda: rules.ensure_may_confirm(status)) == (403, "operator_not_active")


DEPARTURE = datetime.date(2027, 2, 15)


@pytest.mark.parametrize("status, action, target", [
    ("pending", "cancel", "cancelled"), ("confirmed", "cancel", "cancelled"),
    ("pending", "confirm", "confirmed"), ("pending", "decline", "declined"),
    ("confirmed", "confirm", None), ("confirmed", "decline", None),
    ("cancelled", "cancel", None), ("declined", "confirm", None),
    ("cancelled", "decline", None)])
def test_which_status_each_action_moves_from_and_to(status, action, target):
    booking = {"status": status, "departure_date": DEPARTURE}
    if target:
        assert rules.next_status(booking, action, TODAY) == target
    else:
        with pytest.raises(APIError) as error:
            rules.next_status(booking, action, TODAY)
        assert status_and_code(error.value) == (409, "invalid_status_transition")
        assert error.value.details == [{"current_status": status, "action": action}]


@pytest.mark.parametrize("action, on_the_day_ok", [("cancel", False), ("confirm", False),
                                                   ("decline", True)])
def test_cancel_and_confirm_end_on_the_departure_day_decline_does_not(action, on_the_day_ok):
    booking = {"status": "pending", "departure_date": DEPARTURE}
    assert rules.next_status(booking, action, DEPARTURE - datetime.timedelta(days=1))
    if on_the_day_ok:
        assert rules.next_status(booking, action, DEPARTURE) == "declined"
    else:
        assert raised(lambda: rules.next_status(booking, action, DEPARTURE)) == (
            409, "departure_passed")


@pytest.mark.parametrize("status, frees", [("cancelled", True), ("declined", True),
                                           ("confirmed", False), ("pending", False)])
def test_cancelling_or_declining_gives_the_seats_back(status, frees):
    assert rules.frees_seats(status) is frees

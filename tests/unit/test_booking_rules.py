"""Booking prices and request fingerprints (no I/O); bookability: test_booking_codes.py."""
import datetime
from decimal import Decimal

import pytest
from booking_service.clients import Addon, PackageInfo
from booking_service.pricing import MAX_AMOUNT, quote
from booking_service.schemas import NewBooking
from booking_service.service import fingerprint
from operator_service.schemas import PackageCreate
from pydantic import ValidationError

from travel_platform.errors import Unprocessable

TODAY = datetime.date(2027, 1, 10)


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

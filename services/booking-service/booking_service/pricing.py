"""Prices and commission of a booking, computed from the package (never from the client)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from booking_service.clients import Addon, PackageInfo
from travel_platform.errors import Unprocessable

CENT = Decimal("0.01")
# The largest amount bookings.total_price and commission_amount hold (numeric(12, 2)), as
# operator-service's prices do: a price each side accepts, times up to 50 travellers, can
# still add up to more, and such a booking is refused as a rule, not by the column.
MAX_AMOUNT = Decimal("9999999999.99")


@dataclass(frozen=True)
class Quote:
    """A frozen price: breakdown lines, total and commission, in the package's currency."""

    lines: tuple[dict, ...]
    total: Decimal
    commission_rate: Decimal
    commission: Decimal
    currency: str


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def quote(*, package: PackageInfo, travellers: int, addons: list[Addon],
          commission_rate: Decimal) -> Quote:
    """Per-traveller price x travellers, plus each add-on (per traveller or per booking);
    commission is the agent's rate of the total, rounded half-up to the cent. A total over
    MAX_AMOUNT is a 422 `total_too_large`."""
    if package.price_per_traveller is None:   # the booking rules refuse such a package first
        raise ValueError("a package without a price cannot be quoted")
    base = _money(package.price_per_traveller * travellers)
    lines = [{"item": "package", "unit_price": str(package.price_per_traveller),
              "quantity": travellers, "amount": str(base)}]
    total = base
    for addon in addons:
        quantity = travellers if addon.per_traveller else 1
        amount = _money(addon.price * quantity)
        lines.append({"item": "addon", "addon_id": addon.id, "name": addon.name,
                      "unit_price": str(addon.price), "quantity": quantity,
                      "amount": str(amount)})
        total += amount
    if total > MAX_AMOUNT:
        raise Unprocessable("the booking's total is larger than the platform can hold",
                            code="total_too_large",
                            details=[{"total": str(total), "max_total": str(MAX_AMOUNT)}])
    return Quote(lines=tuple(lines), total=total, commission_rate=commission_rate,
                 commission=_money(total * commission_rate), currency=package.currency)

"""Prices and commission of a booking, computed from the package (never from the client)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from booking_service.clients import Addon, PackageInfo

CENT = Decimal("0.01")


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
    commission is the agent's rate of the total, rounded half-up to the cent."""
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
    return Quote(lines=tuple(lines), total=total, commission_rate=commission_rate,
                 commission=_money(total * commission_rate), currency=package.currency)

"""Pure rules of packages, no I/O: what a package lacks before it may be published, and
which of its fields contradict each other."""
from __future__ import annotations

import datetime


def missing_for_publish(package: dict, *, today: datetime.date) -> list[dict]:
    """What a package lacks before travellers can book it: one entry per problem."""
    missing = []
    if not package["stops"]:
        missing.append(("stops", "at least one stop is required"))
    if package["price_per_traveller"] is None:
        missing.append(("price_per_traveller", "a price per traveller is required"))
    for field in ("first_departure_date", "last_departure_date"):
        if package[field] is None:
            missing.append((field, "the bookable window needs a first and a last departure date"))
    if package["last_departure_date"] is not None and package["last_departure_date"] <= today:
        missing.append(("last_departure_date", "the bookable window must reach past today"))
    if package["capacity_per_departure"] is None:
        missing.append(("capacity_per_departure", "the seats per departure date are required"))
    for field in ("min_travellers", "max_travellers"):
        if package[field] is None:
            missing.append((field, "the travellers per booking need a minimum and a maximum"))
    return [{"field": field, "problem": problem} for field, problem in missing]


def inconsistencies(fields: dict) -> list[dict]:
    """Contradictions between a package's fields (each may be unset)."""
    lo, hi, capacity = (fields.get("min_travellers"), fields.get("max_travellers"),
                        fields.get("capacity_per_departure"))
    first, last = fields.get("first_departure_date"), fields.get("last_departure_date")
    problems = []
    if lo is not None and hi is not None and hi < lo:
        problems.append({"field": "max_travellers", "problem": "must be at least min_travellers"})
    if hi is not None and capacity is not None and hi > capacity:
        problems.append({"field": "max_travellers",
                         "problem": "must not exceed capacity_per_departure"})
    if first is not None and last is not None and last < first:
        problems.append({"field": "last_departure_date",
                         "problem": "must not be before first_departure_date"})
    return problems

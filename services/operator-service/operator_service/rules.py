"""Pure rules of operator-service, no I/O: who may act (an approved operator publishes,
a suspended one changes nothing), which status a package must be in for each action, what
a package lacks before it may be published, which of its fields contradict each other,
how many parts it holds. The service modules read and write; these decide, so each is
tested on its own (tests/unit/test_operator_rules.py)."""
from __future__ import annotations

import datetime

from operator_service.schemas import MAX_ADDONS, MAX_EXCLUSIONS, MAX_STOPS
from travel_platform.errors import Forbidden, InvalidTransition, Unprocessable

PART_LIMITS = {"stops": MAX_STOPS, "addons": MAX_ADDONS, "exclusions": MAX_EXCLUSIONS}


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


def ensure_consistent(fields: dict) -> None:
    """422 `package_inconsistent`, naming each contradiction."""
    problems = inconsistencies(fields)
    if problems:
        raise Unprocessable("the package's fields contradict each other",
                            code="package_inconsistent", details=problems)


def ensure_complete(package: dict, *, today: datetime.date, refusal: str) -> None:
    """422 `package_incomplete` listing what the package lacks (missing_for_publish)."""
    missing = missing_for_publish(package, today=today)
    if missing:
        raise Unprocessable(refusal, code="package_incomplete", details=missing)


def ensure_status_allows(status: str, *, allowed: tuple[str, ...], action: str) -> None:
    """409 `invalid_status_transition` naming the package's status, unless `action` may
    start from it."""
    if status not in allowed:
        raise InvalidTransition(f"cannot {action} a package that is {status}",
                                current_status=status, action=action)


def ensure_room_for_part(part: str, *, count: int, position: int | None) -> None:
    """422 `too_many_parts` once the package holds PART_LIMITS of `part`; 422
    `invalid_position` for a stop placed past the end of the list (1 is first)."""
    if count >= PART_LIMITS[part]:
        raise Unprocessable(f"a package has at most {PART_LIMITS[part]} {part}",
                            code="too_many_parts",
                            details=[{"field": part, "problem": f"{count} already"}])
    if position is not None and position > count + 1:
        raise Unprocessable("the position is past the end of the list",
                            code="invalid_position",
                            details=[{"field": "position",
                                      "problem": f"must be between 1 and {count + 1}"}])


def ensure_active(profile: dict | None, *, action: str) -> None:
    """403 `operator_not_active` unless an administrator approved the operator (and has not
    suspended them): only active operators publish packages and confirm bookings. No
    profile yet is a pending operator."""
    status = profile["status"] if profile else "pending"
    if status != "active":
        raise Forbidden(f"an operator who is {status} cannot {action}: an administrator "
                        "approves new operators", code="operator_not_active",
                        details=[{"field": "status", "problem": status}])


def ensure_not_suspended(profile: dict | None) -> None:
    """403 `operator_suspended` for a suspended operator: their packages are out of the
    catalogue and frozen until an administrator reactivates them."""
    if profile is not None and profile["status"] == "suspended":
        raise Forbidden("a suspended operator cannot change packages: their packages are out "
                        "of the catalogue until an administrator reactivates them",
                        code="operator_suspended",
                        details=[{"field": "status", "problem": "suspended"}])

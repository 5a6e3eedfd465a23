"""Pure rules of booking-service, no I/O: who may book, which package can be booked for a
body and a day, which add-ons it offers, which party moves a booking from which status,
whose bookings a caller reaches and what they see of them. The service modules read,
write and ask the other services; these decide, so each is tested on its own
(tests/unit/test_booking_rules.py, and every error code in test_booking_codes.py)."""
from __future__ import annotations

import datetime
import hashlib
import json

from booking_service import repository
from booking_service.clients import Addon, AgentInfo, PackageInfo
from booking_service.schemas import NewBooking
from travel_platform.auth import Identity
from travel_platform.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidTransition,
    NotFound,
    ServiceUnavailable,
    Unprocessable,
)

MAX_IDEMPOTENCY_KEY_LENGTH = 200
# Which status a booking may move to, from which, and who moves it.
TRANSITIONS = {
    "cancel": ({"pending", "confirmed"}, "cancelled", "agent"),
    "confirm": ({"pending"}, "confirmed", "operator"),
    "decline": ({"pending"}, "declined", "operator"),
}
FREES_SEATS = {"cancelled", "declined"}
# A trip that has begun can no longer be called off, nor promised; declining a pending one
# only gives its seats back, which is harmless at any time.
BEFORE_DEPARTURE_ONLY = {"cancel", "confirm"}
# What only the agent who booked sees of a booking: agent-service tells an agent's rate to
# that agent alone, and the amount would give the rate away.
AGENT_ONLY_FIELDS = ("commission_rate", "commission_amount")


# --- booking ------------------------------------------------------------------------------

def ensure_agent(identity: Identity) -> None:
    """403 `agents_only`: operators sell packages, travel agents book them."""
    if not identity.is_agent:
        raise Forbidden("only travel agents book packages", code="agents_only")


def ensure_idempotency_key(key: str | None) -> str:
    """400 `idempotency_key_required` without a key of 1 to MAX_IDEMPOTENCY_KEY_LENGTH
    characters: without one, a retry after a lost answer would book twice."""
    if not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise BadRequest(f"an Idempotency-Key header (1-{MAX_IDEMPOTENCY_KEY_LENGTH} "
                         "characters) is required",
                         code="idempotency_key_required")
    return key


def fingerprint(body: NewBooking) -> str:
    """Stable digest of a booking request, to tell a retry from a different request."""
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def ensure_same_request(stored_fingerprint: str, body_fingerprint: str) -> None:
    """422 `idempotency_key_reused`: a used key answers its first booking only to the same
    request; another body under it is a client's bug, not a retry."""
    if stored_fingerprint != body_fingerprint:
        raise Unprocessable("this Idempotency-Key was already used for a different booking request",
                            code="idempotency_key_reused")


def ensure_may_book(agent: AgentInfo | None) -> AgentInfo:
    """403 `agent_not_active` unless agent-service knows the agent as active; 503
    `dependency_error` if it withholds their commission rate, which every price needs."""
    if agent is None or agent.status != "active":
        raise Forbidden("only active agents can book; ask an administrator to approve your account",
                        code="agent_not_active")
    if agent.commission_rate is None:
        raise ServiceUnavailable("agent-service did not give the agent's commission rate",
                                 code="dependency_error")
    return agent


def ensure_in_catalogue(package: PackageInfo | None) -> PackageInfo:
    """404 `package_not_found` for a package operator-service did not show the caller."""
    if package is None:
        # The catalogue's rule, kept by operator-service's database (row-level security):
        # a package that is not published, or whose operator is suspended, is not there.
        raise NotFound("no such package in the catalogue: never published, withdrawn, or "
                       "its operator is suspended", code="package_not_found")
    return package


def bookability_problems(package: PackageInfo, body: NewBooking,
                         today: datetime.date) -> list[str]:
    """Why `body` cannot book `package` on `today`: one entry per problem, none if it can."""
    problems = []
    if package.status != "published":
        problems.append("the package is not published")
    first, last = package.first_departure_date, package.last_departure_date
    if first is None or last is None or not first <= body.departure_date <= last:
        problems.append("the departure date is outside the package's bookable window")
    if body.departure_date <= today:
        problems.append("the departure date must be in the future")
    count = len(body.travellers)
    if package.min_travellers and count < package.min_travellers:
        problems.append(f"at least {package.min_travellers} travellers per booking")
    if package.max_travellers and count > package.max_travellers:
        problems.append(f"at most {package.max_travellers} travellers per booking")
    if package.price_per_traveller is None or not package.capacity_per_departure:
        problems.append("the package has no price or capacity")
    return problems


def ensure_bookable(package: PackageInfo, body: NewBooking, today: datetime.date) -> None:
    """422 `not_bookable`, every problem in `details`, so the agent fixes them at once."""
    problems = bookability_problems(package, body, today)
    if problems:
        raise Unprocessable("the package cannot be booked like this", code="not_bookable",
                            details=[{"problem": p} for p in problems])


def chosen_addons(package: PackageInfo, body: NewBooking) -> list[Addon]:
    """The add-ons `body` chose, in its order; 422 `unknown_addons` naming those the
    package does not offer."""
    offered = {addon.id: addon for addon in package.addons}
    unknown = [str(a) for a in body.addon_ids if str(a) not in offered]
    if unknown:
        raise Unprocessable("the package does not offer these add-ons", code="unknown_addons",
                            details=[{"addon_id": a} for a in unknown])
    return [offered[str(a)] for a in body.addon_ids]


def sold_out(*, seats_left: int | None, seats_requested: int) -> Conflict:
    """409 `sold_out`, saying how many seats are left (none when nobody booked the
    departure yet: then it was the package's whole capacity that was too small)."""
    return Conflict("not enough seats left on this departure", code="sold_out",
                    details=[{"seats_left": seats_left if seats_left is not None else 0,
                              "seats_requested": seats_requested}])


# --- reading ------------------------------------------------------------------------------

def owner_of(identity: Identity) -> repository.Owner:
    """Whose bookings a caller reaches: an agent the ones they made, an operator the ones
    of their packages. Anyone else's is 404, never 403, so ids tell nothing."""
    if identity.is_agent:
        return repository.agent_owner(identity.subject)
    return repository.operator_owner(identity.subject)


def shown_to(identity: Identity, booking: dict) -> dict:
    """The booking as the caller may see it: operators never see AGENT_ONLY_FIELDS."""
    if identity.is_agent:
        return booking
    return {k: v for k, v in booking.items() if k not in AGENT_ONLY_FIELDS}


def booking_not_found() -> NotFound:
    """404 `booking_not_found`: no such booking, or not the caller's."""
    return NotFound("no such booking", code="booking_not_found")


# --- transitions --------------------------------------------------------------------------

def ensure_party(identity: Identity, action: str) -> None:
    """403 `wrong_party`: the agent who booked cancels, the package's operator confirms or
    declines; neither takes the other's action."""
    actor = TRANSITIONS[action][2]
    if (actor == "agent") != identity.is_agent:
        raise Forbidden(f"only the {'agent who booked' if actor == 'agent' else 'operator'} "
                        f"can {action} a booking", code="wrong_party")


def ensure_may_confirm(operator_status: str) -> None:
    """403 `operator_not_active`: only an approved (active) operator promises a trip;
    declining stays open to every operator, so a pending one can still free the seats."""
    if operator_status != "active":
        raise Forbidden(f"an operator who is {operator_status} cannot confirm bookings: an "
                        "administrator approves new operators", code="operator_not_active",
                        details=[{"field": "status", "problem": operator_status}])


def next_status(booking: dict, action: str, today: datetime.date) -> str:
    """The status `action` moves `booking` to: 409 `invalid_status_transition` (naming the
    current status) from a status it does not start from, 409 `departure_passed` for a
    cancel or confirm on or after the departure day."""
    allowed_from, target, _ = TRANSITIONS[action]
    if booking["status"] not in allowed_from:
        raise InvalidTransition(f"a {booking['status']} booking cannot be {target}",
                                current_status=booking["status"], action=action)
    if action in BEFORE_DEPARTURE_ONLY and booking["departure_date"] <= today:
        raise Conflict("the departure date has passed", code="departure_passed",
                       details=[{"current_status": booking["status"]}])
    return target


def frees_seats(status: str) -> bool:
    """Whether a booking moving to `status` gives its seats back to the departure."""
    return status in FREES_SEATS

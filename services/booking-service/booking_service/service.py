"""Rules of booking-service: who may book what, at which price, and how a booking moves."""
from __future__ import annotations

import contextvars
import datetime
import functools
import hashlib
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from psycopg import errors as pg_errors

from booking_service import clients, display, repository
from booking_service.pricing import Quote, quote
from booking_service.schemas import BookingFilter, NewBooking
from travel_platform.api import page
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
from travel_platform.http import ServiceClient
from travel_platform.metrics import count_idempotent_replay

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


@dataclass(frozen=True)
class Dependencies:
    """The two services a booking is composed from, and how long what they told a booking
    to show stays good enough to show without asking again (display.py)."""

    agents: ServiceClient
    operators: ServiceClient
    display_max_age: datetime.timedelta


def _owner(identity: Identity) -> repository.Owner:
    if identity.is_agent:
        return repository.agent_owner(identity.subject)
    return repository.operator_owner(identity.subject)


# What only the agent who booked sees of a booking: agent-service tells an agent's rate to
# that agent alone, and the amount would give the rate away.
AGENT_ONLY_FIELDS = ("commission_rate", "commission_amount")


def _shown_to(identity: Identity, booking: dict) -> dict:
    if identity.is_agent:
        return booking
    return {k: v for k, v in booking.items() if k not in AGENT_ONLY_FIELDS}


def fingerprint(body: NewBooking) -> str:
    """Stable digest of a booking request, to tell a retry from a different request."""
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(existing: dict, body_fingerprint: str) -> dict:
    if existing.pop("request_fingerprint") != body_fingerprint:
        raise Unprocessable("this Idempotency-Key was already used for a different booking request",
                            code="idempotency_key_reused")
    count_idempotent_replay()
    return existing


def _check_bookable(package: clients.PackageInfo, body: NewBooking, today: datetime.date) -> None:
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
    if problems:
        raise Unprocessable("the package cannot be booked like this", code="not_bookable",
                            details=[{"problem": p} for p in problems])


MAX_IDEMPOTENCY_KEY_LENGTH = 200


def create_booking(*, pool, deps: Dependencies, identity: Identity, body: NewBooking,
                   idempotency_key: str | None, now: datetime.datetime) -> tuple[dict, bool]:
    """Book a package for an active agent; (booking, created). A retry with the same
    Idempotency-Key and body returns the first booking, whatever the dependencies do. The
    booking keeps what its pages show of the package and agent as both services told it
    now, so showing it needs neither until the freshness bound passes."""
    if not identity.is_agent:
        raise Forbidden("only travel agents book packages", code="agents_only")
    if not idempotency_key or len(idempotency_key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise BadRequest(f"an Idempotency-Key header (1-{MAX_IDEMPOTENCY_KEY_LENGTH} "
                         "characters) is required",
                         code="idempotency_key_required")
    body_fingerprint = fingerprint(body)
    earlier = _earlier_booking(pool=pool, agent_sub=identity.subject, key=idempotency_key,
                               body_fingerprint=body_fingerprint)
    if earlier is not None:
        return earlier, False
    package, agent, chosen, price = _quote(deps=deps, identity=identity, body=body,
                                           today=now.date())
    travellers = [t.model_dump(mode="json") for t in body.travellers]
    row = {
        "agent_sub": identity.subject, "package_id": package.id,
        "operator_id": package.operator_id, "departure_date": body.departure_date,
        "traveller_count": len(travellers), "travellers": travellers,
        "lead_traveller_name": travellers[0]["full_name"],
        "lead_traveller_email": travellers[0]["email"],
        "addons": [{"id": a.id, "name": a.name, "price": str(a.price),
                    "per_traveller": a.per_traveller} for a in chosen],
        "price_breakdown": list(price.lines), "total_price": price.total,
        "commission_rate": price.commission_rate, "commission_amount": price.commission,
        "currency": price.currency, "idempotency_key": idempotency_key,
        "request_fingerprint": body_fingerprint, **display.at_booking(package, agent, now)}
    capacity = package.capacity_per_departure
    assert capacity, "_check_bookable refuses a package without capacity"
    return _store(pool=pool, row=row, capacity=capacity)


def preview_price(*, deps: Dependencies, identity: Identity, body: NewBooking,
                  today: datetime.date) -> dict:
    """The price a booking of `body` would have now, checked as a booking is (active
    agent, bookable package, offered add-ons) but writing nothing: seats are not held."""
    if not identity.is_agent:
        raise Forbidden("only travel agents book packages", code="agents_only")
    _, _, _, price = _quote(deps=deps, identity=identity, body=body, today=today)
    return {"price_breakdown": list(price.lines), "total_price": price.total,
            "commission_rate": price.commission_rate, "commission_amount": price.commission,
            "currency": price.currency}


def _earlier_booking(*, pool, agent_sub: str, key: str, body_fingerprint: str) -> dict | None:
    """The booking this agent already made with this key (the replay), checked first so a
    retry is answered even while the other services are down."""
    with pool.connection() as conn:
        existing = repository.find_by_idempotency_key(conn=conn, agent_sub=agent_sub, key=key)
    return _replay(existing, body_fingerprint) if existing else None


def _quote(*, deps: Dependencies, identity: Identity, body: NewBooking, today: datetime.date
           ) -> tuple[clients.PackageInfo, clients.AgentInfo, list[clients.Addon], Quote]:
    """The package, the agent, the chosen add-ons and the frozen price, from fresh facts of
    both services (never a booking's display copy): an inactive agent or an unbookable
    package stops here, before anything is written."""
    agent = clients.lookup_agents(deps.agents, [identity.subject]).get(identity.subject)
    if agent is None or agent.status != "active":
        raise Forbidden("only active agents can book; ask an administrator to approve your account",
                        code="agent_not_active")
    if agent.commission_rate is None:
        raise ServiceUnavailable("agent-service did not give the agent's commission rate",
                                 code="dependency_error")
    package_id = str(body.package_id)
    package = clients.lookup_packages(deps.operators, [package_id]).get(package_id)
    if package is None:
        # The catalogue's rule, kept by operator-service's database (row-level security):
        # a package that is not published, or whose operator is suspended, is not there.
        raise NotFound("no such package in the catalogue: never published, withdrawn, or "
                       "its operator is suspended", code="package_not_found")
    _check_bookable(package, body, today)
    offered = {addon.id: addon for addon in package.addons}
    unknown = [str(a) for a in body.addon_ids if str(a) not in offered]
    if unknown:
        raise Unprocessable("the package does not offer these add-ons", code="unknown_addons",
                            details=[{"addon_id": a} for a in unknown])
    chosen = [offered[str(a)] for a in body.addon_ids]
    price = quote(package=package, travellers=len(body.travellers), addons=chosen,
                  commission_rate=agent.commission_rate)
    return package, agent, chosen, price


def _store(*, pool, row: dict, capacity: int) -> tuple[dict, bool]:
    """Insert the booking and take its seats in one transaction; the database's capacity
    check decides a race for the last seats, and its unique key a race of two retries."""
    seats = row["traveller_count"]
    with pool.connection() as conn:
        try:
            with conn.transaction():
                booking = repository.insert_booking(conn=conn, booking=row)
                if booking is None:  # a concurrent retry with the same key got there first
                    raise _LostRace()
                repository.take_seats(conn=conn, package_id=row["package_id"],
                                      departure_date=row["departure_date"],
                                      capacity=capacity, seats=seats)
        except _LostRace:
            existing = repository.find_by_idempotency_key(conn=conn, agent_sub=row["agent_sub"],
                                                          key=row["idempotency_key"])
            assert existing is not None, "the retry that won the race has committed its booking"
            return _replay(existing, row["request_fingerprint"]), False
        except pg_errors.CheckViolation as exc:
            if exc.diag.constraint_name != "departures_within_capacity":
                raise
            left = repository.seats_left(conn=conn, package_id=row["package_id"],
                                         departure_date=row["departure_date"])
            raise Conflict("not enough seats left on this departure", code="sold_out",
                           details=[{"seats_left": left if left is not None else 0,
                                     "seats_requested": seats}]) from None
    return booking, True


class _LostRace(Exception):
    pass


# Both lookups of a page run at once: the page waits for the slower one, not for the sum.
_LOOKUPS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="lookup")


def _in_parallel(**calls):
    """Run callables concurrently, each in a copy of this call's context (so each forwards
    the caller's token and request id); each result or its ServiceUnavailable."""
    futures = {name: _LOOKUPS.submit(contextvars.copy_context().run, call)
               for name, call in calls.items()}
    results = {}
    for name, future in futures.items():
        try:
            results[name] = future.result()
        except ServiceUnavailable as exc:
            results[name] = exc
    return results


def _with_display(rows: list[dict], *, pool, deps: Dependencies, now: datetime.datetime,
                  refresh_all: bool) -> tuple[list[dict], list[str]]:
    """The rows with their package and agent as the page shows them (display.py): the
    copies kept on the bookings, those older than the bound (all with `refresh_all`) asked
    for in one batch call per service, both at once, and written back; name each service
    that was asked and did not answer."""
    asked = display.stale(rows, now=now, max_age=deps.display_max_age, refresh_all=refresh_all)
    calls: dict[str, Callable[[], dict]] = {}
    if asked.package_ids:
        calls[deps.operators.name] = functools.partial(clients.lookup_packages, deps.operators,
                                                       asked.package_ids)
    if asked.agent_subs:
        calls[deps.agents.name] = functools.partial(clients.lookup_agents, deps.agents,
                                                    asked.agent_subs)
    answers = _in_parallel(**calls)
    degraded = [name for name, answer in answers.items()
                if isinstance(answer, ServiceUnavailable)]

    def answered(name: str):
        answer = answers.get(name)
        return None if answer is None or isinstance(answer, ServiceUnavailable) else answer

    changed = display.refresh(rows, asked=asked, now=now,
                              packages=answered(deps.operators.name),
                              agents=answered(deps.agents.name))
    if changed:
        with pool.connection() as conn:
            repository.save_display(conn=conn, rows=changed)
    return [display.shown(row) for row in rows], degraded


def list_bookings(*, pool, deps: Dependencies, identity: Identity, query: BookingFilter,
                  now: datetime.datetime, refresh_all: bool = False) -> dict:
    """The caller's bookings (an agent's own, or an operator's packages'), each with its
    package and agent as display.py promises: no other service is asked while every row's
    copy is within the bound, and at most one call each otherwise."""
    owner = _owner(identity)
    with pool.connection() as conn:
        rows, total = repository.list_bookings(
            conn=conn, owner=owner, status=query.status, departure_from=query.departure_from,
            departure_to=query.departure_to, limit=query.limit, offset=query.offset)
    rows, degraded = _with_display(rows, pool=pool, deps=deps, now=now, refresh_all=refresh_all)
    rows = [_shown_to(identity, row) for row in rows]
    result = page(rows, total=total, limit=query.limit, offset=query.offset)
    if degraded:
        result["degraded"] = degraded
    return result


def get_booking(*, pool, deps: Dependencies, identity: Identity, booking_id,
                now: datetime.datetime, refresh_all: bool = False) -> dict:
    """One booking of the caller, with its package and agent as a page shows them;
    someone else's is 404."""
    owner = _owner(identity)
    with pool.connection() as conn:
        booking = repository.get_booking(conn=conn, booking_id=booking_id, owner=owner,
                                         shown=True)
    if booking is None:
        raise NotFound("no such booking", code="booking_not_found")
    [booking], degraded = _with_display([booking], pool=pool, deps=deps, now=now,
                                        refresh_all=refresh_all)
    if degraded:
        booking["degraded"] = degraded
    return _shown_to(identity, booking)


def transition(*, pool, deps: Dependencies, identity: Identity, booking_id, action: str,
               today: datetime.date) -> dict:
    """Cancel (the agent), confirm or decline (the package's operator) a booking; only an
    active operator confirms (declining stays open to every operator)."""
    allowed_from, target, actor = TRANSITIONS[action]
    if (actor == "agent") != identity.is_agent:
        raise Forbidden(f"only the {'agent who booked' if actor == 'agent' else 'operator'} "
                        f"can {action} a booking", code="wrong_party")
    if action == "confirm":
        status = clients.calling_operator_status(deps.operators)
        if status != "active":
            raise Forbidden(f"an operator who is {status} cannot confirm bookings: an "
                            "administrator approves new operators", code="operator_not_active",
                            details=[{"field": "status", "problem": status}])
    with pool.connection() as conn, conn.transaction():
        booking = repository.get_booking(conn=conn, booking_id=booking_id,
                                         owner=_owner(identity), lock=True)
        if booking is None:
            raise NotFound("no such booking", code="booking_not_found")
        if booking["status"] not in allowed_from:
            raise InvalidTransition(f"a {booking['status']} booking cannot be {target}",
                                    current_status=booking["status"], action=action)
        if action in BEFORE_DEPARTURE_ONLY and booking["departure_date"] <= today:
            raise Conflict("the departure date has passed", code="departure_passed",
                           details=[{"current_status": booking["status"]}])
        if target in FREES_SEATS:
            repository.release_seats(conn=conn, package_id=booking["package_id"],
                                     departure_date=booking["departure_date"],
                                     seats=booking["traveller_count"])
        return _shown_to(identity, repository.set_status(conn=conn, booking_id=booking_id,
                                                         status=target))


def summary(*, pool, deps: Dependencies, identity: Identity) -> dict:
    """The agent's counts and monthly commission, or the operator's bookings per package."""
    with pool.connection() as conn:
        if identity.is_agent:
            data = repository.agent_summary(conn=conn, agent_sub=identity.subject)
            counts = {status: 0 for status in ("pending", "confirmed", "declined", "cancelled")}
            counts.update({row["status"]: row["bookings"] for row in data["counts"]})
            return {"counts": counts, "commission_by_month": data["months"]}
        per_package = repository.operator_summary(conn=conn, operator_id=identity.subject)
    titles, degraded = {}, []
    if per_package:
        try:
            found = clients.lookup_packages(deps.operators,
                                            {str(r["package_id"]) for r in per_package})
            titles = {pid: p.title for pid, p in found.items()}
        except ServiceUnavailable:
            degraded.append(deps.operators.name)
    for row in per_package:
        row["title"] = titles.get(str(row["package_id"]))
    result: dict[str, Any] = {"packages": per_package}
    if degraded:
        result["degraded"] = degraded
    return result

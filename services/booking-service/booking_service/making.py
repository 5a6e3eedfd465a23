"""Making a booking and quoting its price: both check the agent and the package against
fresh facts of agent-service and operator-service, price it (pricing.py), and only the
booking writes, its seats taken in the same transaction."""
from __future__ import annotations

import datetime

from psycopg import errors as pg_errors

from booking_service import clients, display, repository, rules
from booking_service.backends import Dependencies
from booking_service.pricing import Quote, quote
from booking_service.schemas import NewBooking
from travel_platform.auth import Identity
from travel_platform.metrics import count_idempotent_replay


def create_booking(*, pool, deps: Dependencies, identity: Identity, body: NewBooking,
                   idempotency_key: str | None, now: datetime.datetime) -> tuple[dict, bool]:
    """Book a package for an active agent; (booking, created). A retry with the same
    Idempotency-Key and body returns the first booking, whatever the dependencies do. The
    booking keeps what its pages show of the package and agent as both services told it
    now, so showing it needs neither until the freshness bound passes."""
    rules.ensure_agent(identity)
    key = rules.ensure_idempotency_key(idempotency_key)
    body_fingerprint = rules.fingerprint(body)
    earlier = _earlier_booking(pool=pool, agent_sub=identity.subject, key=key,
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
        "currency": price.currency, "idempotency_key": key,
        "request_fingerprint": body_fingerprint, **display.at_booking(package, agent, now)}
    capacity = package.capacity_per_departure
    assert capacity, "rules.ensure_bookable refuses a package without capacity"
    return _store(pool=pool, row=row, capacity=capacity)


def preview_price(*, deps: Dependencies, identity: Identity, body: NewBooking,
                  today: datetime.date) -> dict:
    """The price a booking of `body` would have now, checked as a booking is (active
    agent, bookable package, offered add-ons) but writing nothing: seats are not held."""
    rules.ensure_agent(identity)
    _, _, _, price = _quote(deps=deps, identity=identity, body=body, today=today)
    return {"price_breakdown": list(price.lines), "total_price": price.total,
            "commission_rate": price.commission_rate, "commission_amount": price.commission,
            "currency": price.currency}


def _replay(existing: dict, body_fingerprint: str) -> dict:
    rules.ensure_same_request(existing.pop("request_fingerprint"), body_fingerprint)
    count_idempotent_replay()
    return existing


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
    agent = rules.ensure_may_book(
        clients.lookup_agents(deps.agents, [identity.subject]).get(identity.subject))
    package_id = str(body.package_id)
    package = rules.ensure_in_catalogue(
        clients.lookup_packages(deps.operators, [package_id]).get(package_id))
    rules.ensure_bookable(package, body, today)
    chosen = rules.chosen_addons(package, body)
    assert agent.commission_rate is not None, "rules.ensure_may_book refuses an agent without one"
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
            raise rules.sold_out(seats_left=left, seats_requested=seats) from None
    return booking, True


class _LostRace(Exception):
    pass

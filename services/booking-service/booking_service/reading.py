"""Reading bookings: a page of them, one, and the dashboard's summary, each with its
package and agent as display.py promises (the copies kept on the bookings, refreshed past
the freshness bound in one batch call per service, both at once)."""
from __future__ import annotations

import contextvars
import datetime
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from booking_service import clients, display, repository, rules
from booking_service.backends import Dependencies
from booking_service.schemas import BookingFilter
from travel_platform.api import page
from travel_platform.auth import Identity
from travel_platform.errors import ServiceUnavailable

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
    owner = rules.owner_of(identity)
    with pool.connection() as conn:
        rows, total = repository.list_bookings(
            conn=conn, owner=owner, status=query.status, departure_from=query.departure_from,
            departure_to=query.departure_to, limit=query.limit, offset=query.offset)
    rows, degraded = _with_display(rows, pool=pool, deps=deps, now=now, refresh_all=refresh_all)
    rows = [rules.shown_to(identity, row) for row in rows]
    result = page(rows, total=total, limit=query.limit, offset=query.offset)
    if degraded:
        result["degraded"] = degraded
    return result


def get_booking(*, pool, deps: Dependencies, identity: Identity, booking_id,
                now: datetime.datetime, refresh_all: bool = False) -> dict:
    """One booking of the caller, with its package and agent as a page shows them;
    someone else's is 404."""
    owner = rules.owner_of(identity)
    with pool.connection() as conn:
        booking = repository.get_booking(conn=conn, booking_id=booking_id, owner=owner,
                                         shown=True)
    if booking is None:
        raise rules.booking_not_found()
    [booking], degraded = _with_display([booking], pool=pool, deps=deps, now=now,
                                        refresh_all=refresh_all)
    if degraded:
        booking["degraded"] = degraded
    return rules.shown_to(identity, booking)


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

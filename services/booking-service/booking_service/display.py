"""What a booking shows of its package (title, stops) and of its agent (agency name): a copy
kept on the booking row (aws/migrations/019_booking_display_snapshot.sql), taken when the
booking is made and refreshed when it is read after the freshness bound.

Why a copy: a bookings page is read far more often than a title or an agency name changes,
and asking operator-service and agent-service for every page costs more than the page's
own query (docs/benchmarks.md, section 2). Why refreshed on read rather than by the owning
services' change events: it needs nothing from those services but the batch lookups they
already answer, and the bound it gives is the same for every booking, whoever changed what.

The promise, per row and part (package, agent): what a page shows was told by the owning
service at most `max_age` ago, or it is asked now, in one batch call per service for the
whole page (`Cache-Control: no-cache` asks now whatever the age). If the service does not
answer, the row keeps its last copy (the page's `degraded` names the service); if it
answers without the package or agent (the caller may no longer see it: a withdrawn
package), the row keeps its last copy too, checked again after the bound. Only what is
shown is copied: a booking is always checked and priced against fresh facts."""
from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from booking_service.clients import AgentInfo, PackageInfo

# The booking columns that hold the copy; a page's rows carry them until `shown` folds
# them into `package` and `agent`.
COLUMNS = ("package_title", "package_stops", "package_seen_at", "agency_name", "agency_seen_at")


def at_booking(package: PackageInfo, agent: AgentInfo, now: datetime.datetime) -> dict:
    """The copy a new booking is stored with: what both services told it just now."""
    return {"package_title": package.title, "package_stops": list(package.stops),
            "package_seen_at": now, "agency_name": agent.agency_name, "agency_seen_at": now}


@dataclass(frozen=True)
class Stale:
    """The packages and agents a page must ask their services about."""

    package_ids: set[str]
    agent_subs: set[str]


def stale(rows: Iterable[dict], *, now: datetime.datetime, max_age: datetime.timedelta,
          refresh_all: bool) -> Stale:
    """What the rows' copies need from each service: those told more than `max_age` ago,
    never told (a booking made before the copies existed), or all with `refresh_all`."""
    oldest = now - max_age

    def is_old(seen_at: datetime.datetime | None) -> bool:
        return refresh_all or seen_at is None or seen_at <= oldest

    rows = list(rows)
    return Stale(package_ids={str(r["package_id"]) for r in rows if is_old(r["package_seen_at"])},
                 agent_subs={r["agent_sub"] for r in rows if is_old(r["agency_seen_at"])})


def refresh(rows: Iterable[dict], *, asked: Stale, now: datetime.datetime,
            packages: dict[str, PackageInfo] | None,
            agents: dict[str, AgentInfo] | None) -> list[dict]:
    """Apply what the services answered (None: that service did not answer) to the rows
    whose copy was asked for; return the rows changed, to be written back."""
    changed = []
    for row in rows:
        package_id = str(row["package_id"])
        touched = False
        if packages is not None and package_id in asked.package_ids:
            if (package := packages.get(package_id)) is not None:
                row["package_title"], row["package_stops"] = package.title, list(package.stops)
            row["package_seen_at"], touched = now, True
        if agents is not None and row["agent_sub"] in asked.agent_subs:
            if (agent := agents.get(row["agent_sub"])) is not None:
                row["agency_name"] = agent.agency_name
            row["agency_seen_at"], touched = now, True
        if touched:
            changed.append(row)
    return changed


def shown(row: dict) -> dict:
    """The row as a page shows it: the copy as `package` and `agent` (null when there is
    none yet: a booking made before the copies, whose service has not answered)."""
    title, stops = row.pop("package_title"), row.pop("package_stops")
    agency = row.pop("agency_name")
    row.pop("package_seen_at")
    row.pop("agency_seen_at")
    row["package"] = {"title": title, "stops": list(stops or [])} if title is not None else None
    row["agent"] = {"agency_name": agency} if agency is not None else None
    return row

"""What booking-service needs from agent-service and operator-service, fetched over HTTP
in batches (one call per service for a whole page), and read into small records. The
only place that knows the other services' JSON: the pacts in tests/contract pin it."""
from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from travel_platform.errors import ServiceUnavailable
from travel_platform.http import ServiceClient

MAX_BATCH = 100


@dataclass(frozen=True)
class AgentInfo:
    """An agent as booking-service sees them."""

    sub: str
    agency_name: str
    status: str | None  # these two only when the caller is that agent
    commission_rate: Decimal | None


@dataclass(frozen=True)
class Addon:
    """A priced extra of a package."""

    id: str
    name: str
    price: Decimal
    per_traveller: bool


@dataclass(frozen=True)
class PackageInfo:
    """The facts of a package a booking is priced and checked against."""

    id: str
    operator_id: str
    title: str
    status: str
    price_per_traveller: Decimal | None
    currency: str
    min_travellers: int | None
    max_travellers: int | None
    capacity_per_departure: int | None
    first_departure_date: datetime.date | None
    last_departure_date: datetime.date | None
    addons: tuple[Addon, ...]
    stops: tuple[dict, ...]


def _date(value: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(value) if value else None


def _decimal(value) -> Decimal | None:
    return Decimal(str(value)) if value is not None else None


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), MAX_BATCH):
        yield items[start:start + MAX_BATCH]


def _get_data(client: ServiceClient, path: str, params: list[tuple[str, str]]) -> list[dict]:
    response = client.get(path, params=params)
    if response.status_code != 200:
        # A 4xx here means our request or the contract is wrong, not the caller's input.
        raise ServiceUnavailable(f"{client.name} refused the lookup ({response.status_code})",
                                 code="dependency_error", details=[{"dependency": client.name}])
    return response.json()["data"]


def lookup_agents(client: ServiceClient, subs: Iterable[str]) -> dict[str, AgentInfo]:
    """Agents by Cognito sub; one call per 100 subs."""
    found = {}
    for chunk in _chunks(sorted(set(subs))):
        # One comma-separated parameter: 100 repeated ones would overflow a request line.
        for row in _get_data(client, "/internal/agents", [("sub", ",".join(chunk))]):
            found[row["sub"]] = AgentInfo(sub=row["sub"], agency_name=row["agency_name"],
                                          status=row.get("status"),
                                          commission_rate=_decimal(row.get("commission_rate")))
    return found


def calling_operator_status(client: ServiceClient) -> str:
    """The calling operator's status (pending, active, suspended), from their own profile
    (`GET /api/operators/me` with their token); pending while they have no profile."""
    response = client.get("/api/operators/me")
    if response.status_code != 200:
        raise ServiceUnavailable(f"{client.name} refused the lookup ({response.status_code})",
                                 code="dependency_error", details=[{"dependency": client.name}])
    profile = response.json()["profile"]
    return profile["status"] if profile else "pending"


def lookup_packages(client: ServiceClient, ids: Iterable[str]) -> dict[str, PackageInfo]:
    """Packages the caller may see, by id; one call per 100 ids."""
    found = {}
    for chunk in _chunks(sorted({str(i) for i in ids})):
        for row in _get_data(client, "/internal/packages", [("id", ",".join(chunk))]):
            found[row["id"]] = PackageInfo(
                id=row["id"], operator_id=row["operator_id"], title=row["title"],
                status=row["status"], price_per_traveller=_decimal(row["price_per_traveller"]),
                currency=row["currency"], min_travellers=row["min_travellers"],
                max_travellers=row["max_travellers"],
                capacity_per_departure=row["capacity_per_departure"],
                first_departure_date=_date(row["first_departure_date"]),
                last_departure_date=_date(row["last_departure_date"]),
                addons=tuple(Addon(id=a["id"], name=a["name"], price=Decimal(str(a["price"])),
                                   per_traveller=a["pricing"] == "per_traveller")
                             for a in row.get("addons", [])),
                stops=tuple(row.get("stops", [])))
    return found

"""Tour operators' packages, made through the API."""
from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from tests.helpers import api
from travel_platform.clock import utc_today

TODAY = utc_today()  # the services' clock


@dataclass(frozen=True)
class Package:
    """A package of an operator, as the operator's API answered when it was made."""

    id: str
    title: str
    # The whole package JSON (stops, add-ons with their ids, status, ...).
    answer: dict[str, Any]

    @property
    def addon_ids(self) -> list[str]:
        """Ids of the package's add-ons, in order."""
        return [addon["id"] for addon in self.answer["addons"]]


def package_fields(*, capacity: int = 10, price: str = "1000.00", **overrides) -> dict:
    """A complete package: two stops, two add-ons, a window from next week; `overrides`
    replace whole fields."""
    return {
        "title": f"Test tour {uuid.uuid4().hex[:6]}", "description": "for tests",
        "price_per_traveller": price, "currency": "EUR", "min_travellers": 1,
        "max_travellers": min(6, capacity), "capacity_per_departure": capacity,
        "first_departure_date": str(TODAY + datetime.timedelta(days=7)),
        "last_departure_date": str(TODAY + datetime.timedelta(days=120)),
        "stops": [{"city": "Lisbon", "country": "PT", "nights": 3, "hotel_name": "Tivoli",
                   "star_rating": 5},
                  {"city": "Porto", "country": "PT", "nights": 2, "hotel_name": "Infante",
                   "star_rating": 4}],
        "addons": [{"name": "Insurance", "price": "45.00", "pricing": "per_traveller"},
                   {"name": "Airport transfer", "price": "100.00", "pricing": "per_booking"}],
        "exclusions": [{"text": "Flights"}], **overrides}


def _package(answer: dict[str, Any]) -> Package:
    return Package(id=answer["id"], title=answer["title"], answer=answer)


def draft_package(gateway: str, operator_token: str, body: dict | None = None,
                  **fields) -> Package:
    """A draft package of the operator (`body`, or the defaults with `fields`)."""
    created = api(gateway, "POST", "/api/operators/me/packages", operator_token,
                  json=body or package_fields(**fields))
    assert created.status_code == 201, created.text
    return _package(created.json())


def publish_package(gateway: str, operator_token: str, body: dict | None = None,
                    **fields) -> Package:
    """A published package of the operator."""
    package = draft_package(gateway, operator_token, body, **fields)
    published = api(gateway, "POST", f"/api/operators/me/packages/{package.id}/publish",
                    operator_token)
    assert published.status_code == 200, published.text
    return _package(published.json())

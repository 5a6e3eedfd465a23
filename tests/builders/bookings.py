"""Bookings of an agent, made through the API."""
from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tests.builders.packages import TODAY, Package
from tests.helpers import api

DEPARTURE = TODAY + datetime.timedelta(days=30)


@dataclass(frozen=True)
class Booking:
    """A booking, as booking-service answered when it was made."""

    id: str
    status: str
    answer: dict[str, Any]


def booking_body(package: Package, travellers: int = 2, addons: Iterable[str] = (),
                 date: datetime.date = DEPARTURE) -> dict:
    """What an agent posts to book `travellers` people on `package`'s departure `date`."""
    people = [{"full_name": f"Traveller {i}", "email": f"t{i}@example.com"}
              for i in range(travellers)]
    return {"package_id": package.id, "departure_date": str(date), "travellers": people,
            "addon_ids": list(addons)}


def book(gateway: str, token: str, body: dict, key: str | None = None):
    """POST /api/bookings with an Idempotency-Key (a new one unless given); the response."""
    return api(gateway, "POST", "/api/bookings", token, json=body,
               headers={"Idempotency-Key": key or uuid.uuid4().hex})


def new_booking(gateway: str, agent_token: str, package: Package, travellers: int = 2) -> Booking:
    """A booking of an (active) agent on `package`."""
    created = book(gateway, agent_token, booking_body(package, travellers))
    assert created.status_code == 201, created.text
    answer = created.json()
    return Booking(id=answer["id"], status=answer["status"], answer=answer)

"""What booking-service talks to besides its database, opened from its settings: the two
services a booking is composed from, over HTTP. One client each per app: each holds a
connection pool, and each request forwards its caller's token and request id."""
from __future__ import annotations

import datetime
from dataclasses import dataclass

from booking_service.settings import BookingSettings
from travel_platform.http import ServiceClient


@dataclass(frozen=True)
class Dependencies:
    """The two services a booking is composed from, and how long what they told a booking
    to show stays good enough to show without asking again (display.py)."""

    agents: ServiceClient
    operators: ServiceClient
    display_max_age: datetime.timedelta


def open_dependencies(settings: BookingSettings) -> Dependencies:
    """HTTP clients of the two services a booking is composed from."""
    connect, read = settings.http_connect_timeout, settings.http_read_timeout
    return Dependencies(
        agents=ServiceClient(name="agent-service", base_url=settings.agent_service_url,
                             connect_timeout=connect, read_timeout=read),
        operators=ServiceClient(name="operator-service", base_url=settings.operator_service_url,
                                connect_timeout=connect, read_timeout=read),
        display_max_age=datetime.timedelta(seconds=settings.display_max_age_seconds))

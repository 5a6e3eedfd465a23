"""HTTP routes of booking-service: thin, they parse, call the service layer and answer.
One module per route family (routes_<family>.py, its service in <family>.py): making a
booking and its quote, reading them, moving them; this one holds what they share and
mounts them.

The families share one blueprint, `bookings`: the OpenAPI document names each operation
after its blueprint and view (`bookings_create_booking`), and those names are public."""
from flask import Blueprint, Flask, current_app, request

from booking_service.backends import Dependencies

bookings = Blueprint("bookings", __name__, url_prefix="/api/bookings")


def register_blueprints(app: Flask) -> None:
    """Mount every route family of the service."""
    # Imported here: each family module adds its routes to `bookings` when imported, and
    # in this order (the order of the OpenAPI document's operations under one path).
    from booking_service import (  # noqa: F401
        routes_making,
        routes_reading,
        routes_transitions,
    )
    app.register_blueprint(bookings)


def rds_pool():
    """The connection pool of RDS (schema `bookings`)."""
    return current_app.extensions["rds"]


def dependencies() -> Dependencies:
    """The clients of agent-service and operator-service."""
    return current_app.extensions["dependencies"]


def refresh_all() -> bool:
    """Whether the request asks the other services now, however recent what the bookings
    keep of them is: `Cache-Control: no-cache` (a dashboard's refresh button)."""
    return "no-cache" in request.headers.get("Cache-Control", "").lower()

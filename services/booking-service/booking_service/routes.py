"""HTTP routes of booking-service: thin, they parse, call the service layer and answer."""
from flask import Blueprint, Flask, current_app, jsonify, request, url_for

from booking_service import service
from booking_service.schemas import (
    Booking,
    BookingFilter,
    BookingPage,
    BookingShown,
    BookingSummary,
    NewBooking,
    PriceQuote,
)
from travel_platform.api import body, created, header, query, responds
from travel_platform.clock import utc_now, utc_today
from travel_platform.web import current_identity, require_identity

blueprint = Blueprint("bookings", __name__, url_prefix="/api/bookings")


def register_blueprints(app: Flask) -> None:
    """Mount every route family of the service."""
    app.register_blueprint(blueprint)


def _pool():
    return current_app.extensions["rds"]


def _deps() -> service.Dependencies:
    return current_app.extensions["dependencies"]


def _refresh_all() -> bool:
    # `Cache-Control: no-cache` (a dashboard's refresh button) asks the other services now,
    # however recent what the bookings keep of them is.
    return "no-cache" in request.headers.get("Cache-Control", "").lower()


@blueprint.post("")
@responds(201, Booking, "Booked")
@responds(200, Booking, "The booking this Idempotency-Key already made")
@responds(409, None, "Not enough seats left on this departure")
@responds(422, None, "The package cannot be booked like this, or the key was used for "
                     "another request")
@header("Idempotency-Key", max_length=service.MAX_IDEMPOTENCY_KEY_LENGTH,
        description="Any unique string per booking the agent means to make (a UUID): a "
                    "retry or a double click with the same key and body books once and "
                    "answers the first booking (200); the same key with another body is 422.")
@require_identity()
@body(NewBooking)
def create_booking(body: NewBooking):
    """Book a package (active travel agents; needs an Idempotency-Key header).

    Price and commission are computed from the package and the agent's rate, and frozen.
    Repeating the request with the same key and body returns the same booking."""
    booking, is_new = service.create_booking(
        pool=_pool(), deps=_deps(), identity=current_identity(), body=body,
        idempotency_key=request.headers.get("Idempotency-Key"), now=utc_now())
    return created(booking, location=url_for("bookings.get_booking", booking_id=booking["id"]),
                   status=201 if is_new else 200)


@blueprint.post("/quote")
@responds(200, PriceQuote, "What this booking would cost now (nothing is booked)")
@responds(422, None, "The package cannot be booked like this")
@require_identity()
@body(NewBooking)
def quote_price(body: NewBooking):
    """The price and commission of a booking before making it (active travel agents).

    Computed exactly as POST /api/bookings computes it; seats are not held."""
    return jsonify(service.preview_price(deps=_deps(), identity=current_identity(), body=body,
                                         today=utc_today()))


@blueprint.get("")
@responds(200, BookingPage)
@require_identity()
@query(BookingFilter)
def list_bookings(query: BookingFilter):
    """The caller's bookings: an agent's own, or those of an operator's packages.

    Each row carries the package (title, stops) and the agent (agency name) as their
    services told them at most the freshness bound ago (DISPLAY_MAX_AGE_SECONDS): older
    ones are asked for in one batch per service, and `Cache-Control: no-cache` asks for all
    of them now. If a service cannot answer, rows keep what they last showed of it
    (none for a booking it never described) and `degraded` names it."""
    return jsonify(service.list_bookings(pool=_pool(), deps=_deps(), identity=current_identity(),
                                         query=query, now=utc_now(),
                                         refresh_all=_refresh_all()))


@blueprint.get("/summary")
@responds(200, BookingSummary)
@require_identity()
def summary():
    """Dashboard figures: an agent's counts and commission per month, or an operator's
    bookings per package."""
    return jsonify(service.summary(pool=_pool(), deps=_deps(), identity=current_identity()))


@blueprint.get("/<uuid:booking_id>")
@responds(200, BookingShown)
@require_identity()
def get_booking(booking_id):
    """One booking of the caller, with its package and agent as the list shows them."""
    return jsonify(service.get_booking(pool=_pool(), deps=_deps(), identity=current_identity(),
                                       booking_id=booking_id, now=utc_now(),
                                       refresh_all=_refresh_all()))


@blueprint.post("/<uuid:booking_id>/<any(cancel, confirm, decline):action>")
@responds(200, Booking)
@responds(409, None, "The booking's status does not allow this (details give the status), "
                     "or the departure date has passed")
@responds(403, None, "Not this booking's party, or an operator who is not active")
@require_identity()
def change_status(booking_id, action: str):
    """Cancel (the agent, before departure), confirm (the package's active operator, while
    pending, before departure) or decline (the operator, while pending); an illegal move is
    409 with the current status."""
    return jsonify(service.transition(pool=_pool(), deps=_deps(), identity=current_identity(),
                                      booking_id=booking_id, action=action,
                                      today=utc_today()))

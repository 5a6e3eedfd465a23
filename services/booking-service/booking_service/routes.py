"""HTTP routes of booking-service: thin, they parse, call the service layer and answer."""
import datetime

from flask import Blueprint, Flask, current_app, jsonify, request

from booking_service import service
from booking_service.schemas import BookingFilter, NewBooking
from shared.api import body, query, responds
from shared.web import current_identity, require_identity

blueprint = Blueprint("bookings", __name__, url_prefix="/api/bookings")


def register_blueprints(app: Flask) -> None:
    """Mount every route family of the service."""
    app.register_blueprint(blueprint)


def _pool():
    return current_app.extensions["rds"]


def _deps() -> service.Dependencies:
    return current_app.extensions["dependencies"]


def _fresh() -> bool:
    # `Cache-Control: no-cache` (a dashboard's refresh button) skips the display cache.
    return "no-cache" in request.headers.get("Cache-Control", "").lower()


@blueprint.post("")
@require_identity()
@responds(201, description="Booked")
@responds(200, description="The booking this Idempotency-Key already made")
@body(NewBooking)
def create_booking(body: NewBooking):
    """Book a package (active travel agents; needs an Idempotency-Key header).

    Price and commission are computed from the package and the agent's rate, and frozen.
    Repeating the request with the same key and body returns the same booking."""
    booking, created = service.create_booking(
        pool=_pool(), deps=_deps(), identity=current_identity(), body=body,
        idempotency_key=request.headers.get("Idempotency-Key"), today=datetime.date.today())
    response = jsonify(booking)
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/api/bookings/{booking['id']}"
    return response


@blueprint.get("")
@require_identity()
@query(BookingFilter)
def list_bookings(query: BookingFilter):
    """The caller's bookings: an agent's own, or those of an operator's packages.

    Each row carries the package (title, stops) and the agent (agency name), fetched in one
    batch per service or taken from what was fetched for this caller in the last seconds
    (`Cache-Control: no-cache` fetches afresh). If a service cannot answer, rows come
    without its details and `degraded` names it."""
    return jsonify(service.list_bookings(pool=_pool(), deps=_deps(), identity=current_identity(),
                                         query=query, fresh=_fresh()))


@blueprint.get("/summary")
@require_identity()
def summary():
    """Dashboard figures: an agent's counts and commission per month, or an operator's
    bookings per package."""
    return jsonify(service.summary(pool=_pool(), deps=_deps(), identity=current_identity()))


@blueprint.get("/<uuid:booking_id>")
@require_identity()
def get_booking(booking_id):
    """One booking of the caller."""
    return jsonify(service.get_booking(pool=_pool(), deps=_deps(), identity=current_identity(),
                                       booking_id=booking_id, fresh=_fresh()))


@blueprint.post("/<uuid:booking_id>/<any(cancel, confirm, decline):action>")
@require_identity()
def change_status(booking_id, action: str):
    """Cancel (the agent, before departure), confirm or decline (the package's operator,
    while pending); an illegal move is 409 with the current status."""
    return jsonify(service.transition(pool=_pool(), identity=current_identity(),
                                      booking_id=booking_id, action=action,
                                      today=datetime.date.today()))

"""Routes that read bookings: the caller's list, the dashboard's summary, one booking."""
from flask import jsonify

from booking_service import reading
from booking_service.routes import bookings, dependencies, rds_pool, refresh_all
from booking_service.schemas import BookingFilter, BookingPage, BookingShown, BookingSummary
from travel_platform.api import query, responds
from travel_platform.clock import utc_now
from travel_platform.web import current_identity, require_identity


@bookings.get("")
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
    return jsonify(reading.list_bookings(pool=rds_pool(), deps=dependencies(),
                                         identity=current_identity(), query=query,
                                         now=utc_now(), refresh_all=refresh_all()))


@bookings.get("/summary")
@responds(200, BookingSummary)
@require_identity()
def summary():
    """Dashboard figures: an agent's counts and commission per month, or an operator's
    bookings per package."""
    return jsonify(reading.summary(pool=rds_pool(), deps=dependencies(),
                                   identity=current_identity()))


@bookings.get("/<uuid:booking_id>")
@responds(200, BookingShown)
@require_identity()
def get_booking(booking_id):
    """One booking of the caller, with its package and agent as the list shows them."""
    return jsonify(reading.get_booking(pool=rds_pool(), deps=dependencies(),
                                       identity=current_identity(), booking_id=booking_id,
                                       now=utc_now(), refresh_all=refresh_all()))

"""Routes that make a booking, or quote what it would cost."""
from flask import jsonify, request, url_for

from booking_service import making
from booking_service.routes import bookings, dependencies, rds_pool
from booking_service.rules import MAX_IDEMPOTENCY_KEY_LENGTH
from booking_service.schemas import Booking, NewBooking, PriceQuote
from travel_platform.api import body, created, header, responds
from travel_platform.clock import utc_now, utc_today
from travel_platform.web import current_identity, require_identity


@bookings.post("")
@responds(201, Booking, "Booked")
@responds(200, Booking, "The booking this Idempotency-Key already made")
@responds(409, None, "Not enough seats left on this departure")
@responds(422, None, "The package cannot be booked like this, or the key was used for "
                     "another request")
@header("Idempotency-Key", max_length=MAX_IDEMPOTENCY_KEY_LENGTH,
        description="Any unique string per booking the agent means to make (a UUID): a "
                    "retry or a double click with the same key and body books once and "
                    "answers the first booking (200); the same key with another body is 422.")
@require_identity()
@body(NewBooking)
def create_booking(body: NewBooking):
    """Book a package (active travel agents; needs an Idempotency-Key header).

    Price and commission are computed from the package and the agent's rate, and frozen.
    Repeating the request with the same key and body returns the same booking."""
    booking, is_new = making.create_booking(
        pool=rds_pool(), deps=dependencies(), identity=current_identity(), body=body,
        idempotency_key=request.headers.get("Idempotency-Key"), now=utc_now())
    return created(booking, location=url_for("bookings.get_booking", booking_id=booking["id"]),
                   status=201 if is_new else 200)


@bookings.post("/quote")
@responds(200, PriceQuote, "What this booking would cost now (nothing is booked)")
@responds(422, None, "The package cannot be booked like this")
@require_identity()
@body(NewBooking)
def quote_price(body: NewBooking):
    """The price and commission of a booking before making it (active travel agents).

    Computed exactly as POST /api/bookings computes it; seats are not held."""
    return jsonify(making.preview_price(deps=dependencies(), identity=current_identity(),
                                        body=body, today=utc_today()))

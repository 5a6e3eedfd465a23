"""The route that moves a booking: cancel, confirm, decline."""
from flask import jsonify

from booking_service import transitions
from booking_service.routes import bookings, dependencies, rds_pool
from booking_service.schemas import Booking
from travel_platform.api import responds
from travel_platform.clock import utc_today
from travel_platform.web import current_identity, require_identity


@bookings.post("/<uuid:booking_id>/<any(cancel, confirm, decline):action>")
@responds(200, Booking)
@responds(409, None, "The booking's status does not allow this (details give the status), "
                     "or the departure date has passed")
@responds(403, None, "Not this booking's party, or an operator who is not active")
@require_identity()
def change_status(booking_id, action: str):
    """Cancel (the agent, before departure), confirm (the package's active operator, while
    pending, before departure) or decline (the operator, while pending); an illegal move is
    409 with the current status."""
    return jsonify(transitions.transition(pool=rds_pool(), deps=dependencies(),
                                          identity=current_identity(), booking_id=booking_id,
                                          action=action, today=utc_today()))

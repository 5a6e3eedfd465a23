"""HTTP routes of booking-service: thin, they parse, call the service layer and answer."""
from flask import Blueprint, current_app, jsonify

from shared.web import current_identity, require_identity

from booking_service import service

blueprint = Blueprint("bookings", __name__, url_prefix="/api/bookings")


@blueprint.get("")
@require_identity()
def list_bookings():
    """The caller's bookings: an agent's own, or those of an operator's packages."""
    with current_app.extensions["rds"].connection() as conn:
        return jsonify(service.list_bookings(conn=conn, identity=current_identity()))

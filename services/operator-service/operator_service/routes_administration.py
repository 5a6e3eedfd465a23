"""Routes of operator administration (the agents' pool's group `admins`)."""
from flask import jsonify

from operator_service import administration
from operator_service.routes import operator_data, operators
from operator_service.schemas import AdminOperatorProfile, OperatorListQuery, OperatorPage
from travel_platform.api import query, responds
from travel_platform.web import current_identity, require_admin


@operators.get("")
@responds(200, OperatorPage)
@responds(403, None, "Not an administrator")
@require_admin
@query(OperatorListQuery)
def list_operators(query: OperatorListQuery):
    """Operators, optionally of one status, oldest first, a page at a time (admins)."""
    return jsonify(administration.list_operators(data=operator_data(), identity=current_identity(),
                                                 status=query.status, limit=query.limit,
                                                 offset=query.offset))


@operators.get("/<uuid:operator_id>")
@responds(200, AdminOperatorProfile)
@responds(404, None, "No such operator")
@require_admin
def get_operator(operator_id):
    """One operator's profile (admins)."""
    return jsonify(administration.get_operator(data=operator_data(), identity=current_identity(),
                                               operator_id=operator_id))


@operators.post("/<uuid:operator_id>/<any(approve, suspend, reactivate):action>")
@responds(200, AdminOperatorProfile)
@responds(404, None, "No such operator")
@responds(409, None, "Not where the action starts (details give the status)")
@require_admin
def change_operator_status(operator_id, action: str):
    """approve a pending operator (they may then publish packages and confirm bookings),
    suspend an active one (they no longer may), reactivate a suspended one (admins)."""
    return jsonify(administration.change_operator_status(data=operator_data(),
                                                         identity=current_identity(),
                                                         operator_id=operator_id, action=action))

"""Routes of the calling operator's profile."""
from flask import jsonify

from operator_service import profiles
from operator_service.routes import operator_data, operators
from operator_service.schemas import OperatorMe, OperatorUpdate
from travel_platform.api import body, responds
from travel_platform.web import OPERATOR, current_identity, require_identity


@operators.get("/me")
@responds(200, OperatorMe)
@require_identity(OPERATOR)
def me():
    """The calling tour operator: verified identity and profile (null until the first
    write, PATCH /me or a new package, creates it)."""
    return jsonify(profiles.describe_operator(data=operator_data(), identity=current_identity()))


@operators.patch("/me")
@responds(200, OperatorMe)
@require_identity(OPERATOR)
@body(OperatorUpdate)
def update_me(body: OperatorUpdate):
    """Change the calling operator's company name or contact details (creating the profile
    on first use)."""
    return jsonify(profiles.update_operator(data=operator_data(), identity=current_identity(),
                                            changes=body.model_dump(exclude_unset=True)))

"""Batch reads for other services: not under /api, the gateway never routes them."""
from flask import Blueprint, jsonify

from operator_service import catalogue
from operator_service.routes import operator_data
from operator_service.schemas import BatchQuery, PackageBatch
from travel_platform.api import query, responds
from travel_platform.web import current_identity, require_identity

internal = Blueprint("internal", __name__, url_prefix="/internal")


@internal.get("/packages")
@responds(200, PackageBatch)
@require_identity()
@query(BatchQuery)
def packages_by_ids(query: BatchQuery):
    """Up to 100 packages by id, as the caller's token may see them, in one query."""
    return jsonify(catalogue.packages_by_ids(data=operator_data(), identity=current_identity(),
                                             package_ids=query.id))

"""HTTP routes of operator-service: thin, they parse, call the service layer and answer."""
from flask import Blueprint, Flask, current_app, jsonify, request

from shared.web import SOURCE_SUPABASE, current_identity, require_identity

from operator_service import service

operators = Blueprint("operators", __name__, url_prefix="/api/operators")
packages = Blueprint("packages", __name__, url_prefix="/api/packages")


def register_blueprints(app: Flask) -> None:
    """Mount every route family of the service."""
    app.register_blueprint(operators)
    app.register_blueprint(packages)


def _pool():
    return current_app.extensions["supabase_db"]


@operators.get("/me")
@require_identity(SOURCE_SUPABASE)
def me():
    """The calling tour operator: verified identity and profile."""
    return jsonify(service.describe_operator(pool=_pool(), identity=current_identity()))


@packages.get("")
@require_identity()
def list_packages():
    """The published catalogue, newest first."""
    page = service.list_published_packages(
        pool=_pool(), identity=current_identity(),
        limit=request.args.get("limit", type=int), offset=request.args.get("offset", type=int))
    return jsonify(page)


@packages.get("/<uuid:package_id>")
@require_identity()
def get_package(package_id):
    """One package the caller may see."""
    return jsonify(service.get_package(pool=_pool(), identity=current_identity(),
                                       package_id=package_id))

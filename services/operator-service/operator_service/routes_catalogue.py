"""Routes of the published catalogue (any verified token)."""
from flask import Blueprint, jsonify

from operator_service import catalogue
from operator_service.routes import operator_data
from operator_service.schemas import CatalogueQuery, Package, PackagePage
from travel_platform.api import query, responds
from travel_platform.web import current_identity, require_identity

packages = Blueprint("packages", __name__, url_prefix="/api/packages")


@packages.get("")
@responds(200, PackagePage)
@require_identity()
@query(CatalogueQuery)
def list_packages(query: CatalogueQuery):
    """The published catalogue, filtered, sorted and paged (at most 100 per page)."""
    return jsonify(catalogue.catalogue(data=operator_data(), identity=current_identity(),
                                       query=query))


@packages.get("/<uuid:package_id>")
@responds(200, Package)
@require_identity()
def get_package(package_id):
    """One package the caller may see: published, or their own (anything else is 404)."""
    return jsonify(catalogue.get_package(data=operator_data(), identity=current_identity(),
                                         package_id=package_id))

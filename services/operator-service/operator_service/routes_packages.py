"""Routes of the calling operator's packages and their stops, add-ons and exclusions."""
from flask import jsonify, url_for

from operator_service import packages
from operator_service.routes import operator_data, operators
from operator_service.schemas import (
    AddonIn,
    ChangePage,
    ExclusionIn,
    OwnPackagesQuery,
    Package,
    PackageCreate,
    PackagePage,
    PackageUpdate,
    PageQuery,
    StopAdd,
)
from travel_platform.api import body, created, query, responds
from travel_platform.web import OPERATOR, current_identity, require_identity

OWN = "/me/packages/<uuid:package_id>"
INCOMPLETE = "The package lacks what publishing needs (details list each field)"
WRONG_STATUS = "The package's status does not allow this (details give the status)"


def _created(package: dict):
    """201 with the package; `Location` is its URL, also when a part of it was added."""
    return created(package, location=url_for("operators.get_own_package",
                                             package_id=package["id"]))


@operators.get("/me/packages")
@responds(200, PackagePage)
@require_identity(OPERATOR)
@query(OwnPackagesQuery)
def list_own_packages(query: OwnPackagesQuery):
    """The calling operator's packages, drafts and archived ones included, newest first."""
    return jsonify(packages.list_own_packages(data=operator_data(), identity=current_identity(),
                                              status=query.status, limit=query.limit,
                                              offset=query.offset))


@operators.post("/me/packages")
@responds(201, Package, "Created as a draft")
@responds(422, None, "The fields contradict each other")
@require_identity(OPERATOR)
@body(PackageCreate)
def create_package(body: PackageCreate):
    """Create a draft package with its stops, add-ons and exclusions, in one transaction."""
    return _created(packages.create_package(data=operator_data(), identity=current_identity(),
                                            new=body))


@operators.get(OWN)
@responds(200, Package)
@require_identity(OPERATOR)
def get_own_package(package_id):
    """One of the calling operator's packages, whatever its status."""
    return jsonify(packages.get_own_package(data=operator_data(), identity=current_identity(),
                                            package_id=package_id))


@operators.patch(OWN)
@responds(200, Package)
@responds(409, None, WRONG_STATUS)
@responds(422, None, "Contradicting fields, or a published package left incomplete")
@require_identity(OPERATOR)
@body(PackageUpdate)
def update_package(package_id, body: PackageUpdate):
    """Change a draft or published package; a list given replaces the whole list."""
    return jsonify(packages.update_package(data=operator_data(), identity=current_identity(),
                                           package_id=package_id, changes=body))


@operators.delete(OWN)
@responds(204, None, "Deleted")
@responds(409, None, "Only drafts can be deleted; archive a published package")
@require_identity(OPERATOR)
def delete_package(package_id):
    """Delete a draft package."""
    packages.delete_package(data=operator_data(), identity=current_identity(),
                            package_id=package_id)
    return "", 204


@operators.post(f"{OWN}/publish")
@responds(200, Package)
@responds(409, None, WRONG_STATUS)
@responds(422, None, INCOMPLETE)
@responds(403, None, "The operator is not active yet, or suspended (operator_not_active)")
@require_identity(OPERATOR)
def publish_package(package_id):
    """Publish a complete draft: it appears in the catalogue."""
    return jsonify(packages.publish_package(data=operator_data(), identity=current_identity(),
                                            package_id=package_id))


@operators.post(f"{OWN}/archive")
@responds(200, Package)
@responds(409, None, WRONG_STATUS)
@require_identity(OPERATOR)
def archive_package(package_id):
    """Archive a draft or published package: it leaves the catalogue for good."""
    return jsonify(packages.archive_package(data=operator_data(), identity=current_identity(),
                                            package_id=package_id))


@operators.get(f"{OWN}/changes")
@responds(200, ChangePage)
@require_identity(OPERATOR)
@query(PageQuery)
def list_changes(package_id, query: PageQuery):
    """The audit of a package's changes while published, newest first."""
    return jsonify(packages.list_changes(data=operator_data(), identity=current_identity(),
                                         package_id=package_id, limit=query.limit,
                                         offset=query.offset))


@operators.post(f"{OWN}/stops")
@responds(201, Package, "Added; answers with the whole package")
@responds(409, None, WRONG_STATUS)
@responds(422, None, "Too many stops, or a position past the end")
@require_identity(OPERATOR)
@body(StopAdd)
def add_stop(package_id, body: StopAdd):
    """Insert a stop (at `position`, by default after the last one)."""
    package = packages.add_part(data=operator_data(), identity=current_identity(),
                                package_id=package_id,
                                part="stops", row=body.model_dump(exclude={"position"}),
                                position=body.position)
    return _created(package)


@operators.post(f"{OWN}/addons")
@responds(201, Package, "Added; answers with the whole package")
@responds(409, None, WRONG_STATUS)
@responds(422, None, "Too many add-ons")
@require_identity(OPERATOR)
@body(AddonIn)
def add_addon(package_id, body: AddonIn):
    """Add an add-on after the last one."""
    package = packages.add_part(data=operator_data(), identity=current_identity(),
                                package_id=package_id,
                                part="addons", row=body.model_dump())
    return _created(package)


@operators.post(f"{OWN}/exclusions")
@responds(201, Package, "Added; answers with the whole package")
@responds(409, None, WRONG_STATUS)
@responds(422, None, "Too many exclusions")
@require_identity(OPERATOR)
@body(ExclusionIn)
def add_exclusion(package_id, body: ExclusionIn):
    """Add an exclusion after the last one."""
    package = packages.add_part(data=operator_data(), identity=current_identity(),
                                package_id=package_id,
                                part="exclusions", row=body.model_dump())
    return _created(package)


@operators.delete(f"{OWN}/<any(stops, addons, exclusions):part>/<uuid:part_id>")
@responds(200, Package, "Removed; answers with the whole package")
@responds(409, None, WRONG_STATUS)
@responds(422, None, "A published package would be left without stops")
@require_identity(OPERATOR)
def remove_part(package_id, part, part_id):
    """Remove a stop, add-on or exclusion; the later ones move up."""
    return jsonify(packages.remove_part(data=operator_data(), identity=current_identity(),
                                        package_id=package_id, part=part, part_id=part_id))

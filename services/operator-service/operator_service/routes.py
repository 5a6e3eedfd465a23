"""HTTP routes of operator-service: thin, they parse, call the service layer and answer.

/api/operators/login, /refresh, /logout   operators' sign-in on the operators' Cognito pool
/api/operators/...  the calling operator's profile and packages (operators' tokens, from
                    Supabase Auth or the operators' pool: docs/operator-logins.md)
/api/packages/...   the published catalogue (any verified token)
/internal/...       batch reads for other services; the gateway does not expose them
"""
from flask import Blueprint, Flask, Response, current_app, jsonify, request, url_for

from operator_service import logins, service
from operator_service.datasource import DataSources
from operator_service.logins import OperatorAccounts
from operator_service.schemas import (
    AddonIn,
    AdminOperatorProfile,
    BatchQuery,
    CatalogueQuery,
    ChangePage,
    ExclusionIn,
    OperatorListQuery,
    OperatorMe,
    OperatorPage,
    OperatorUpdate,
    OwnPackagesQuery,
    Package,
    PackageBatch,
    PackageCreate,
    PackagePage,
    PackageUpdate,
    PageQuery,
    PasswordChange,
    StopAdd,
)
from travel_platform.accounts import (
    CodeRequested,
    ConfirmForgotPasswordRequest,
    EmailRequest,
    LoginRequest,
    PasswordChanged,
    RefreshRequest,
    Tokens,
)
from travel_platform.api import body, created, query, responds
from travel_platform.auth import bearer_token
from travel_platform.client_address import request_client_address
from travel_platform.web import OPERATOR, current_identity, require_admin, require_identity

operators = Blueprint("operators", __name__, url_prefix="/api/operators")
packages = Blueprint("packages", __name__, url_prefix="/api/packages")
internal = Blueprint("internal", __name__, url_prefix="/internal")

OWN = "/me/packages/<uuid:package_id>"
INCOMPLETE = "The package lacks what publishing needs (details list each field)"
WRONG_STATUS = "The package's status does not allow this (details give the status)"


def register_blueprints(app: Flask) -> None:
    """Mount every route family of the service."""
    app.register_blueprint(operators)
    app.register_blueprint(packages)
    app.register_blueprint(internal)


def _data() -> DataSources:
    return current_app.extensions["operator_data"]


def _accounts() -> OperatorAccounts:
    return current_app.extensions["operator_accounts"]


def _created(package: dict):
    """201 with the package; `Location` is its URL, also when a part of it was added."""
    return created(package, location=url_for("operators.get_own_package",
                                             package_id=package["id"]))


# Sign-in on the operators' pool (login and refresh are public at the gateway) ---------------

@operators.post("/login")
@responds(200, Tokens, "Tokens of the operators' Cognito pool")
@responds(401, None, "Wrong e-mail or password (one answer for both), or this sign-in is "
                     "not open (operator_login_closed)")
@responds(429, None, "Too many failed attempts for this account (from this address, or from "
                     "all), or Supabase Auth's own limit reached; Retry-After says when")
@body(LoginRequest)
def login(body: LoginRequest):
    """Exchange an operator's e-mail and password, the ones they use with Supabase Auth, for
    tokens of the operators' Cognito pool (public). Their first sign-in moves them there."""
    return jsonify(logins.log_in(accounts=_accounts(), email=body.email,
                                 password=body.password, address=request_client_address()))


@operators.post("/refresh")
@responds(200, Tokens, "New access and id tokens")
@responds(401, None, "The refresh token is invalid, expired or revoked")
@body(RefreshRequest)
def refresh(body: RefreshRequest):
    """Exchange a refresh token of the operators' pool for new tokens (public)."""
    return jsonify(logins.refresh(accounts=_accounts(), refresh_token=body.refresh_token))


@operators.post("/forgot-password")
@responds(200, CodeRequested)
@responds(401, None, "Sign-in on the operators' pool is not open (operator_login_closed): "
                     "before the operators' move, Supabase Auth resets passwords")
@body(EmailRequest)
def forgot_password(body: EmailRequest):
    """E-mail a code that sets a new password on the operators' pool (public); in the move's
    window also for an operator who never signed in there. The answer is the same whether
    or not the address is an operator's."""
    return jsonify(logins.send_reset_code(accounts=_accounts(), email=body.email))


@operators.post("/confirm-forgot-password")
@responds(200, PasswordChanged)
@responds(401, None, "Sign-in on the operators' pool is not open (operator_login_closed)")
@responds(422, None, "The password does not meet the pool's password policy")
@body(ConfirmForgotPasswordRequest)
def confirm_forgot_password(body: ConfirmForgotPasswordRequest):
    """Set a new password with the code forgot-password e-mailed (public), wherever the
    operator signs in with it (in the window, Supabase Auth too). A wrong or expired code is
    400 `invalid_confirmation_code`. Every session of the account ends: sign in again."""
    return jsonify(logins.reset_password(accounts=_accounts(), email=body.email,
                                         code=body.code, new_password=body.new_password))


@operators.post("/logout")
@responds(204, None, "Signed out")
@require_identity(OPERATOR)
def log_out():
    """Sign out of the operators' pool everywhere (GlobalSignOut): refresh tokens are
    revoked at once; access tokens are refused by every route within AUTH_LIVENESS_SECONDS
    (10 s)."""
    logins.log_out(accounts=_accounts(), identity=current_identity(),
                   access_token=bearer_token(request.headers.get("Authorization")))
    return Response(status=204)


@operators.post("/me/password")
@responds(200, Tokens, "Changed wherever the operator signs in; every session of the account "
                       "has ended, these tokens (of the issuer the caller came with: Supabase "
                       "Auth's, `id_token` null, or the operators' pool's) start the caller's "
                       "new one")
@responds(403, None, "The current password is wrong")
@responds(429, None, "Too many wrong current passwords for this account, or Supabase Auth's "
                     "own limit reached; Retry-After says when")
@require_identity(OPERATOR)
@body(PasswordChange)
def change_password(body: PasswordChange):
    """Change the operator's password: on both Supabase Auth and the operators' pool while
    both are open, so going back to Supabase Auth costs nobody their password. Every session
    of the account ends on both sides, the caller's too; the answer carries the caller's new
    tokens."""
    return jsonify(logins.change_password(accounts=_accounts(), identity=current_identity(),
                                          current=body.current_password, new=body.new_password,
                                          address=request_client_address()))


# Operators, for administrators (the agents' pool's group `admins`) -------------------------

@operators.get("")
@responds(200, OperatorPage)
@responds(403, None, "Not an administrator")
@require_admin
@query(OperatorListQuery)
def list_operators(query: OperatorListQuery):
    """Operators, optionally of one status, oldest first, a page at a time (admins)."""
    return jsonify(service.list_operators(data=_data(), identity=current_identity(),
                                          status=query.status, limit=query.limit,
                                          offset=query.offset))


@operators.get("/<uuid:operator_id>")
@responds(200, AdminOperatorProfile)
@responds(404, None, "No such operator")
@require_admin
def get_operator(operator_id):
    """One operator's profile (admins)."""
    return jsonify(service.get_operator(data=_data(), identity=current_identity(),
                                        operator_id=operator_id))


@operators.post("/<uuid:operator_id>/<any(approve, suspend, reactivate):action>")
@responds(200, AdminOperatorProfile)
@responds(404, None, "No such operator")
@responds(409, None, "Not where the action starts (details give the status)")
@require_admin
def change_operator_status(operator_id, action: str):
    """approve a pending operator (they may then publish packages and confirm bookings),
    suspend an active one (they no longer may), reactivate a suspended one (admins)."""
    return jsonify(service.change_operator_status(data=_data(), identity=current_identity(),
                                                  operator_id=operator_id, action=action))


# The operator's profile -----------------------------------------------------------------------

@operators.get("/me")
@responds(200, OperatorMe)
@require_identity(OPERATOR)
def me():
    """The calling tour operator: verified identity and profile (null until the first
    write, PATCH /me or a new package, creates it)."""
    return jsonify(service.describe_operator(data=_data(), identity=current_identity()))


@operators.patch("/me")
@responds(200, OperatorMe)
@require_identity(OPERATOR)
@body(OperatorUpdate)
def update_me(body: OperatorUpdate):
    """Change the calling operator's company name or contact details (creating the profile
    on first use)."""
    return jsonify(service.update_operator(data=_data(), identity=current_identity(),
                                           changes=body.model_dump(exclude_unset=True)))


# The operator's packages -----------------------------------------------------------------------

@operators.get("/me/packages")
@responds(200, PackagePage)
@require_identity(OPERATOR)
@query(OwnPackagesQuery)
def list_own_packages(query: OwnPackagesQuery):
    """The calling operator's packages, drafts and archived ones included, newest first."""
    return jsonify(service.list_own_packages(data=_data(), identity=current_identity(),
                                             status=query.status, limit=query.limit,
                                             offset=query.offset))


@operators.post("/me/packages")
@responds(201, Package, "Created as a draft")
@responds(422, None, "The fields contradict each other")
@require_identity(OPERATOR)
@body(PackageCreate)
def create_package(body: PackageCreate):
    """Create a draft package with its stops, add-ons and exclusions, in one transaction."""
    return _created(service.create_package(data=_data(), identity=current_identity(), new=body))


@operators.get(OWN)
@responds(200, Package)
@require_identity(OPERATOR)
def get_own_package(package_id):
    """One of the calling operator's packages, whatever its status."""
    return jsonify(service.get_own_package(data=_data(), identity=current_identity(),
                                           package_id=package_id))


@operators.patch(OWN)
@responds(200, Package)
@responds(409, None, WRONG_STATUS)
@responds(422, None, "Contradicting fields, or a published package left incomplete")
@require_identity(OPERATOR)
@body(PackageUpdate)
def update_package(package_id, body: PackageUpdate):
    """Change a draft or published package; a list given replaces the whole list."""
    return jsonify(service.update_package(data=_data(), identity=current_identity(),
                                          package_id=package_id, changes=body))


@operators.delete(OWN)
@responds(204, None, "Deleted")
@responds(409, None, "Only drafts can be deleted; archive a published package")
@require_identity(OPERATOR)
def delete_package(package_id):
    """Delete a draft package."""
    service.delete_package(data=_data(), identity=current_identity(), package_id=package_id)
    return "", 204


@operators.post(f"{OWN}/publish")
@responds(200, Package)
@responds(409, None, WRONG_STATUS)
@responds(422, None, INCOMPLETE)
@responds(403, None, "The operator is not active yet, or suspended (operator_not_active)")
@require_identity(OPERATOR)
def publish_package(package_id):
    """Publish a complete draft: it appears in the catalogue."""
    return jsonify(service.publish_package(data=_data(), identity=current_identity(),
                                           package_id=package_id))


@operators.post(f"{OWN}/archive")
@responds(200, Package)
@responds(409, None, WRONG_STATUS)
@require_identity(OPERATOR)
def archive_package(package_id):
    """Archive a draft or published package: it leaves the catalogue for good."""
    return jsonify(service.archive_package(data=_data(), identity=current_identity(),
                                           package_id=package_id))


@operators.get(f"{OWN}/changes")
@responds(200, ChangePage)
@require_identity(OPERATOR)
@query(PageQuery)
def list_changes(package_id, query: PageQuery):
    """The audit of a package's changes while published, newest first."""
    return jsonify(service.list_changes(data=_data(), identity=current_identity(),
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
    package = service.add_part(data=_data(), identity=current_identity(), package_id=package_id,
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
    package = service.add_part(data=_data(), identity=current_identity(), package_id=package_id,
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
    package = service.add_part(data=_data(), identity=current_identity(), package_id=package_id,
                               part="exclusions", row=body.model_dump())
    return _created(package)


@operators.delete(f"{OWN}/<any(stops, addons, exclusions):part>/<uuid:part_id>")
@responds(200, Package, "Removed; answers with the whole package")
@responds(409, None, WRONG_STATUS)
@responds(422, None, "A published package would be left without stops")
@require_identity(OPERATOR)
def remove_part(package_id, part, part_id):
    """Remove a stop, add-on or exclusion; the later ones move up."""
    return jsonify(service.remove_part(data=_data(), identity=current_identity(),
                                       package_id=package_id, part=part, part_id=part_id))


# The catalogue -------------------------------------------------------------------------------

@packages.get("")
@responds(200, PackagePage)
@require_identity()
@query(CatalogueQuery)
def list_packages(query: CatalogueQuery):
    """The published catalogue, filtered, sorted and paged (at most 100 per page)."""
    return jsonify(service.catalogue(data=_data(), identity=current_identity(), query=query))


@packages.get("/<uuid:package_id>")
@responds(200, Package)
@require_identity()
def get_package(package_id):
    """One package the caller may see: published, or their own (anything else is 404)."""
    return jsonify(service.get_package(data=_data(), identity=current_identity(),
                                       package_id=package_id))


# For other services --------------------------------------------------------------------------

@internal.get("/packages")
@responds(200, PackageBatch)
@require_identity()
@query(BatchQuery)
def packages_by_ids(query: BatchQuery):
    """Up to 100 packages by id, as the caller's token may see them, in one query."""
    return jsonify(service.packages_by_ids(data=_data(), identity=current_identity(),
                                           package_ids=query.id))

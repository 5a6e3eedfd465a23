"""HTTP routes of agent-service: thin, they parse, call the service layer and answer."""

from flask import Blueprint, Flask, Response, current_app, jsonify, request, url_for

from agent_service import service
from agent_service.schemas import (
    AgentAdminView,
    AgentListQuery,
    AgentLookup,
    AgentLookupQuery,
    AgentPage,
    ChangePasswordRequest,
    CodeRequested,
    CommissionRateRequest,
    ConfirmForgotPasswordRequest,
    ConfirmSignUpRequest,
    Document,
    DocumentList,
    DocumentUpload,
    DocumentUploadRequest,
    DownloadLink,
    EmailRequest,
    LoginRequest,
    Me,
    PasswordChanged,
    ProfileUpdate,
    RefreshRequest,
    SignUpConfirmed,
    SignUpRequest,
    SignUpResult,
    Tokens,
)
from travel_platform.api import body, created, query, responds
from travel_platform.auth import bearer_token
from travel_platform.client_address import request_client_address
from travel_platform.web import AGENT, current_identity, require_admin, require_identity

agents = Blueprint("agents", __name__, url_prefix="/api/agents")
# Not under /api: the gateway never routes it. booking-service calls it directly with its
# caller's bearer token, which is verified here like any other.
internal = Blueprint("internal", __name__, url_prefix="/internal/agents")


def register_blueprints(app: Flask) -> None:
    """Mount every route family of the service."""
    app.register_blueprint(agents)
    app.register_blueprint(internal)


def _pool():
    return current_app.extensions["rds"]


def _accounts():
    return current_app.extensions["cognito_accounts"]


def _store():
    return current_app.extensions["document_store"]


def _attempt(flow: str, account: str):
    return service.counted_attempt(pool=_pool(), limit=current_app.extensions["attempt_limit"],
                                   flow=flow, account=account,
                                   address=request_client_address())


def _no_content() -> Response:
    return Response(status=204)


# --- accounts (sign-up, confirm-signup, login, refresh and the code requests are public at
# the gateway: gateway/gateway_config) -----------------------------------------------------

@agents.post("/signup")
@responds(201, SignUpResult, "Created: a pending agent; Cognito e-mails a confirmation code")
@responds(409, None, "The e-mail already has a confirmed account")
@responds(422, None, "The password does not meet the pool's password policy")
@responds(429, None, "Too many attempts for this account, or from this address")
@body(SignUpRequest)
def sign_up(body: SignUpRequest):
    """Sign up as a travel agent (public): Cognito account plus pending agent profile.

    `Location` is the profile's URL for its owner once they log in."""
    with _attempt("signup", body.email):
        result = service.sign_up(pool=_pool(), accounts=_accounts(), request=body)
    return created(result, location=url_for("agents.me"))


@agents.post("/confirm-signup")
@responds(200, SignUpConfirmed)
@responds(409, None, "The account is already confirmed")
@responds(429, None, "Too many attempts for this account, or from this address")
@body(ConfirmSignUpRequest)
def confirm_sign_up(body: ConfirmSignUpRequest):
    """Confirm a new account with the code Cognito e-mailed and its password (public)."""
    with _attempt("confirm", body.email):
        return jsonify(service.confirm_sign_up(accounts=_accounts(), email=body.email,
                                               password=body.password, code=body.code))


@agents.post("/<any('resend-confirmation-code', 'forgot-password'):purpose>")
@responds(200, CodeRequested)
@responds(409, None, "resend-confirmation-code: the account is already confirmed")
@body(EmailRequest)
def send_code(purpose: str, body: EmailRequest):
    """E-mail a code (public): resend-confirmation-code, a new one to confirm a sign-up
    with; forgot-password, one that sets a new password with confirm-forgot-password.

    The answer is the same whether or not the address has an account."""
    return jsonify(service.send_code(accounts=_accounts(), email=body.email, purpose=purpose))


@agents.post("/confirm-forgot-password")
@responds(200, PasswordChanged)
@responds(422, None, "The password does not meet the pool's password policy")
@body(ConfirmForgotPasswordRequest)
def confirm_forgot_password(body: ConfirmForgotPasswordRequest):
    """Set a new password with the code forgot-password e-mailed (public).

    A wrong or expired code, or an address without an account, is 400
    `invalid_confirmation_code`. Every session of the account ends (AdminUserGlobalSignOut):
    sign in again with the new password."""
    return jsonify(service.confirm_forgot_password(accounts=_accounts(), email=body.email,
                                                  code=body.code,
                                                  new_password=body.new_password))


@agents.post("/me/password")
@responds(200, Tokens, "Changed: every session of the account has ended, these tokens "
                       "start the caller's new one")
@responds(403, None, "The current password is wrong")
@responds(422, None, "The password does not meet the pool's password policy")
@require_identity(AGENT)
@body(ChangePasswordRequest)
def change_password(body: ChangePasswordRequest):
    """Change the caller's password, given the current one (Cognito ChangePassword), as
    operators do at POST /api/operators/me/password.

    A wrong current password is 403 `wrong_password`. Every session of the account ends
    (AdminUserGlobalSignOut: refresh tokens at once, access tokens within the revocation
    bound), the caller's too; the answer carries the caller's new tokens, as /login does."""
    return jsonify(service.change_password(
        accounts=_accounts(), access_token=bearer_token(request.headers.get("Authorization")),
        current_password=body.current_password, new_password=body.new_password))


@agents.post("/login")
@responds(200, Tokens, "Cognito tokens")
@responds(401, None, "Wrong e-mail or password (one answer for both)")
@responds(429, None, "Too many attempts for this account, or from this address")
@body(LoginRequest)
def login(body: LoginRequest):
    """Exchange an agent's e-mail and password for Cognito tokens (public)."""
    with _attempt("login", body.email):
        return jsonify(service.login(accounts=_accounts(), email=body.email,
                                     password=body.password))


@agents.post("/refresh")
@responds(200, Tokens, "New access and id tokens")
@responds(401, None, "The refresh token is invalid, expired or revoked")
@responds(429, None, "Too many attempts for this refresh token, or from this address")
@body(RefreshRequest)
def refresh(body: RefreshRequest):
    """Exchange a refresh token for new tokens (public)."""
    with _attempt("refresh", body.refresh_token):
        return jsonify(service.refresh(accounts=_accounts(), refresh_token=body.refresh_token))


@agents.post("/logout")
@responds(204, None, "Signed out")
@require_identity(AGENT)
def log_out():
    """Sign out everywhere (Cognito GlobalSignOut): refresh tokens are revoked at once;
    access tokens are refused by every route within AUTH_LIVENESS_SECONDS (10 s)."""
    service.log_out(accounts=_accounts(),
                    access_token=bearer_token(request.headers.get("Authorization")))
    return _no_content()


# --- the agent's own profile and documents ----------------------------------------------

@agents.get("/me")
@responds(200, Me)
@responds(404, None, "This account has no agent profile")
@require_identity(AGENT)
def me():
    """The calling agent: verified identity and profile (404 without a profile)."""
    return jsonify(service.describe_agent(pool=_pool(), identity=current_identity()))


@agents.patch("/me")
@responds(200, Me)
@responds(404, None, "This account has no agent profile")
@require_identity(AGENT)
@body(ProfileUpdate)
def update_me(body: ProfileUpdate):
    """Change the caller's agency name, phone or country (not the e-mail)."""
    return jsonify(service.update_profile(pool=_pool(), identity=current_identity(),
                                          changes=body.changes()))


@agents.get("/me/documents")
@responds(200, DocumentList)
@responds(404, None, "This account has no agent profile")
@require_identity(AGENT)
def my_documents():
    """The caller's documents, newest first."""
    return jsonify(service.list_documents(pool=_pool(), identity=current_identity()))


@agents.post("/me/documents")
@responds(201, DocumentUpload, "Created: upload the file with the presigned POST")
@responds(404, None, "This account has no agent profile")
@responds(409, None, "Too many documents")
@require_identity(AGENT)
@body(DocumentUploadRequest)
def request_upload(body: DocumentUploadRequest):
    """Announce a document (PDF, JPEG or PNG, at most 10 MB) and get a presigned S3 POST
    for exactly that file; then upload it and confirm. Suspended agents may not.

    `Location` is the document's download link (the one URL that reads one document)."""
    upload = service.request_upload(pool=_pool(), store=_store(), identity=current_identity(),
                                    request=body)
    return created(upload, location=url_for("agents.download_document",
                                            document_id=upload["document"]["id"]))


@agents.post("/me/documents/<uuid:document_id>/confirm")
@responds(200, Document, "Checked and marked uploaded")
@responds(409, None, "Nothing has been uploaded yet")
@responds(422, None, "What was uploaded is not what was announced (it was removed)")
@require_identity(AGENT)
def confirm_upload(document_id):
    """Check with S3 that the announced file arrived, and mark the document uploaded."""
    return jsonify(service.confirm_upload(pool=_pool(), store=_store(),
                                          identity=current_identity(), document_id=document_id))


@agents.get("/me/documents/<uuid:document_id>/download")
@responds(200, DownloadLink)
@responds(409, None, "The file has not been uploaded and checked yet")
@require_identity(AGENT)
def download_document(document_id):
    """A presigned GET, valid for two minutes, for one of the caller's documents."""
    return jsonify(service.download_link(pool=_pool(), store=_store(),
                                         identity=current_identity(), document_id=document_id))


@agents.delete("/me/documents/<uuid:document_id>")
@responds(204, None, "Deleted")
@require_identity(AGENT)
def delete_document(document_id):
    """Delete one of the caller's documents and its file."""
    service.delete_document(pool=_pool(), store=_store(), identity=current_identity(),
                            document_id=document_id)
    return _no_content()


# --- administration (members of the Cognito group `admins`) -----------------------------

@agents.get("")
@responds(200, AgentPage)
@require_admin
@query(AgentListQuery)
def list_agents(query: AgentListQuery):
    """Agents, optionally of one status, oldest first, a page at a time (admins)."""
    return jsonify(service.list_agents(pool=_pool(), status=query.status, limit=query.limit,
                                       offset=query.offset))


@agents.get("/<uuid:agent_id>")
@responds(200, AgentAdminView)
@require_admin
def get_agent(agent_id):
    """One agent (admins)."""
    return jsonify(service.get_agent(pool=_pool(), agent_id=agent_id))


def _transition(agent_id, action: str):
    return jsonify(service.change_status(pool=_pool(), admin=current_identity(),
                                         agent_id=agent_id, action=action))


@agents.post("/<uuid:agent_id>/approve")
@responds(200, AgentAdminView)
@responds(409, None, "The agent is not pending")
@require_admin
def approve_agent(agent_id):
    """Approve a pending agent: they become active and may book (admins)."""
    return _transition(agent_id, "approve")


@agents.post("/<uuid:agent_id>/suspend")
@responds(200, AgentAdminView)
@responds(409, None, "The agent is not active")
@require_admin
def suspend_agent(agent_id):
    """Suspend an active agent (admins)."""
    return _transition(agent_id, "suspend")


@agents.post("/<uuid:agent_id>/reactivate")
@responds(200, AgentAdminView)
@responds(409, None, "The agent is not suspended")
@require_admin
def reactivate_agent(agent_id):
    """Make a suspended agent active again (admins)."""
    return _transition(agent_id, "reactivate")


@agents.put("/<uuid:agent_id>/commission-rate")
@responds(200, AgentAdminView)
@require_admin
@body(CommissionRateRequest)
def set_commission_rate(agent_id, body: CommissionRateRequest):
    """Set an agent's commission rate, 0 to 1 with at most 4 decimals (admins)."""
    return jsonify(service.set_commission_rate(pool=_pool(), agent_id=agent_id,
                                               commission_rate=body.commission_rate))


@agents.get("/<uuid:agent_id>/documents")
@responds(200, DocumentList)
@require_admin
def agent_documents(agent_id):
    """An agent's documents, to review them (admins)."""
    return jsonify(service.agent_documents(pool=_pool(), agent_id=agent_id))


@agents.get("/<uuid:agent_id>/documents/<uuid:document_id>/download")
@responds(200, DownloadLink)
@responds(409, None, "The file has not been uploaded and checked yet")
@require_admin
def agent_document_download(agent_id, document_id):
    """A presigned GET, valid for two minutes, for an agent's document (admins)."""
    return jsonify(service.agent_document_link(pool=_pool(), store=_store(), agent_id=agent_id,
                                               document_id=document_id))


# --- lookup for booking-service ---------------------------------------------------------

@internal.get("")
@responds(200, AgentLookup)
@require_identity()
@query(AgentLookupQuery)
def lookup_agents(query: AgentLookupQuery):
    """Agents by Cognito sub (?sub=a,b,c or ?sub=a&sub=b; at most 100), for booking-service.

    Any verified token (the caller's, forwarded). An agent is told about themselves only
    (sub, agency_name, status, commission_rate); an operator gets sub and agency_name of
    active and suspended agents (those who can have booked). Other subs are left out.
    Booking is for `active` agents only. Send large batches in the comma form: 100 repeated
    `sub=` parameters exceed the 4094-byte request line."""
    return jsonify(service.lookup_agents(pool=_pool(), identity=current_identity(),
                                         subs=query.sub))

"""Routes of agents' accounts: sign-up, confirmation, codes, passwords, login, refresh,
logout (all but logout and the password change are public at the gateway:
gateway/gateway_config)."""
from flask import current_app, jsonify, request, url_for

from agent_service import accounts
from agent_service.routes import agents, cognito_accounts, no_content, rds_pool
from agent_service.schemas import (
    ChangePasswordRequest,
    CodeRequested,
    ConfirmForgotPasswordRequest,
    ConfirmSignUpRequest,
    EmailRequest,
    LoginRequest,
    PasswordChanged,
    RefreshRequest,
    SignUpConfirmed,
    SignUpRequest,
    SignUpResult,
    Tokens,
)
from travel_platform.api import body, created, responds
from travel_platform.auth import bearer_token
from travel_platform.client_address import request_client_address
from travel_platform.web import AGENT, require_identity


def _attempt(flow: str, account: str):
    return accounts.counted_attempt(pool=rds_pool(), limit=current_app.extensions["attempt_limit"],
                                    flow=flow, account=account,
                                    address=request_client_address())


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
        result = accounts.sign_up(pool=rds_pool(), accounts=cognito_accounts(), request=body)
    return created(result, location=url_for("agents.me"))


@agents.post("/confirm-signup")
@responds(200, SignUpConfirmed)
@responds(409, None, "The account is already confirmed")
@responds(429, None, "Too many attempts for this account, or from this address")
@body(ConfirmSignUpRequest)
def confirm_sign_up(body: ConfirmSignUpRequest):
    """Confirm a new account with the code Cognito e-mailed and its password (public)."""
    with _attempt("confirm", body.email):
        return jsonify(accounts.confirm_sign_up(accounts=cognito_accounts(), email=body.email,
                                                password=body.password, code=body.code))


@agents.post("/<any('resend-confirmation-code', 'forgot-password'):purpose>")
@responds(200, CodeRequested)
@responds(409, None, "resend-confirmation-code: the account is already confirmed")
@body(EmailRequest)
def send_code(purpose: str, body: EmailRequest):
    """E-mail a code (public): resend-confirmation-code, a new one to confirm a sign-up
    with; forgot-password, one that sets a new password with confirm-forgot-password.

    The answer is the same whether or not the address has an account."""
    return jsonify(accounts.send_code(accounts=cognito_accounts(), email=body.email,
                                      purpose=purpose))


@agents.post("/confirm-forgot-password")
@responds(200, PasswordChanged)
@responds(422, None, "The password does not meet the pool's password policy")
@body(ConfirmForgotPasswordRequest)
def confirm_forgot_password(body: ConfirmForgotPasswordRequest):
    """Set a new password with the code forgot-password e-mailed (public).

    A wrong or expired code, or an address without an account, is 400
    `invalid_confirmation_code`. Every session of the account ends (AdminUserGlobalSignOut):
    sign in again with the new password."""
    return jsonify(accounts.confirm_forgot_password(accounts=cognito_accounts(), email=body.email,
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
    return jsonify(accounts.change_password(
        accounts=cognito_accounts(),
        access_token=bearer_token(request.headers.get("Authorization")),
        current_password=body.current_password, new_password=body.new_password))


@agents.post("/login")
@responds(200, Tokens, "Cognito tokens")
@responds(401, None, "Wrong e-mail or password (one answer for both)")
@responds(429, None, "Too many attempts for this account, or from this address")
@body(LoginRequest)
def login(body: LoginRequest):
    """Exchange an agent's e-mail and password for Cognito tokens (public)."""
    with _attempt("login", body.email):
        return jsonify(accounts.login(accounts=cognito_accounts(), email=body.email,
                                      password=body.password))


@agents.post("/refresh")
@responds(200, Tokens, "New access and id tokens")
@responds(401, None, "The refresh token is invalid, expired or revoked")
@responds(429, None, "Too many attempts for this refresh token, or from this address")
@body(RefreshRequest)
def refresh(body: RefreshRequest):
    """Exchange a refresh token for new tokens (public)."""
    with _attempt("refresh", body.refresh_token):
        return jsonify(accounts.refresh(accounts=cognito_accounts(),
                                        refresh_token=body.refresh_token))


@agents.post("/logout")
@responds(204, None, "Signed out")
@require_identity(AGENT)
def log_out():
    """Sign out everywhere (Cognito GlobalSignOut): refresh tokens are revoked at once;
    access tokens are refused by every route within AUTH_LIVENESS_SECONDS (10 s)."""
    accounts.log_out(accounts=cognito_accounts(),
                     access_token=bearer_token(request.headers.get("Authorization")))
    return no_content()

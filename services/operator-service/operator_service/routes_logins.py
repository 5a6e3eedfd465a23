"""Routes of operators' sign-in on the operators' Cognito pool (login, refresh and the
forgotten-password pair are public at the gateway): docs/operator-logins.md."""
from flask import Response, jsonify, request

from operator_service import logins, passwords
from operator_service.routes import operator_accounts, operators
from operator_service.schemas import PasswordChange
from travel_platform.accounts import (
    CodeRequested,
    ConfirmForgotPasswordRequest,
    EmailRequest,
    LoginRequest,
    PasswordChanged,
    RefreshRequest,
    Tokens,
)
from travel_platform.api import body, responds
from travel_platform.auth import bearer_token
from travel_platform.client_address import request_client_address
from travel_platform.web import OPERATOR, current_identity, require_identity


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
    return jsonify(logins.log_in(accounts=operator_accounts(), email=body.email,
                                 password=body.password, address=request_client_address()))


@operators.post("/refresh")
@responds(200, Tokens, "New access and id tokens")
@responds(401, None, "The refresh token is invalid, expired or revoked")
@body(RefreshRequest)
def refresh(body: RefreshRequest):
    """Exchange a refresh token of the operators' pool for new tokens (public)."""
    return jsonify(logins.refresh(accounts=operator_accounts(), refresh_token=body.refresh_token))


@operators.post("/forgot-password")
@responds(200, CodeRequested)
@responds(401, None, "Sign-in on the operators' pool is not open (operator_login_closed): "
                     "before the operators' move, Supabase Auth resets passwords")
@body(EmailRequest)
def forgot_password(body: EmailRequest):
    """E-mail a code that sets a new password on the operators' pool (public); in the move's
    window also for an operator who never signed in there. The answer is the same whether
    or not the address is an operator's."""
    return jsonify(passwords.send_reset_code(accounts=operator_accounts(), email=body.email))


@operators.post("/confirm-forgot-password")
@responds(200, PasswordChanged)
@responds(401, None, "Sign-in on the operators' pool is not open (operator_login_closed)")
@responds(422, None, "The password does not meet the pool's password policy")
@body(ConfirmForgotPasswordRequest)
def confirm_forgot_password(body: ConfirmForgotPasswordRequest):
    """Set a new password with the code forgot-password e-mailed (public), wherever the
    operator signs in with it (in the window, Supabase Auth too). A wrong or expired code is
    400 `invalid_confirmation_code`. Every session of the account ends: sign in again."""
    return jsonify(passwords.reset_password(accounts=operator_accounts(), email=body.email,
                                         code=body.code, new_password=body.new_password))


@operators.post("/logout")
@responds(204, None, "Signed out")
@require_identity(OPERATOR)
def log_out():
    """Sign out of the operators' pool everywhere (GlobalSignOut): refresh tokens are
    revoked at once; access tokens are refused by every route within AUTH_LIVENESS_SECONDS
    (10 s)."""
    logins.log_out(accounts=operator_accounts(), identity=current_identity(),
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
    return jsonify(passwords.change_password(
        accounts=operator_accounts(), identity=current_identity(),
        current=body.current_password, new=body.new_password, address=request_client_address()))

"""A Cognito user pool as our services use it (the agents' pool in agent-service, the
operators' pool in operator-service), with Cognito's error codes turned into API errors in
one place."""
from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from travel_platform.errors import (
    APIError,
    BadRequest,
    Conflict,
    Forbidden,
    ServiceUnavailable,
    Unauthorized,
    Unprocessable,
)

log = logging.getLogger(__name__)


class UsernameTaken(Exception):
    """SignUp found a Cognito user with this e-mail already."""


class UserMissing(Exception):
    """An admin call named a user the pool does not have."""


def _throttled(message: str) -> APIError:
    return ServiceUnavailable("too many requests to the account service, try again shortly",
                              code="too_many_requests")


def _invalid_credentials(message: str) -> APIError:
    # One answer for a wrong password and an unknown user, so the API never tells whether
    # an account exists (Cognito does the same with PreventUserExistenceErrors).
    return Unauthorized("invalid e-mail or password", code="invalid_credentials")


def _invalid_code(message: str) -> APIError:
    # One answer for a wrong code, a wrong password and an unknown address.
    return BadRequest("the confirmation code or the password is wrong, or the code has expired",
                      code="invalid_confirmation_code")


def _weak_password(field: str) -> Callable[[str], APIError]:
    return lambda message: Unprocessable("the password does not meet the password policy",
                                         code="weak_password",
                                         details=[{"field": field, "problem": message}])


def _already_confirmed(message: str) -> APIError:
    return Conflict("the account is already confirmed: log in", code="already_confirmed")


_THROTTLING = {"TooManyRequestsException": _throttled, "LimitExceededException": _throttled,
               "TooManyFailedAttemptsException": _throttled}

_SIGN_UP_ERRORS = {
    **_THROTTLING,
    "InvalidPasswordException": _weak_password("password"),
    "InvalidParameterException": lambda message: BadRequest(
        "the account service refused the sign-up", code="invalid_sign_up",
        details=[{"field": "(body)", "problem": message}]),
}
_CONFIRM_ERRORS = {
    **_THROTTLING,
    "CodeMismatchException": _invalid_code,
    "ExpiredCodeException": _invalid_code,
    # Where PreventUserExistenceErrors is off, Cognito would name an unknown user.
    "UserNotFoundException": _invalid_code,
    "NotAuthorizedException": _already_confirmed,
    "AliasExistsException": lambda message: Conflict(
        "an account with this e-mail already exists", code="email_already_registered"),
}
class _Unconfirmed(Exception):
    """The password is right and the user is not confirmed yet."""


_UNCONFIRMED_CHECK_ERRORS = {
    **_THROTTLING,
    "UserNotConfirmedException": lambda message: _Unconfirmed(),
    "NotAuthorizedException": _invalid_code,
    "UserNotFoundException": _invalid_code,
    "PasswordResetRequiredException": _invalid_code,
}
_LOGIN_ERRORS = {
    **_THROTTLING,
    "NotAuthorizedException": _invalid_credentials,
    "UserNotFoundException": _invalid_credentials,
    "UserNotConfirmedException": lambda message: Forbidden(
        "the account is not confirmed yet", code="account_not_confirmed"),
    "PasswordResetRequiredException": lambda message: Forbidden(
        "the password must be reset", code="password_reset_required"),
}
_REFRESH_ERRORS = {
    **_THROTTLING,
    "NotAuthorizedException": lambda message: Unauthorized(
        "the refresh token is invalid, expired or revoked", code="invalid_refresh_token"),
    "UserNotFoundException": lambda message: Unauthorized(
        "the refresh token is invalid, expired or revoked", code="invalid_refresh_token"),
}
_SIGN_OUT_ERRORS = {
    **_THROTTLING,
    "NotAuthorizedException": lambda message: Unauthorized(
        "the token has been signed out or revoked", code="token_revoked"),
}

# Codes for a new password. An unknown user is answered like a wrong code, so the API never
# tells whether an account exists.
_RESET_ERRORS = {
    **_THROTTLING,
    "CodeMismatchException": _invalid_code,
    "ExpiredCodeException": _invalid_code,
    "UserNotFoundException": _invalid_code,
    "InvalidPasswordException": _weak_password("new_password"),
}
_CHANGE_PASSWORD_ERRORS = {
    **_THROTTLING,
    "InvalidPasswordException": _weak_password("new_password"),
    # Cognito says NotAuthorized both for a wrong current password and for a signed-out
    # token; its message tells which.
    "NotAuthorizedException": lambda message: (
        Unauthorized("the token has been signed out or revoked", code="token_revoked")
        if "revoked" in message.lower() else
        Forbidden("the current password is wrong", code="wrong_password")),
}


class CodeNotSent(Exception):
    """Cognito sent no code: no such user (not to be told to the caller)."""


_CODE_REQUEST_ERRORS = {
    **_THROTTLING,
    "UserNotFoundException": lambda message: CodeNotSent(message),
    # Cognito refuses to resend to a confirmed user, and to reset the password of one who
    # never confirmed (no verified address to send the code to).
    "InvalidParameterException": lambda message: (
        _already_confirmed(message) if "already confirmed" in message.lower()
        else CodeNotSent(message)),
    "NotAuthorizedException": lambda message: CodeNotSent(message),
}

_ADMIN_ERRORS = {**_THROTTLING, "UserNotFoundException": lambda message: UserMissing(message)}


def _tokens(result: dict) -> dict:
    if "AuthenticationResult" not in result:
        raise Forbidden(f"sign-in needs another step: {result.get('ChallengeName')}",
                        code="challenge_required")
    tokens = result["AuthenticationResult"]
    return {"access_token": tokens["AccessToken"], "id_token": tokens.get("IdToken"),
            "refresh_token": tokens.get("RefreshToken"), "expires_in": tokens["ExpiresIn"],
            "token_type": "Bearer"}


class CognitoAccounts:
    """One pool's accounts: its public app client, and admin calls on the pool."""

    def __init__(self, client, *, user_pool_id: str, client_id: str):
        self._client = client
        self._pool_id = user_pool_id
        self._client_id = client_id

    def _call(self, operation: str, errors: Mapping[str, Callable[[str], Exception]],
              **params: Any) -> dict:
        try:
            return getattr(self._client, operation)(**params)
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            message = exc.response["Error"].get("Message", "")
            if code in errors:
                raise errors[code](message) from None
            log.warning("Cognito %s failed: %s %s", operation, code, message)
            raise ServiceUnavailable("the account service failed, try again shortly") from exc
        except BotoCoreError as exc:
            log.warning("Cognito %s unreachable: %s", operation, exc)
            raise ServiceUnavailable("the account service is unreachable") from exc

    def sign_up(self, *, email: str, password: str) -> dict:
        """Create an unconfirmed user; raises UsernameTaken if the e-mail has one."""
        taken = {"UsernameExistsException": lambda message: UsernameTaken(email)}
        return self._call("sign_up", {**_SIGN_UP_ERRORS, **taken},
                          ClientId=self._client_id, Username=email, Password=password,
                          UserAttributes=[{"Name": "email", "Value": email}])

    def check_unconfirmed_password(self, *, email: str, password: str) -> None:
        """Pass if `password` is the password of the unconfirmed user with this e-mail.

        Cognito checks the password before it says a user is unconfirmed, so an attempt to
        sign in tells exactly this; a wrong password or unknown user is answered as a wrong
        code, and a confirmed account as already confirmed."""
        try:
            self._call("initiate_auth", _UNCONFIRMED_CHECK_ERRORS, ClientId=self._client_id,
                       AuthFlow="USER_PASSWORD_AUTH",
                       AuthParameters={"USERNAME": email, "PASSWORD": password})
        except _Unconfirmed:
            return
        # Signed in (the tokens are not handed out): there is nothing left to confirm.
        raise Conflict("the account is already confirmed: log in", code="already_confirmed")

    def confirm_sign_up(self, *, email: str, code: str) -> None:
        """Confirm a user with the code Cognito sent them."""
        self._call("confirm_sign_up", _CONFIRM_ERRORS, ClientId=self._client_id,
                   Username=email, ConfirmationCode=code)

    def login(self, *, email: str, password: str) -> dict:
        """Tokens for an e-mail and password (USER_PASSWORD_AUTH)."""
        return _tokens(self._call(
            "initiate_auth", _LOGIN_ERRORS, ClientId=self._client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password}))

    def refresh(self, *, refresh_token: str) -> dict:
        """New access and id tokens for a refresh token (REFRESH_TOKEN_AUTH)."""
        return _tokens(self._call(
            "initiate_auth", _REFRESH_ERRORS, ClientId=self._client_id,
            AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": refresh_token}))

    def sign_out(self, *, access_token: str) -> None:
        """Revoke every refresh token of the token's user (GlobalSignOut)."""
        self._call("global_sign_out", _SIGN_OUT_ERRORS, AccessToken=access_token)

    def sign_out_user(self, *, username: str) -> None:
        """End every session of a user (AdminUserGlobalSignOut): their refresh tokens stop
        working at once, and Cognito refuses their access tokens (GetUser), so every part
        refuses them within the revocation bound (shared/travel_platform/auth/revocation.py)."""
        self._call("admin_user_global_sign_out", _ADMIN_ERRORS, UserPoolId=self._pool_id,
                   Username=username)

    def disable_user(self, *, username: str) -> None:
        """Disable a user (AdminDisableUser): no sign-in, and Cognito revokes their tokens;
        UserMissing if there is no such user."""
        self._call("admin_disable_user", _ADMIN_ERRORS, UserPoolId=self._pool_id,
                   Username=username)

    def resend_confirmation_code(self, *, email: str) -> None:
        """E-mail a new sign-up confirmation code; CodeNotSent if there is no such user,
        409 `already_confirmed` if the account needs none."""
        self._call("resend_confirmation_code", _CODE_REQUEST_ERRORS,
                   ClientId=self._client_id, Username=email)

    def forgot_password(self, *, email: str) -> None:
        """E-mail a code that sets a new password (CodeNotSent if none could be sent)."""
        self._call("forgot_password", _CODE_REQUEST_ERRORS, ClientId=self._client_id,
                   Username=email)

    def confirm_forgot_password(self, *, email: str, code: str, new_password: str) -> None:
        """Set a new password with the code forgot_password e-mailed."""
        self._call("confirm_forgot_password", _RESET_ERRORS, ClientId=self._client_id,
                   Username=email, ConfirmationCode=code, Password=new_password)

    def change_password(self, *, access_token: str, current_password: str,
                        new_password: str) -> None:
        """Change the token's user's password, given the current one."""
        self._call("change_password", _CHANGE_PASSWORD_ERRORS, AccessToken=access_token,
                   PreviousPassword=current_password, ProposedPassword=new_password)

    def user_status(self, *, email: str) -> tuple[str, str] | None:
        """(user name, status) of the user with this e-mail, or None if there is none."""
        try:
            user = self._call("admin_get_user", _ADMIN_ERRORS, UserPoolId=self._pool_id,
                              Username=email)
        except UserMissing:
            return None
        return user["Username"], user["UserStatus"]

    def find_user(self, *, email: str) -> dict | None:
        """{"username", "status", "attributes"} of the user with this e-mail, or None."""
        try:
            user = self._call("admin_get_user", _ADMIN_ERRORS, UserPoolId=self._pool_id,
                              Username=email)
        except UserMissing:
            return None
        return {"username": user["Username"], "status": user["UserStatus"],
                "attributes": {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])}}

    def attributes(self, *, access_token: str) -> dict[str, str]:
        """The attributes of the user an access token belongs to (GetUser), `sub` included."""
        user = self._call("get_user", _SIGN_OUT_ERRORS, AccessToken=access_token)
        return {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])}

    def create_user(self, *, email: str, attributes: Mapping[str, str]) -> None:
        """A user created by an administrator, told nothing (no invitation is sent);
        UsernameTaken if the e-mail has one already."""
        taken = {"UsernameExistsException": lambda message: UsernameTaken(email)}
        self._call("admin_create_user", {**_SIGN_UP_ERRORS, **taken}, UserPoolId=self._pool_id,
                   Username=email, MessageAction="SUPPRESS",
                   UserAttributes=[{"Name": k, "Value": v} for k, v in attributes.items()])

    def set_password(self, *, username: str, password: str) -> None:
        """Give a user a permanent password (the user is then CONFIRMED)."""
        self._call("admin_set_user_password", {**_SIGN_UP_ERRORS, **_ADMIN_ERRORS},
                   UserPoolId=self._pool_id, Username=username, Password=password,
                   Permanent=True)

    def require_password_reset(self, *, username: str) -> None:
        """The user must reset their password (with a code sent to them) before signing in."""
        self._call("admin_reset_user_password", _ADMIN_ERRORS, UserPoolId=self._pool_id,
                   Username=username)

    def create_user_awaiting_reset(self, *, email: str, attributes: Mapping[str, str]) -> None:
        """A user who must set a password with a code sent to them before signing in
        (RESET_REQUIRED): made CONFIRMED with a password nobody knows first, since Cognito
        resets only confirmed users. UsernameTaken if the e-mail has one already."""
        self.create_user(email=email, attributes=attributes)
        self.set_password(username=email, password="Aa1-" + secrets.token_urlsafe(32))
        self.require_password_reset(username=email)

    def mfa_configuration(self) -> str:
        """The pool's MFA setting: OFF, ON or OPTIONAL."""
        answer = self._call("get_user_pool_mfa_config", _ADMIN_ERRORS, UserPoolId=self._pool_id)
        return str(answer.get("MfaConfiguration", "OFF"))

    def delete_user(self, *, username: str) -> None:
        """Delete a user; one that is already gone is fine."""
        try:
            self._call("admin_delete_user", _ADMIN_ERRORS, UserPoolId=self._pool_id,
                       Username=username)
        except UserMissing:
            pass

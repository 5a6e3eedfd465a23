"""GoTrue's HTTP API under /auth/v1, behind an apikey check like Supabase's gateway.

Status codes, error codes and messages follow github.com/supabase/auth, so that supabase-py
raises the same AuthApiError here as against a real project.
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from typing import Any

import bcrypt
import jwt
import psycopg
from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from travel_platform import rate_limits

from . import db, keys
from .settings import RATE_LIMIT_WINDOW, AuthStandinSettings

bp = Blueprint("auth", __name__, url_prefix="/auth/v1")

VERSION = "auth-standin-1"
API_VERSION_HEADER = "X-Supabase-Api-Version"
API_VERSION_2024 = "2024-01-01"
_API_VERSION_FORMAT = re.compile(r"^2[0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")
PUBLIC_ENDPOINTS = {"auth.health", "auth.jwks"}
ADMIN_ROLES = ("service_role", "supabase_admin")   # GoTrue's default GOTRUE_JWT_ADMIN_ROLES
BCRYPT_COST = 10
MIN_PASSWORD_LENGTH = 6
MAX_PASSWORD_BYTES = 72          # bcrypt ignores (bcrypt>=5: refuses) anything longer
MAX_PER_PAGE = 1000
OTP_LENGTH = 6                   # GOTRUE_MAILER_OTP_LENGTH's default
OTP_EXPIRY = timedelta(hours=1)  # a hosted project's default e-mail OTP expiry
MAIL_INTERVAL = timedelta(seconds=60)   # GOTRUE_SMTP_MAX_FREQUENCY's default
RESEND_TYPES = ("signup", "email_change", "sms", "phone_change")
INVALID_LOGIN = "Invalid login credentials"
# The format check of GoTrue's email validation (checkmail.ValidateFormat).
_EMAIL_FORMAT = re.compile(
    r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$")
_BEARER = re.compile(r"^[Bb]earer (\S+)$")
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
_UNIQUE_MESSAGES = {   # violated constraint -> GoTrue's answer
    "users_email_lower_key": ("email_exists",
                              "A user with this email address has already been registered"),
    "users_phone_key": ("phone_exists",
                        "A user with this phone number has already been registered"),
    "users_pkey": ("user_already_exists", "A user with this id already exists"),
}
# Checked against when the account has no usable hash, so that a sign-in for an unknown
# email takes as long as one with a wrong password: no timing oracle for who has an account.
_DUMMY_HASH = bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(BCRYPT_COST)).decode()


class ApiError(Exception):
    """An error answered in GoTrue's JSON shape."""

    def __init__(self, status: int, code: str, message: str, *,
                 headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra
        self.headers = headers or {}


def _settings() -> AuthStandinSettings:
    return current_app.extensions["auth_standin"]["settings"]


def _pool() -> db.DictPool:
    return current_app.extensions["auth_standin"]["pool"]


def _wants_2024_errors() -> bool:
    version = request.headers.get(API_VERSION_HEADER, "")
    return bool(_API_VERSION_FORMAT.match(version)) and version >= API_VERSION_2024


# Errors ---------------------------------------------------------------------------------

def _error_response(error: ApiError) -> Response:
    # Clients that send the version header get {code, message}; older ones the legacy shape.
    body: dict[str, Any]
    if _wants_2024_errors():
        body = {"code": error.code, "message": error.message}
    else:
        body = {"code": error.status, "error_code": error.code, "msg": error.message}
    response = jsonify({**body, **error.extra})
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


@bp.app_errorhandler(ApiError)
def _api_error(error: ApiError) -> Response:
    return _error_response(error)


@bp.app_errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    code = {404: "not_found", 405: "method_not_allowed"}.get(
        status, error.name.lower().replace(" ", "_"))
    response = _error_response(ApiError(status, code, error.name))
    valid_methods = getattr(error, "valid_methods", None)
    if status == 405 and valid_methods:
        response.headers["Allow"] = ", ".join(valid_methods)
    return response


@bp.app_errorhandler(Exception)
def _unexpected_error(error: Exception) -> Response:
    current_app.logger.exception("unexpected failure")
    return _error_response(ApiError(
        500, "unexpected_failure",
        "Unexpected failure, please check server logs for more information"))


@bp.after_app_request
def _common_headers(response: Response) -> Response:
    if _wants_2024_errors():
        response.headers[API_VERSION_HEADER] = API_VERSION_2024
    # Supabase's gateway lets any origin call the API from a browser (no cookies involved).
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = f"X-Total-Count, {API_VERSION_HEADER}"
    return response


# Gateway --------------------------------------------------------------------------------

@bp.before_request
def _gateway() -> Response | None:
    # Kong in front of GoTrue on a real project: CORS preflights, then key-auth with its own
    # error shape (not GoTrue's).
    if request.method == "OPTIONS":   # browsers send no apikey on a preflight
        response = current_app.make_default_options_response()
        del response.headers["Content-Type"]   # empty body; not the default text/html
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, DELETE"
        response.headers["Access-Control-Allow-Headers"] = request.headers.get(
            "Access-Control-Request-Headers", "")
        response.headers["Access-Control-Max-Age"] = "3600"
        return response
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    key = request.headers.get("apikey")
    if not key:
        return _gateway_error("No API key found in request",
                              "No `apikey` request header or url param was found.")
    if keys.api_key_role(key, secret=_settings().supabase_jwt_secret.get_secret_value()) is None:
        return _gateway_error("Invalid API key",
                              "Double check your Supabase `anon` or `service_role` API key.")
    return None


def _gateway_error(message: str, hint: str) -> Response:
    response = jsonify(message=message, hint=hint)
    response.status_code = 401
    return response


# Request helpers ------------------------------------------------------------------------

def _json_body() -> dict[str, Any]:
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "Could not parse request body as JSON")
    return body


def _bearer_token() -> str:
    match = _BEARER.match(request.headers.get("Authorization", ""))
    if not match:
        raise ApiError(401, "no_authorization", "This endpoint requires a Bearer token")
    return match.group(1)


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _int_arg(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise ApiError(400, "validation_failed", f"Bad Pagination Parameters: {name}")
    return int(raw)


def _optional(body: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = body.get(name)
    if value is not None and not isinstance(value, kind):
        raise ApiError(400, "bad_json", f"Could not parse request body as JSON: {name}")
    return value


# Shapes ---------------------------------------------------------------------------------

def _timestamp(value: datetime | None) -> str:
    # GoTrue's zero time for a NULL it must print; pydantic still parses it as a datetime.
    value = value or datetime(1, 1, 1, tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _app_metadata(user: dict[str, Any]) -> dict[str, Any]:
    provider = "email" if user["email"] or not user["phone"] else "phone"
    return {"provider": provider, "providers": [provider], **(user["raw_app_meta_data"] or {})}


def user_json(user: dict[str, Any]) -> dict[str, Any]:
    """A user as GoTrue serialises one (supabase_auth.types.User)."""
    out = {"id": str(user["id"]), "aud": user["aud"] or "", "role": user["role"] or "",
           "email": user["email"] or "", "phone": user["phone"] or "",
           "app_metadata": _app_metadata(user), "user_metadata": user["raw_user_meta_data"] or {},
           "identities": [], "created_at": _timestamp(user["created_at"]),
           "updated_at": _timestamp(user["updated_at"]), "is_anonymous": user["is_anonymous"]}
    for name in ("email_confirmed_at", "phone_confirmed_at", "confirmed_at", "last_sign_in_at",
                 "confirmation_sent_at", "recovery_sent_at", "banned_until", "deleted_at"):
        if user[name] is not None:   # GoTrue omits these when unset
            out[name] = _timestamp(user[name])
    if user.get("factors"):          # and the factors when there are none
        out["factors"] = user["factors"]
    return out


def _session_json(user: dict[str, Any], *, session_id: uuid.UUID, signed_in_at: datetime,
                  refresh_token: str) -> dict[str, Any]:
    settings = _settings()
    now = int(time.time())
    claims = {
        "iss": settings.issuer, "sub": str(user["id"]), "aud": user["aud"] or keys.USER_AUDIENCE,
        "exp": now + settings.auth_jwt_expiry, "iat": now,
        "email": user["email"] or "", "phone": user["phone"] or "",
        "app_metadata": _app_metadata(user), "user_metadata": user["raw_user_meta_data"] or {},
        "role": user["role"] or "authenticated", "aal": "aal1",
        "amr": [{"method": "password", "timestamp": int(signed_in_at.timestamp())}],
        "session_id": str(session_id), "is_anonymous": user["is_anonymous"],
    }
    return {"access_token": keys.issue_access_token(claims, key=settings.signing_key),
            "token_type": "bearer", "expires_in": settings.auth_jwt_expiry,
            "expires_at": now + settings.auth_jwt_expiry, "refresh_token": refresh_token,
            "user": user_json(user)}


# Passwords and users ---------------------------------------------------------------------

def _password_matches(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:   # not a bcrypt hash, or a password bcrypt refuses (over 72 bytes)
        return False


def _hash_new_password(password: Any) -> str:
    if not isinstance(password, str):
        raise ApiError(400, "validation_failed", "Password must be a string")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ApiError(422, "weak_password",
                       f"Password should be at least {MIN_PASSWORD_LENGTH} characters.",
                       weak_password={"reasons": ["length"]})
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise ApiError(400, "validation_failed",
                       f"Password cannot be longer than {MAX_PASSWORD_BYTES} characters")
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(BCRYPT_COST)).decode()


def _valid_email(email: Any) -> str:
    if not isinstance(email, str) or not email:
        raise ApiError(400, "validation_failed", "An email address is required")
    if len(email) > 255 or not _EMAIL_FORMAT.match(email):
        raise ApiError(400, "validation_failed", "Unable to validate email address: invalid format")
    return email.lower()


def _is_banned(user: dict[str, Any]) -> bool:
    return user["banned_until"] is not None and user["banned_until"] > datetime.now(UTC)


def _ban_until(duration: Any) -> datetime | None:
    """GoTrue's ban_duration: "none" lifts a ban, a Go duration ("24h", "1h30m") sets one."""
    if duration == "none":
        return None
    if not isinstance(duration, str) or not _DURATION.fullmatch(duration):
        raise ApiError(400, "validation_failed", "invalid format for ban duration")
    seconds = sum(float(n) * _DURATION_UNITS[unit] for n, unit in _DURATION_PART.findall(duration))
    try:
        return datetime.now(UTC) + timedelta(seconds=seconds)
    except OverflowError:
        raise ApiError(400, "validation_failed", "invalid format for ban duration") from None


def _merge_metadata(current: dict[str, Any] | None, update: dict[str, Any]) -> dict[str, Any]:
    # GoTrue merges metadata updates key by key; a null value removes the key.
    merged = dict(current or {})
    for name, value in update.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def _unique_violation(error: psycopg.errors.UniqueViolation) -> ApiError:
    code, message = _UNIQUE_MESSAGES.get(error.diag.constraint_name or "",
                                         ("user_already_exists", "User already registered"))
    return ApiError(422, code, message)


def _new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def _start_session(conn: db.Conn, user_id: uuid.UUID) -> dict[str, Any]:
    """Sign a user in: new session and refresh token; returns the Session JSON."""
    user = db.record_sign_in(conn=conn, user_id=user_id)
    session = db.create_session(conn=conn, user_id=user_id)
    refresh_token = _new_refresh_token()
    db.insert_refresh_token(conn=conn, token=refresh_token, user_id=user_id,
                            session_id=session["id"])
    return _session_json(user, session_id=session["id"], signed_in_at=session["created_at"],
                         refresh_token=refresh_token)


# Public endpoints -------------------------------------------------------------------------

@bp.get("/health")
def health() -> Response:
    """GoTrue's health check."""
    return jsonify(version=VERSION, name="GoTrue",
                   description="GoTrue is a user registration and authentication API")


@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    """The public key that verifies user access tokens."""
    response = jsonify(keys=[_settings().signing_key.public_jwk])
    response.headers["Cache-Control"] = "public, max-age=600"
    return response


# Sign-in, refresh, sign-up ---------------------------------------------------------------

def _rate_limit(bucket: str, limit: int) -> None:
    """Count this request against its client address's `bucket`; GoTrue's 429 beyond
    `limit` per window. Counted in the database, so all workers share one count."""
    settings = _settings()
    header = settings.auth_rate_limit_header
    address = (request.headers.get(header) if header else request.remote_addr) or ""
    try:
        exempt = any(ip_address(address.strip()) in net for net in settings.rate_limit_exempt)
    except ValueError:
        exempt = False
    if exempt:
        return
    with _pool().connection() as conn:
        attempts, retry_after = rate_limits.count_attempt(
            conn=conn, table="auth.rate_limit_attempts", bucket=bucket,
            key=rate_limits.digest(address), window_seconds=RATE_LIMIT_WINDOW)
    if attempts > limit:
        raise ApiError(429, "over_request_rate_limit", "Request rate limit reached",
                       headers={"Retry-After": str(retry_after)})


@bp.post("/token")
def token() -> Response:
    """OAuth-style token endpoint: grant_type password or refresh_token."""
    grant_type = request.args.get("grant_type")
    settings = _settings()
    if grant_type == "password":
        _rate_limit("sign_in_sign_ups", settings.auth_rate_limit_sign_in_sign_ups)
        return jsonify(_password_grant(_json_body()))
    if grant_type == "refresh_token":
        _rate_limit("token_refresh", settings.auth_rate_limit_token_refresh)
        return jsonify(_refresh_grant(_json_body()))
    raise ApiError(400, "validation_failed", "unsupported_grant_type")


def _password_grant(body: dict[str, Any]) -> dict[str, Any]:
    email, phone, password = body.get("email"), body.get("phone"), body.get("password")
    if email and phone:
        raise ApiError(400, "validation_failed",
                       "Only an email address or phone number should be provided on login.")
    if phone:
        raise ApiError(422, "phone_provider_disabled", "Phone logins are disabled")
    if not email:
        raise ApiError(400, "validation_failed", "missing email or phone")
    if not isinstance(email, str) or not isinstance(password, str):
        raise ApiError(400, "bad_json", "Could not parse request body as JSON")

    with _pool().connection() as conn:
        user = db.find_user_by_email(conn=conn, email=email)
    # The bcrypt check runs outside any transaction: it is slow and needs no connection.
    stored = user["encrypted_password"] if user and user["deleted_at"] is None else None
    usable = bool(stored)
    matches = _password_matches(password, stored if stored else _DUMMY_HASH)
    if not (usable and matches) or user is None:
        raise ApiError(400, "invalid_credentials", INVALID_LOGIN)
    # Unlike GoTrue, ban and confirmation are told only to someone who knows the password.
    if _is_banned(user):
        raise ApiError(400, "user_banned", "User is banned")
    if user["email_confirmed_at"] is None:
        raise ApiError(400, "email_not_confirmed", "Email not confirmed")
    with _pool().connection() as conn:
        return _start_session(conn, user["id"])


def _refresh_grant(body: dict[str, Any]) -> dict[str, Any]:
    refresh_token = body.get("refresh_token")
    if not isinstance(refresh_token, str) or not refresh_token:
        raise ApiError(400, "validation_failed", "refresh_token required")
    reused = False
    # One transaction with the token row locked: of two concurrent refreshes with the same
    # token, the second waits for the first to commit and then finds the token used.
    with _pool().connection() as conn:
        row = db.lock_refresh_token(conn=conn, token=refresh_token)
        if row is None:
            raise ApiError(400, "refresh_token_not_found",
                           "Invalid Refresh Token: Refresh Token Not Found")
        if not row["revoked"]:
            user = _live_session_user(conn, row)
            new_token = _rotate(conn, row, user)
        elif (reissued := _within_reuse_interval(conn, row)) is not None:
            # Two tabs refreshed at once, or a client lost the answer to its refresh: the
            # token was used moments ago and its successor is the session's current one.
            # As GoTrue within its reuse interval: answer with that one, end nothing.
            user, new_token = _live_session_user(conn, row), reissued
        else:
            # A used token coming back later means it leaked: like GoTrue, end the whole
            # session's token family. Committed.
            db.revoke_session_refresh_tokens(conn=conn, session_id=row["session_id"])
            reused = True
    if reused:
        raise ApiError(400, "refresh_token_already_used", "Invalid Refresh Token: Already Used")
    return _session_json(user, session_id=row["session_id"],
                         signed_in_at=row["session_created_at"], refresh_token=new_token)


def _within_reuse_interval(conn: db.Conn, row: dict[str, Any]) -> str | None:
    """The session's current refresh token, if the used token `row` was used within the
    reuse interval and the current one is its successor; None otherwise."""
    interval = timedelta(seconds=_settings().auth_refresh_token_reuse_interval)
    if row["updated_at"] is None or datetime.now(UTC) - row["updated_at"] > interval:
        return None
    active = db.active_refresh_token(conn=conn, session_id=row["session_id"])
    return active["token"] if active and active["parent"] == row["token"] else None


def _live_session_user(conn: db.Conn, row: dict[str, Any]) -> dict[str, Any]:
    """The user of the refresh token's session, if the session and user may still refresh."""
    if row["not_after"] is not None and row["not_after"] < datetime.now(UTC):
        raise ApiError(400, "session_expired", "Invalid Refresh Token: Session Expired")
    user = db.find_user_by_id(conn=conn, user_id=row["user_id"])
    if user is None or user["deleted_at"] is not None:
        raise ApiError(400, "refresh_token_not_found",
                       "Invalid Refresh Token: Refresh Token Not Found")
    if _is_banned(user):
        raise ApiError(400, "user_banned", "Invalid Refresh Token: User Banned")
    return user


def _rotate(conn: db.Conn, row: dict[str, Any], user: dict[str, Any]) -> str:
    db.revoke_refresh_token(conn=conn, token_id=row["id"])
    new_token = _new_refresh_token()
    db.insert_refresh_token(conn=conn, token=new_token, user_id=user["id"],
                            session_id=row["session_id"], parent=row["token"])
    db.touch_session(conn=conn, session_id=row["session_id"])
    return new_token


@bp.post("/signup")
def signup() -> Response:
    """Email sign-up; with AUTH_AUTOCONFIRM the user is signed in at once."""
    settings = _settings()
    _rate_limit("sign_in_sign_ups", settings.auth_rate_limit_sign_in_sign_ups)
    if settings.auth_disable_signup:
        raise ApiError(422, "signup_disabled", "Signups not allowed for this instance")
    body = _json_body()
    if body.get("phone") and not body.get("email"):
        raise ApiError(422, "phone_provider_disabled", "Phone signups are disabled")
    if not body.get("email") and not body.get("password"):
        raise ApiError(422, "anonymous_provider_disabled", "Anonymous sign-ins are disabled")
    email = _valid_email(body.get("email"))
    encrypted = _hash_new_password(body.get("password"))
    data = _optional(body, "data", dict) or {}
    try:
        with _pool().connection() as conn:
            user = db.create_user(conn=conn, user_id=uuid.uuid4(), email=email, phone=None,
                                  encrypted_password=encrypted,
                                  email_confirmed=settings.auth_autoconfirm, phone_confirmed=False,
                                  role="authenticated", app_metadata=_app_metadata(
                                      {"email": email, "phone": None, "raw_app_meta_data": None}),
                                  user_metadata=data)
            if settings.auth_autoconfirm:
                return jsonify(_start_session(conn, user["id"]))
            return jsonify(user_json(user))
    except psycopg.errors.UniqueViolation:
        raise ApiError(422, "user_already_exists", "User already registered") from None


# Signed-in user ---------------------------------------------------------------------------

def _authenticated(conn: db.Conn) -> tuple[dict[str, Any], dict[str, Any]]:
    """(user, session) of the request's access token, still live in the database."""
    settings = _settings()
    try:
        claims = keys.verify_access_token(
            _bearer_token(), key=settings.signing_key, issuer=settings.issuer,
            secret=settings.supabase_jwt_secret.get_secret_value())
    except jwt.PyJWTError as error:
        raise ApiError(403, "bad_jwt",
                       f"invalid JWT: unable to parse or verify signature, {error}") from None
    user_id, session_id = _uuid(claims["sub"]), _uuid(claims["session_id"])
    if user_id is None or session_id is None:
        raise ApiError(403, "bad_jwt", "invalid claim: sub and session_id must be UUIDs")
    user = db.find_user_by_id(conn=conn, user_id=user_id)
    if user is None:
        raise ApiError(403, "user_not_found", "User from sub claim in JWT does not exist")
    session = db.find_session(conn=conn, session_id=session_id)
    if session is None or session["user_id"] != user_id:
        raise ApiError(403, "session_not_found",
                       "Session from session_id claim in JWT does not exist")
    return user, session


@bp.get("/user")
def get_user() -> Response:
    """The signed-in user."""
    with _pool().connection() as conn:
        user, _ = _authenticated(conn)
    return jsonify(user_json(user))


@bp.post("/logout")
def logout() -> tuple[str, int]:
    """End this session (scope=local), all the user's (global, the default), or the others."""
    scope = request.args.get("scope", "global")
    if scope not in ("global", "local", "others"):
        raise ApiError(400, "validation_failed", f"Unsupported logout scope {scope!r}")
    with _pool().connection() as conn:
        user, session = _authenticated(conn)
        db.delete_sessions(conn=conn, user_id=user["id"], session_id=session["id"], scope=scope)
    return "", 204


@bp.put("/user")
def update_user() -> Response:
    """supabase-js updateUser: the signed-in user changes their password or metadata."""
    body = _json_body()
    password, data = body.get("password"), _optional(body, "data", dict)
    email, phone = _optional(body, "email", str), _optional(body, "phone", str)
    if phone:
        raise ApiError(422, "phone_provider_disabled", "Phone logins are disabled")
    changes: dict[str, Any] = {}
    if password is not None:
        changes["encrypted_password"] = _hash_new_password(password)
    with _pool().connection() as conn:
        user, session = _authenticated(conn)
        if body.get("app_metadata") is not None and user["role"] not in ADMIN_ROLES:
            raise ApiError(403, "not_admin", "Updating app_metadata requires admin privileges")
        if email and _valid_email(email) != (user["email"] or "").lower():
            # GoTrue mails a link to confirm the new address; the stand-in cannot yet.
            raise ApiError(422, "email_change_not_supported",
                           "Changing the email address is not supported by the local stand-in")
        if password is not None and user["encrypted_password"] and _password_matches(
                password, user["encrypted_password"]):
            raise ApiError(422, "same_password",
                           "New password should be different from the old password.")
        if data is not None:
            changes["raw_user_meta_data"] = _merge_metadata(user["raw_user_meta_data"], data)
        if changes:
            updated = db.update_user(conn=conn, user_id=user["id"], changes=changes)
            if updated is None:   # deleted meanwhile
                raise ApiError(403, "user_not_found", "User from sub claim in JWT does not exist")
            user = updated
        if password is not None:
            # As GoTrue: a new password ends every other session of the user.
            db.delete_sessions(conn=conn, user_id=user["id"], session_id=session["id"],
                               scope="others")
    return jsonify(user_json(user))


# One-time codes by e-mail (sign-up confirmation, password recovery) -----------------------

def _token_hash(email: str, otp: str) -> str:
    # GoTrue's crypto.GenerateTokenHash: only this is stored, never the code.
    return hashlib.sha224((email + otp).encode()).hexdigest()


def _send_code(conn: db.Conn, user: dict[str, Any], kind: str) -> None:
    """Draw a code, store its hash and when it was sent, and 'mail' it: at most one mail
    per minute and kind, as GoTrue's SMTP max frequency allows."""
    sent_at = user[f"{kind}_sent_at"]
    if sent_at is not None and datetime.now(UTC) - sent_at < MAIL_INTERVAL:
        raise ApiError(429, "over_email_send_rate_limit",
                       "For security purposes, you can only request this once every 60 seconds")
    otp = "".join(secrets.choice("0123456789") for _ in range(OTP_LENGTH))
    db.update_user(conn=conn, user_id=user["id"], changes={
        f"{kind}_token": _token_hash(user["email"], otp), f"{kind}_sent_at": datetime.now(UTC)})
    mail = {"to": user["email"], "type": kind, "code": otp,
            "sent_at": datetime.now(UTC).isoformat()}
    path = _settings().auth_mail_file
    if path:
        with open(path, "a", encoding="utf-8") as outbox:
            outbox.write(json.dumps(mail) + "\n")
    current_app.logger.warning("mail to %s: %s code (the local stand-in sends no e-mail%s)",
                               user["email"], kind, f"; see {path}" if path else "")


def _email_user(conn: db.Conn, body: dict[str, Any], missing: str) -> dict[str, Any] | None:
    email = body.get("email")
    if not email:
        raise ApiError(400, "validation_failed", missing)
    user = db.find_user_by_email(conn=conn, email=_valid_email(email))
    return None if user is None or user["deleted_at"] is not None else user


@bp.post("/recover")
def recover() -> Response:
    """supabase-js resetPasswordForEmail: mail a recovery code. The same empty answer
    whether or not the address has an account."""
    body = _json_body()
    with _pool().connection() as conn:
        user = _email_user(conn, body, "Password recovery requires an email")
        if user is not None:
            _send_code(conn, user, "recovery")
    return jsonify({})


@bp.post("/resend")
def resend() -> Response:
    """supabase-js resend: the sign-up confirmation code again (nothing for a confirmed
    or unknown address, the same empty answer)."""
    body = _json_body()
    kind = body.get("type")
    if kind not in RESEND_TYPES:
        raise ApiError(400, "validation_failed",
                       "Missing one of these types: signup, email_change, sms, phone_change")
    if kind in ("sms", "phone_change") or body.get("phone"):
        raise ApiError(422, "phone_provider_disabled", "Phone logins are disabled")
    with _pool().connection() as conn:
        user = _email_user(conn, body, "Type provided requires an email address")
        # The stand-in keeps no pending e-mail change, so email_change has nothing to resend.
        if user is not None and kind == "signup" and user["email_confirmed_at"] is None:
            _send_code(conn, user, "confirmation")
    return jsonify({})


@bp.post("/verify")
def verify() -> Response:
    """supabase-js verifyOtp with an e-mail and a code: `recovery` signs the user in (to
    set a new password with updateUser), `signup`/`email` confirm the address too."""
    body = _json_body()
    kind, token = body.get("type"), body.get("token")
    column = {"recovery": "recovery", "signup": "confirmation", "email": "confirmation"}.get(
        kind) if isinstance(kind, str) else None
    if column is None:
        raise ApiError(400, "validation_failed", "Verify requires a verification type")
    if not isinstance(token, str) or not token:
        raise ApiError(400, "validation_failed", "Verify requires a token or a token hash")
    expired = ApiError(403, "otp_expired", "Token has expired or is invalid")
    with _pool().connection() as conn:
        user = _email_user(conn, body, "Only an email address or phone number should be "
                                       "provided on verify")
        if user is None or user[f"{column}_token"] is None:
            raise expired
        sent_at = user[f"{column}_sent_at"]
        if not secrets.compare_digest(user[f"{column}_token"],
                                      _token_hash(user["email"], token.strip())) or (
                sent_at is None or datetime.now(UTC) - sent_at > OTP_EXPIRY):
            raise expired
        if _is_banned(user):
            raise ApiError(403, "user_banned", "User is banned")
        changes: dict[str, Any] = {f"{column}_token": None}
        if user["email_confirmed_at"] is None:
            changes["email_confirmed_at"] = datetime.now(UTC)
        db.update_user(conn=conn, user_id=user["id"], changes=changes)
        return jsonify(_start_session(conn, user["id"]))


# Admin ------------------------------------------------------------------------------------

def _admin_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Admit only a bearer token with an admin role: the service_role key, not the anon key."""
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        settings, token = _settings(), _bearer_token()
        role = keys.hs256_role(token, secret=settings.supabase_jwt_secret.get_secret_value())
        if role is None:
            try:
                role = keys.verify_access_token(token, key=settings.signing_key,
                                                issuer=settings.issuer).get("role")
            except jwt.PyJWTError as error:
                raise ApiError(
                    403, "bad_jwt",
                    f"invalid JWT: unable to parse or verify signature, {error}") from None
        if role not in ADMIN_ROLES:
            raise ApiError(403, "not_admin", "User not allowed")
        return view(*args, **kwargs)
    return wrapper


@bp.get("/admin/users")
@_admin_only
def admin_list_users() -> Response:
    """A page of users, newest first (page, per_page; X-Total-Count has the total); `filter`
    keeps those whose e-mail contains it, as GoTrue does."""
    page, per_page = _int_arg("page", 1), min(_int_arg("per_page", 50), MAX_PER_PAGE)
    with _pool().connection() as conn:
        users, total = db.list_users(conn=conn, limit=per_page, offset=(page - 1) * per_page,
                                     contains=request.args.get("filter") or None)
    response = jsonify(users=[user_json(u) for u in users], aud=keys.USER_AUDIENCE)
    response.headers["X-Total-Count"] = str(total)
    return response


@bp.post("/admin/users")
@_admin_only
def admin_create_user() -> Response:
    """Create a user, confirmed only if email_confirm / phone_confirm say so."""
    body = _json_body()
    email, phone = _optional(body, "email", str), _optional(body, "phone", str)
    if not email and not phone:
        raise ApiError(400, "validation_failed",
                       "Cannot create a user without either an email or phone")
    email = _valid_email(email) if email else None
    password, password_hash = body.get("password"), _optional(body, "password_hash", str)
    if password is not None and password_hash:
        raise ApiError(400, "validation_failed",
                       "Only a password or a password hash should be provided")
    if password_hash:
        if not password_hash.startswith(("$2a$", "$2b$", "$2y$")):
            raise ApiError(400, "validation_failed", "Only bcrypt password hashes are supported")
        encrypted = password_hash
    else:
        encrypted = _hash_new_password(password) if password is not None else ""
    user_id = _uuid(body["id"]) if body.get("id") else uuid.uuid4()
    if user_id is None:
        raise ApiError(400, "validation_failed", "id must be a UUID")
    ban = body.get("ban_duration")
    app_metadata = _optional(body, "app_metadata", dict) or {}
    defaults = _app_metadata({"email": email, "phone": phone, "raw_app_meta_data": None})
    try:
        with _pool().connection() as conn:
            user = db.create_user(
                conn=conn, user_id=user_id, email=email, phone=phone or None,
                encrypted_password=encrypted,
                email_confirmed=bool(email and _optional(body, "email_confirm", bool)),
                phone_confirmed=bool(phone and _optional(body, "phone_confirm", bool)),
                role=_optional(body, "role", str) or "authenticated",
                app_metadata=_merge_metadata(defaults, app_metadata),
                user_metadata=_optional(body, "user_metadata", dict) or {},
                banned_until=_ban_until(ban) if ban else None)
    except psycopg.errors.UniqueViolation as error:
        raise _unique_violation(error) from None
    return jsonify(user_json(user))


def _admin_user_id(user_id: str) -> uuid.UUID:
    parsed = _uuid(user_id)
    if parsed is None:
        raise ApiError(404, "validation_failed", "user_id must be an UUID")
    return parsed


@bp.get("/admin/users/<user_id>")
@_admin_only
def admin_get_user(user_id: str) -> Response:
    """One user by id."""
    with _pool().connection() as conn:
        user = db.find_user_by_id(conn=conn, user_id=_admin_user_id(user_id))
    if user is None:
        raise ApiError(404, "user_not_found", "User not found")
    return jsonify(user_json(user))


@bp.put("/admin/users/<user_id>")
@_admin_only
def admin_update_user(user_id: str) -> Response:
    """Change a user's email, phone, password, confirmation, role, metadata or ban."""
    uid, body = _admin_user_id(user_id), _json_body()
    changes: dict[str, Any] = {}
    if body.get("email"):
        changes["email"] = _valid_email(body["email"])
    if body.get("phone"):
        changes["phone"] = _optional(body, "phone", str)
    if body.get("password") is not None:
        changes["encrypted_password"] = _hash_new_password(body["password"])
    if _optional(body, "email_confirm", bool):
        changes["email_confirmed_at"] = datetime.now(UTC)
    if _optional(body, "phone_confirm", bool):
        changes["phone_confirmed_at"] = datetime.now(UTC)
    if body.get("role"):
        changes["role"] = _optional(body, "role", str)
    if body.get("ban_duration"):
        changes["banned_until"] = _ban_until(body["ban_duration"])
    try:
        with _pool().connection() as conn:
            user = db.find_user_by_id(conn=conn, user_id=uid)
            if user is None:
                raise ApiError(404, "user_not_found", "User not found")
            for column, name in (("raw_user_meta_data", "user_metadata"),
                                 ("raw_app_meta_data", "app_metadata")):
                update = _optional(body, name, dict)
                if update is not None:
                    changes[column] = _merge_metadata(user[column], update)
            if changes:
                user = db.update_user(conn=conn, user_id=uid, changes=changes)
                if user is None:   # deleted meanwhile
                    raise ApiError(404, "user_not_found", "User not found")
    except psycopg.errors.UniqueViolation as error:
        raise _unique_violation(error) from None
    return jsonify(user_json(user))


@bp.delete("/admin/users/<user_id>")
@_admin_only
def admin_delete_user(user_id: str) -> Response:
    """Delete a user, or with should_soft_delete mark them deleted and strip their credentials."""
    uid = _admin_user_id(user_id)
    body = request.get_json(force=True, silent=True) or {}
    soft = isinstance(body, dict) and body.get("should_soft_delete") is True
    with _pool().connection() as conn:
        if db.find_user_by_id(conn=conn, user_id=uid) is None:
            raise ApiError(404, "user_not_found", "User not found")
        if soft:
            db.soft_delete_user(conn=conn, user_id=uid)
        else:
            db.delete_user(conn=conn, user_id=uid)
    return jsonify({})

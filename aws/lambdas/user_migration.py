"""Cognito UserMigration trigger of `tour-operators-pool`: an operator who signs in to
Cognito for the first time with their Supabase e-mail and password is created in the pool
with that same password, so nobody resets a password when logins move (design note, phase 5).

Cognito calls `handler` when a user it does not know signs in (UserMigration_Authentication)
or asks for a password reset (UserMigration_ForgotPassword). We answer as AWS documents
(https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-migrate-user.html):
fill `event["response"]` and return the event to create the user, raise to refuse. A refusal
creates nothing; Cognito then tells the caller the user or password is wrong.

The password is checked by Supabase Auth itself, over its HTTP API (a password grant), not by
reading bcrypt hashes from its database: the same call works against a hosted project, needs
only the anon key, and honours everything Supabase decides at sign-in (bans, deleted users,
unconfirmed e-mails). The session that check opens is signed out again at once.

Standard library only, so the Lambda zip (`make lambda-zip`) is this one file. operator-service
imports the same module for its login endpoint, because moto runs no trigger (see
operator_service/logins.py): one implementation on both paths.

Environment: SUPABASE_URL, SUPABASE_ANON_KEY, SUPABASE_SERVICE_ROLE_KEY (the last only for
ForgotPassword, which must look a user up without their password).
"""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

AUTHENTICATION = "UserMigration_Authentication"
FORGOT_PASSWORD = "UserMigration_ForgotPassword"
# The pool attribute that names the operator's id: the Supabase user id their rows are owned
# by. Set only here and by `python -m migrate import-logins`; the app client cannot write it.
OPERATOR_ID_ATTRIBUTE = "custom:operator_id"
TIMEOUT_SECONDS = 4.0   # Cognito gives a trigger 5 s in all


class Refused(Exception):
    """The old system does not vouch for this user: Cognito must not create them."""


class Unavailable(Exception):
    """Supabase Auth could not be asked; the sign-in fails and may be retried."""


class Throttled(Unavailable):
    """Supabase Auth refused to be asked now: its rate limit for the caller's address (429,
    `over_request_rate_limit`). Not an outage: retry after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class SupabaseUser:
    """What the pool needs of a Supabase Auth user."""

    id: str
    email: str
    # Whether the user confirmed their e-mail with Supabase Auth: only a confirmed address
    # is proven to be theirs, so only a confirmed user is created verified in the pool.
    confirmed: bool = True


class SupabaseAuth(Protocol):
    """The two questions the trigger asks Supabase Auth."""

    def check_password(self, *, email: str, password: str) -> SupabaseUser:
        """The user whose password this is, or Refused."""

    def find_user(self, *, email: str) -> SupabaseUser | None:
        """The active user with this e-mail (confirmed or not: `confirmed` says), or None."""


class SupabaseAuthHttp:
    """Supabase Auth (GoTrue) over HTTP: the password grant, the admin users list, and (for
    operator-service's password change, not the trigger) the admin password update."""

    def __init__(self, *, url: str, anon_key: str, service_role_key: str | None = None,
                 timeout: float = TIMEOUT_SECONDS):
        self._base = url.rstrip("/") + "/auth/v1"
        self._anon_key = anon_key
        self._service_key = service_role_key
        self._timeout = timeout

    @classmethod
    def from_environment(cls) -> SupabaseAuthHttp:
        """Configured as the Lambda is: from its environment variables."""
        return cls(url=os.environ["SUPABASE_URL"], anon_key=os.environ["SUPABASE_ANON_KEY"],
                   service_role_key=os.environ.get("SUPABASE_SERVICE_ROLE_KEY"))

    def _call(self, method: str, path: str, *, key: str, token: str | None = None,
              body: dict | None = None) -> tuple[int, Any]:
        status, answer, _ = self._call_with_headers(method, path, key=key, token=token,
                                                    body=body)
        return status, answer

    def _call_with_headers(self, method: str, path: str, *, key: str, token: str | None = None,
                           body: dict | None = None) -> tuple[int, Any, Any]:
        request = urllib.request.Request(
            self._base + path, method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"apikey": key, "Authorization": f"Bearer {token or key}",
                     "Content-Type": "application/json", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None, response.headers
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                return error.code, json.loads(raw) if raw else None, error.headers
            except ValueError:
                return error.code, None, error.headers
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise Unavailable(f"Supabase Auth unreachable: {error}") from None

    def check_password(self, *, email: str, password: str) -> SupabaseUser:
        status, answer, headers = self._call_with_headers(
            "POST", "/token?grant_type=password", key=self._anon_key,
            body={"email": email, "password": password})
        if status == 200 and isinstance(answer, dict):
            user = answer.get("user") or {}
            # The check opened a Supabase session nobody will use: end it (best effort).
            self._call("POST", "/logout?scope=local", key=self._anon_key,
                       token=answer.get("access_token"))
            return SupabaseUser(id=str(user["id"]), email=str(user.get("email") or email))
        if status in (400, 401, 403, 422):
            # Wrong password, unknown, deleted, banned or unconfirmed user: all a refusal.
            code = (answer or {}).get("error_code") or (answer or {}).get("error") or status
            raise Refused(f"Supabase Auth refused the sign-in ({code})")
        if status == 429:
            raise Throttled("Supabase Auth's rate limit for password sign-ins from this "
                            "address is reached", retry_after=_retry_after(headers))
        raise Unavailable(f"Supabase Auth answered {status}")

    def find_user(self, *, email: str) -> SupabaseUser | None:
        if not self._service_key:
            raise Unavailable("SUPABASE_SERVICE_ROLE_KEY is not set")
        wanted = email.strip().lower()
        status, answer = self._call(
            "GET", "/admin/users?" + urllib.parse.urlencode({"filter": wanted, "per_page": 50}),
            key=self._service_key)
        if status != 200 or not isinstance(answer, dict):
            raise Unavailable(f"Supabase Auth admin API answered {status}")
        for user in answer.get("users", []):
            if (user.get("email") or "").lower() == wanted and is_active(user):
                return SupabaseUser(id=str(user["id"]), email=str(user["email"]),
                                    confirmed=bool(user.get("email_confirmed_at")))
        return None


    def set_password(self, *, user_id: str, password: str) -> None:
        """Set a user's password (PUT /admin/users/{id}); Unavailable if it did not happen."""
        if not self._service_key:
            raise Unavailable("SUPABASE_SERVICE_ROLE_KEY is not set")
        status, _ = self._call("PUT", f"/admin/users/{urllib.parse.quote(user_id)}",
                               key=self._service_key, body={"password": password})
        if status != 200:
            raise Unavailable(f"Supabase Auth admin API answered {status}")

    def sign_in(self, *, email: str, password: str) -> dict:
        """A new session (GoTrue's session JSON: access_token, refresh_token, expires_in, ...)
        for an e-mail and password; Refused if Supabase Auth does not accept them."""
        status, answer = self._call("POST", "/token?grant_type=password", key=self._anon_key,
                                    body={"email": email, "password": password})
        if status == 200 and isinstance(answer, dict):
            return answer
        if status in (400, 401, 403, 422):
            raise Refused(f"Supabase Auth refused the sign-in ({status})")
        raise Unavailable(f"Supabase Auth answered {status}")

    def sign_out(self, *, access_token: str, scope: str) -> None:
        """End sessions of the token's user (POST /logout): `local` (this one), `others`
        (every one but this), `global` (all); Unavailable if it did not happen."""
        status, _ = self._call("POST", f"/logout?scope={scope}", key=self._anon_key,
                               token=access_token)
        if status not in (200, 204):
            raise Unavailable(f"Supabase Auth logout answered {status}")

    def users(self, *, per_page: int = 1000):
        """Every user, page by page (for `python -m migrate import-logins`)."""
        if not self._service_key:
            raise Unavailable("SUPABASE_SERVICE_ROLE_KEY is not set")
        page = 1
        while True:
            status, answer = self._call(
                "GET", f"/admin/users?page={page}&per_page={per_page}", key=self._service_key)
            if status != 200 or not isinstance(answer, dict):
                raise Unavailable(f"Supabase Auth admin API answered {status}")
            users = answer.get("users", [])
            if not users:
                return
            yield from users
            page += 1


# GoTrue's rate limits count per 5-minute window; without a Retry-After, wait a window out.
DEFAULT_RETRY_AFTER_SECONDS = 300


def _retry_after(headers: Any) -> int:
    try:
        return max(1, int((headers or {}).get("Retry-After")))
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_SECONDS


def is_active(user: dict) -> bool:
    """A Supabase Auth user (admin API JSON) who may sign in: not deleted, not banned now."""
    if user.get("deleted_at"):
        return False
    banned_until = user.get("banned_until")
    if not banned_until:
        return True
    until = datetime.fromisoformat(str(banned_until).replace("Z", "+00:00"))
    return until <= datetime.now(UTC)


def user_attributes(user: SupabaseUser) -> dict[str, str]:
    """The pool attributes of a migrated operator (Cognito wants strings)."""
    return {"email": user.email, "email_verified": "true", OPERATOR_ID_ATTRIBUTE: user.id}


def migrate_user(event: dict, *, supabase: SupabaseAuth) -> dict:
    """Fill `event["response"]` for a UserMigration event, or raise Refused / Unavailable."""
    source = event.get("triggerSource")
    email = str(event.get("userName") or "").strip()
    request = event.get("request") or {}
    if not email:
        raise Refused("no user name")
    if source == AUTHENTICATION:
        password = request.get("password")
        if not isinstance(password, str) or not password:
            raise Refused("no password")
        user = supabase.check_password(email=email, password=password)
        event["response"] = {
            "userAttributes": user_attributes(user),
            # The password just checked becomes the Cognito password: no reset.
            "finalUserStatus": "CONFIRMED",
            "messageAction": "SUPPRESS",
        }
        return event
    if source == FORGOT_PASSWORD:
        found = supabase.find_user(email=email)
        if found is None:
            raise Refused("no such operator")
        if not found.confirmed:
            # Anyone can sign up any address to Supabase Auth with the anon key; until its
            # owner confirms it, the address is not shown to be theirs, and the pool would
            # create it verified (email_verified) for whoever asked for a code.
            raise Refused("the operator has not confirmed their e-mail with Supabase Auth")
        # No password to carry over: Cognito sends a code and the operator sets a new one.
        event["response"] = {"userAttributes": user_attributes(found),
                             "messageAction": "SUPPRESS"}
        return event
    raise Refused(f"not a UserMigration trigger: {source!r}")


def handler(event: dict, context: Any = None) -> dict:
    """The Lambda entry point (configured as `user_migration.handler`)."""
    return migrate_user(event, supabase=SupabaseAuthHttp.from_environment())

"""Token revocation: is the session behind a verified token still live? Asked of its issuer.

A signature proves who issued a token, not that it still stands: a signed-out session, a
banned, disabled or deleted user keep a valid signature until the token expires (about an
hour). So after verification every service and gateway-auth ask the issuer, with the token
itself, whether its session and user still exist (`travel_platform.web.authenticate`):

    Cognito (both pools)  GetUser(AccessToken): NotAuthorizedException once the token is
                          globally signed out or revoked (AdminDisableUser revokes too),
                          UserNotFoundException once the user is deleted
    Supabase Auth         GET /auth/v1/user: 403 session_not_found once the session is
                          signed out, user_not_found once the user is deleted; a banned
                          user is answered with a `banned_until` in the future

An answer, live or refused, is reused for `fresh_seconds`, keyed by a SHA-256 of the token
(never the token). So a revocation reaches every process within `fresh_seconds`; gateway-auth
reuses its verdict no longer than the answer it was made from stays fresh (`check` returns
how long), so the gateway adds nothing to that bound.

When an issuer cannot be asked (timeout, 5xx, throttling, its circuit breaker open), the last
answer for that token is used until it is `fresh_seconds + stale_seconds` old, then the
request gets 503 `auth_unavailable`: never is a token accepted on an answer older than that
sum, which settings hold to REVOCATION_BOUND_SECONDS. A token never seen before gets 503 at
once (fail closed): accepting it would trust a signature the issuer may have disowned.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import pybreaker
import requests
from botocore.exceptions import BotoCoreError, ClientError
from cachetools import TTLCache

from travel_platform.errors import ServiceUnavailable, Unauthorized
from travel_platform.metrics import count_refused_token, observe_downstream
from travel_platform.settings import REVOCATION_BOUND_SECONDS

log = logging.getLogger(__name__)

MAX_REMEMBERED_TOKENS = 100_000
# While an issuer fails, one token's check is retried at most this often (per process), so an
# outage costs each request a cached answer, not a timeout.
RETRY_SECONDS = 1.0


class IssuerUnreachable(Exception):
    """The issuer could not say whether the token still stands."""


@dataclass(frozen=True)
class Refusal:
    """Why the issuer no longer accepts a token: an Unauthorized's code and message."""

    code: str
    message: str

    def error(self) -> Unauthorized:
        """The 401 the caller gets."""
        return Unauthorized(self.message, code=self.code)


SIGNED_OUT = Refusal("token_revoked", "this sign-in has ended (signed out or revoked): "
                                      "sign in again")
DISABLED = Refusal("account_disabled", "this account is disabled")
DELETED = Refusal("account_deleted", "this account no longer exists")
# The issuer judges expiry by its own clock, with no allowance for skew: a token it refuses
# once its `exp` has passed is expired, not signed out.
EXPIRED = Refusal("token_expired", "the token has expired")


class IssuerCheck(Protocol):
    """Asks one issuer about one token: None if it stands, a Refusal if it does not;
    IssuerUnreachable if the issuer could not answer."""

    name: str

    def __call__(self, token: str) -> Refusal | None: ...


class CognitoCheck:
    """GetUser with the access token: Cognito itself checks sign-out, revocation, disabled
    and deleted users. GetUser is authorized by the token alone (no IAM credentials)."""

    name = "cognito-idp"

    def __init__(self, client):
        self._client = client

    def __call__(self, token: str) -> Refusal | None:
        try:
            self._client.get_user(AccessToken=token)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "UserNotFoundException":
                return DELETED
            # Signed out, revoked, disabled ("User is disabled."), or a user that must reset
            # their password or confirm first: that token no longer opens the account.
            if code in ("NotAuthorizedException", "PasswordResetRequiredException",
                        "UserNotConfirmedException"):
                return SIGNED_OUT
            raise IssuerUnreachable(f"Cognito GetUser: {code}") from exc
        except BotoCoreError as exc:
            raise IssuerUnreachable(f"Cognito GetUser: {exc}") from exc
        return None


class SupabaseCheck:
    """GET /auth/v1/user with the token (and the project's public anon key, which Supabase's
    API gateway asks of every call): GoTrue loads the token's user and session."""

    name = "supabase-auth"

    def __init__(self, *, url: str, anon_key: str, timeout: tuple[float, float]):
        self._url = url.rstrip("/") + "/auth/v1/user"
        self._anon_key = anon_key
        self._timeout = timeout
        self._session = requests.Session()

    def __call__(self, token: str) -> Refusal | None:
        try:
            response = self._session.get(self._url, timeout=self._timeout, headers={
                "apikey": self._anon_key, "Authorization": f"Bearer {token}"})
        except requests.RequestException as exc:
            raise IssuerUnreachable(f"Supabase Auth: {exc}") from exc
        if response.status_code == 200:
            return _supabase_user_refusal(_json(response))
        if response.status_code in (401, 403, 404):
            body = _json(response)
            code = body.get("error_code") or body.get("code")
            return DELETED if code == "user_not_found" else SIGNED_OUT
        raise IssuerUnreachable(f"Supabase Auth answered {response.status_code}")


# The RevocationCheck source under which a Supabase Auth account (not a token) is asked about.
SUPABASE_ACCOUNT = "supabase-account"


def account_key(operator_id: str) -> str:
    """What RevocationCheck is given for an account: answers are kept by a digest of it, apart
    from any token's."""
    return f"{SUPABASE_ACCOUNT}:{operator_id}"


class SupabaseAccountCheck:
    """GET /auth/v1/admin/users/{id} with the service role key: is the Supabase Auth user an
    operators'-pool token stands for still there, and not banned? Asked only while operators'
    logins move (the window), when Supabase Auth is still the authority over the account: a
    ban or a deletion there must end the operator's pool sessions as it ends their Supabase
    ones. The admin API is what a hosted project offers for this (GoTrue's /user needs the
    user's own Supabase token, which a pool session does not have). Given `account_key(id)`."""

    name = "supabase-auth-admin"

    def __init__(self, *, url: str, service_role_key: str, timeout: tuple[float, float]):
        self._url = url.rstrip("/") + "/auth/v1/admin/users/"
        self._key = service_role_key
        self._timeout = timeout
        self._session = requests.Session()

    def __call__(self, token: str) -> Refusal | None:
        operator_id = token.removeprefix(f"{SUPABASE_ACCOUNT}:")
        try:
            response = self._session.get(self._url + operator_id, timeout=self._timeout,
                                         headers={"apikey": self._key,
                                                  "Authorization": f"Bearer {self._key}"})
        except requests.RequestException as exc:
            raise IssuerUnreachable(f"Supabase Auth admin: {exc}") from exc
        if response.status_code == 200:
            return _supabase_user_refusal(_json(response))
        if response.status_code == 404:
            return DELETED
        raise IssuerUnreachable(f"Supabase Auth admin answered {response.status_code}")


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _supabase_user_refusal(user: dict) -> Refusal | None:
    """A Refusal if GoTrue's user is deleted or banned now."""
    if user.get("deleted_at"):
        return DELETED
    banned_until = user.get("banned_until")
    if isinstance(banned_until, str) and banned_until:
        try:
            until = datetime.fromisoformat(banned_until.replace("Z", "+00:00"))
        except ValueError:
            return DISABLED        # an unreadable ban is a ban
        if until.tzinfo is None:
            until = until.replace(tzinfo=UTC)
        if until > datetime.now(UTC):
            return DISABLED
    return None


@dataclass
class _Answer:
    asked_at: float                # when the issuer last answered about this token
    refusal: Refusal | None
    failed_at: float | None = None  # when asking again last failed


def token_key(token: str) -> bytes:
    """What a token's answer is kept under: a digest, so no usable token sits in memory
    as a key."""
    return hashlib.sha256(token.encode()).digest()


class RevocationCheck:
    """Per process: each issuer's answer about each token, reused for `fresh_seconds`, the
    last one served for `stale_seconds` more while the issuer cannot answer."""

    def __init__(self, checks: Mapping[str, IssuerCheck], *, fresh_seconds: float,
                 stale_seconds: float, maxsize: int = MAX_REMEMBERED_TOKENS,
                 breaker_failures: int = 5, breaker_reset_seconds: float = 10.0,
                 clock: Callable[[], float] = time.monotonic):
        if fresh_seconds <= 0 or stale_seconds < 0:
            raise ValueError("fresh_seconds must be > 0 and stale_seconds >= 0")
        if fresh_seconds + stale_seconds > REVOCATION_BOUND_SECONDS:
            raise ValueError(f"fresh_seconds + stale_seconds must be at most "
                             f"{REVOCATION_BOUND_SECONDS}")
        self._checks = dict(checks)
        self.fresh_seconds = fresh_seconds
        self.stale_seconds = stale_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._answers: TTLCache = TTLCache(maxsize=maxsize, ttl=fresh_seconds + stale_seconds,
                                           timer=clock)
        # One breaker per issuer: when it keeps failing, stop waiting on it for a while.
        self._breakers = {source: pybreaker.CircuitBreaker(
            fail_max=breaker_failures, reset_timeout=breaker_reset_seconds,
            name=f"revocation-{check.name}") for source, check in self._checks.items()}

    def check(self, token: str, source: str, *, expires_at: float) -> float:
        """Raise 401 if the issuer of `source` says the token's session or user is gone, 503
        if it cannot say and no answer recent enough is known; else return for how many more
        seconds the answer may be reused without asking (0 if it is already stale).
        `expires_at` is the verified token's `exp`."""
        if source not in self._checks:
            raise ValueError(f"no revocation check for {source!r}")
        key, now = token_key(token), self._clock()
        with self._lock:
            answer = self._answers.get(key)
        if answer is not None and now - answer.asked_at < self.fresh_seconds:
            return self._verdict(answer, now)
        if (answer is not None and answer.failed_at is not None
                and now - answer.failed_at < RETRY_SECONDS):
            return self._verdict(answer, now)          # stale, within the bound (TTL)
        try:
            refusal = self._ask(source, token)
        except IssuerUnreachable as exc:
            return self._unreachable(key, answer, now, source, exc)
        if refusal is SIGNED_OUT and expires_at <= time.time():
            refusal = EXPIRED
        answer = _Answer(asked_at=now, refusal=refusal)
        with self._lock:
            self._answers[key] = answer
        return self._verdict(answer, now)

    def _ask(self, source: str, token: str) -> Refusal | None:
        check, started = self._checks[source], time.perf_counter()
        try:
            refusal = self._breakers[source].call(check, token)
        except pybreaker.CircuitBreakerError as exc:
            observe_downstream(check.name, "breaker_open", time.perf_counter() - started)
            raise IssuerUnreachable(f"{check.name}: circuit open") from exc
        except IssuerUnreachable:
            observe_downstream(check.name, "failed", time.perf_counter() - started)
            raise
        observe_downstream(check.name, "ok" if refusal is None else "client_error",
                           time.perf_counter() - started)
        return refusal

    def _unreachable(self, key: bytes, answer: _Answer | None, now: float, source: str,
                     exc: IssuerUnreachable) -> float:
        # The TTL drops an answer once fresh + stale seconds old: if it is still here, it
        # may be served.
        if answer is None:
            log.warning("cannot ask %s about a token, none known: %s",
                        self._checks[source].name, exc)
            raise ServiceUnavailable("cannot check the sign-in with its issuer now, try again "
                                     "shortly", code="auth_unavailable") from exc
        log.warning("cannot ask %s about a token, using its answer from %.1f s ago: %s",
                    self._checks[source].name, now - answer.asked_at, exc)
        with self._lock:
            answer.failed_at = now
        return self._verdict(answer, now)

    def _verdict(self, answer: _Answer, now: float) -> float:
        if answer.refusal is not None:
            count_refused_token(answer.refusal.code)
            raise answer.refusal.error()
        return max(0.0, self.fresh_seconds - (now - answer.asked_at))

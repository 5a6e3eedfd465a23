"""Operators' sign-in while their logins move from Supabase Auth to the operators' Cognito
pool, `tour-operators-pool` (docs/operator-logins.md): login, refresh and logout, and the
checks passwords.py shares (a password change and a forgotten password's reset).

Lazy migration, no reset. On real AWS, Cognito calls the UserMigration trigger
(aws/lambdas/user_migration.py) when an operator it does not know signs in, and creates them
with the password Supabase Auth just accepted. moto runs no trigger, so when Cognito does not
know the operator, the login here calls the same module with the same event and creates the
user itself (AdminCreateUser + AdminSetUserPassword). With the trigger deployed that branch
is simply never taken; everything else is the same code on both.

Until `finalize operators`, Supabase Auth stays the authority over the account: every
sign-in the pool accepts is checked by Supabase Auth too (a password changed there, a ban or
a deletion refuses it, whatever the Cognito copy says); when Cognito refuses a password that
Supabase accepts (changed there since, or a user imported with a forced reset), the Cognito
copy is brought up to date and the login goes on. After finalize, Cognito alone decides.

Supabase Auth limits password sign-ins per client address (30 per 5 minutes), and every
check made here comes from this service's one address: that budget is shared by every
operator's first sign-in and password change. So nobody reaches it anonymously: each
attempt is first counted per account and address (shared/travel_platform/rate_limits.py), and an
e-mail that is no confirmed, active Supabase user is refused without asking for a password
check at all (in the time such a check takes, so the answer tells nothing). Supabase's own
429 is passed on as a 429 with its Retry-After, not as an outage.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import user_migration
from psycopg_pool import ConnectionPool

from operator_service import repository
from travel_platform.auth import Identity
from travel_platform.auth.operator_logins import OperatorLogins, refusal
from travel_platform.auth.tokens import SOURCE_COGNITO_OPERATORS, SOURCE_SUPABASE
from travel_platform.cognito import CognitoAccounts, UsernameTaken
from travel_platform.errors import (
    Conflict,
    Forbidden,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
)
from travel_platform.rate_limits import PasswordAttemptLimit, password_attempt

log = logging.getLogger(__name__)

# Cognito's refusals a password Supabase Auth still vouches for can overcome. (The pool
# makes no unconfirmed user itself: one is someone's sign-up, made before the pool was
# admin-create-only, and yields like any user linked to no operator.)
_RECOVERABLE = ("invalid_credentials", "password_reset_required", "account_not_confirmed")


class OperatorAccounts:
    """The operators' pool, Supabase Auth, and the links between their users (on RDS)."""

    def __init__(self, *, cognito: CognitoAccounts, supabase: user_migration.SupabaseAuthHttp,
                 rds: ConnectionPool, logins: OperatorLogins, attempts: PasswordAttemptLimit,
                 region: str, pool_id: str, client_id: str):
        self.cognito = cognito
        self.attempts = attempts
        self.supabase = supabase
        self.rds = rds
        self.logins = logins
        self.region = region
        self.pool_id = pool_id
        self.client_id = client_id


def open_issuers(accounts: OperatorAccounts) -> frozenset[str]:
    """The issuers open now; the operators' pool must be one of them to sign in here."""
    issuers = accounts.logins.issuers()
    if SOURCE_COGNITO_OPERATORS not in issuers:
        raise refusal(SOURCE_COGNITO_OPERATORS)
    return issuers


def log_in(*, accounts: OperatorAccounts, email: str, password: str, address: str) -> dict:
    """Cognito tokens for an operator's e-mail and password, moving the operator to the
    operators' pool on their first sign-in, with the password they have. `address`: the
    client's, which failed attempts are counted under (with the e-mail)."""
    issuers = open_issuers(accounts)
    with counted(accounts, "operator_login", email=email, address=address):
        try:
            tokens = accounts.cognito.login(email=email, password=password)
        except (Unauthorized, Forbidden) as refused:
            if refused.code not in _RECOVERABLE or SOURCE_SUPABASE not in issuers:
                raise
            # Supabase Auth checks the password itself there (one grant, as the trigger).
            tokens = _migrate(accounts, email=email, password=password)
        else:
            if SOURCE_SUPABASE in issuers:
                _supabase_vouches(accounts, email=email, password=password)
        _link(accounts, tokens["access_token"])
    return tokens


def counted(accounts: OperatorAccounts, flow: str, *, email: str, address: str):
    """Failed attempts at this e-mail's password from this address, and from all, counted
    in RDS before anything is asked of Cognito or Supabase Auth."""
    return password_attempt(pool=accounts.rds, table="account_attempts", flow=flow,
                            account=email, address=address, limit=accounts.attempts)


class _CheckTime:
    """How long Supabase Auth's password check takes here lately (a moving average, per
    worker): an e-mail that is nobody's is refused after about as long, so the time of the
    answer does not say which e-mails are operators'."""

    def __init__(self, initial: float = 0.1):
        self._seconds = initial
        self._lock = threading.Lock()

    def record(self, seconds: float) -> None:
        with self._lock:
            self._seconds = 0.8 * self._seconds + 0.2 * min(seconds, 2.0)

    def wait(self) -> None:
        with self._lock:
            seconds = self._seconds
        time.sleep(seconds * random.uniform(0.9, 1.1))


_CHECK_TIME = _CheckTime()


def _invalid_credentials() -> Unauthorized:
    return Unauthorized("invalid e-mail or password", code="invalid_credentials")


def _throttled(exc: user_migration.Throttled) -> TooManyRequests:
    return TooManyRequests("the sign-in service is busy: try again in "
                           f"{exc.retry_after} s", retry_after=exc.retry_after)


def _supabase_user(accounts: OperatorAccounts, email: str) -> user_migration.SupabaseUser:
    """The confirmed, active Supabase user with this e-mail, looked up (admin API, not
    rate-limited per address) before Supabase's password check is spent on it; an e-mail
    that is not one is refused as a wrong password would be, in about the time one takes."""
    with asking_supabase(refused=_invalid_credentials()):
        found = accounts.supabase.find_user(email=email)
    if found is None or not found.confirmed:
        _CHECK_TIME.wait()
        raise _invalid_credentials()
    return found


def check_supabase_password(accounts: OperatorAccounts, *, email: str, password: str) -> None:
    """Supabase Auth's password check (its grant), timed for _CheckTime."""
    started = time.monotonic()
    try:
        accounts.supabase.check_password(email=email, password=password)
    finally:
        _CHECK_TIME.record(time.monotonic() - started)


def _supabase_vouches(accounts: OperatorAccounts, *, email: str, password: str) -> None:
    """Until finalize Supabase Auth is the authority over the account: a password changed
    there since the move, a ban or a deletion must refuse the pool's sign-in too, though the
    pool's copy of the old password still matched (issue 21, finding 4); the pool's tokens
    are then not handed out. Asked only once the pool accepted the password (a guess the
    pool refuses spends no more of Supabase's shared budget than it did before), and looked
    up first, as every check of a password here is, so that no unknown e-mail spends it."""
    _supabase_user(accounts, email)
    with asking_supabase(refused=_invalid_credentials()):
        check_supabase_password(accounts, email=email, password=password)


@contextmanager
def asking_supabase(*, refused: Exception) -> Iterator[None]:
    """Supabase Auth's answers as this API's: a password it refuses is `refused`, its own
    rate limit a 429 with its Retry-After (never an outage), an outage a 503."""
    try:
        yield
    except user_migration.Refused:
        raise refused from None
    except user_migration.Throttled as exc:
        raise _throttled(exc) from None
    except user_migration.Unavailable as exc:
        raise ServiceUnavailable("the sign-in service is unreachable, try again") from exc


def _migrate(accounts: OperatorAccounts, *, email: str, password: str) -> dict:
    """What the UserMigration trigger does on AWS, done here: Supabase Auth checks the
    password, then the Cognito user gets it. Concurrent first sign-ins of one operator wait
    for each other (a lock on RDS per e-mail), so one Cognito user is made."""
    _supabase_user(accounts, email)
    event = user_migration_event(accounts, email=email, password=password)
    with one_at_a_time(accounts.rds, email):
        started = time.monotonic()
        try:
            with asking_supabase(refused=_invalid_credentials()):
                user_migration.migrate_user(event, supabase=accounts.supabase)
        finally:
            _CHECK_TIME.record(time.monotonic() - started)
        attributes = event["response"]["userAttributes"]
        found = accounts.cognito.find_user(email=email)
        if found is not None and _disposable(accounts, found):
            # Nobody's: no operator id, no link. Whoever made it (a sign-up the pool no
            # longer takes, an address changed unverified) does not hold the address that
            # Supabase Auth has just vouched is this operator's.
            accounts.cognito.delete_user(username=found["username"])
            found = None
        if found is None:
            try:
                accounts.cognito.create_user(email=email, attributes=attributes)
            except UsernameTaken:   # created meanwhile on another path: carry on with it
                found = accounts.cognito.find_user(email=email)
        operator_id = user_migration.OPERATOR_ID_ATTRIBUTE
        if found is not None and found["attributes"].get(operator_id) != attributes[operator_id]:
            raise Conflict("this e-mail belongs to another operator's new sign-in; ask support",
                           code="sign_in_conflict")
        accounts.cognito.set_password(username=found["username"] if found else email,
                                      password=password)
    return accounts.cognito.login(email=email, password=password)


def user_migration_event(accounts: OperatorAccounts, *, email: str, password: str) -> dict:
    """The UserMigration_Authentication event Cognito would send the trigger."""
    return {"version": "1", "triggerSource": user_migration.AUTHENTICATION,
            "region": accounts.region, "userPoolId": accounts.pool_id, "userName": email,
            "callerContext": {"awsSdkVersion": "operator-service",
                              "clientId": accounts.client_id},
            "request": {"password": password, "validationData": None,
                        "clientMetadata": None},
            "response": {"userAttributes": None, "finalUserStatus": None,
                         "messageAction": None, "desiredDeliveryMediums": None,
                         "forceAliasCreation": None, "enableSMSMFA": None}}


def _disposable(accounts: OperatorAccounts, user: dict) -> bool:
    """A pool user that belongs to no operator: no `custom:operator_id` and no link."""
    if user["attributes"].get(user_migration.OPERATOR_ID_ATTRIBUTE):
        return False
    with accounts.rds.connection() as conn:
        return not repository.is_linked(conn=conn, cognito_sub=user["attributes"]["sub"])


@contextmanager
def one_at_a_time(rds: ConnectionPool, email: str) -> Iterator[None]:
    with rds.connection() as conn, conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtextextended(lower(%s), 7201127))",
                     (email,))
        yield


def _link(accounts: OperatorAccounts, access_token: str) -> None:
    """Record which operator a Cognito user is, once: the operator id comes from the user's
    `custom:operator_id`, which only the trigger and the import set."""
    attributes = accounts.cognito.attributes(access_token=access_token)
    operator_id = attributes.get(user_migration.OPERATOR_ID_ATTRIBUTE)
    if not operator_id:
        raise Forbidden("this sign-in belongs to no tour operator", code="operator_not_linked")
    with accounts.rds.connection() as conn:
        linked = repository.link_sign_in(conn=conn, cognito_sub=attributes["sub"],
                                         operator_id=operator_id,
                                         email=attributes.get("email", ""), via="login")
    if linked != operator_id:
        raise Conflict("this sign-in is linked to another operator; ask support",
                       code="sign_in_conflict")


def refresh(*, accounts: OperatorAccounts, refresh_token: str) -> dict:
    """New tokens for a refresh token of the operators' pool."""
    open_issuers(accounts)
    return accounts.cognito.refresh(refresh_token=refresh_token)


def log_out(*, accounts: OperatorAccounts, identity: Identity, access_token: str) -> None:
    """Sign out of the operators' pool everywhere (GlobalSignOut)."""
    if identity.source != SOURCE_COGNITO_OPERATORS:
        raise Forbidden("sign out of Supabase Auth with supabase-js (auth.signOut)",
                        code="wrong_token_issuer")
    accounts.cognito.sign_out(access_token=access_token)

"""Operators' sign-in while their logins move from Supabase Auth to the operators' Cognito
pool, `tour-operators-pool` (docs/operator-logins.md): login, refresh, logout, a password
change that lands on both sides, and a forgotten password reset on the pool.

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
from travel_platform.accounts import CODE_REQUESTED
from travel_platform.auth import Identity
from travel_platform.auth.operator_logins import OperatorLogins, refusal
from travel_platform.auth.tokens import SOURCE_COGNITO_OPERATORS, SOURCE_SUPABASE
from travel_platform.cognito import CodeNotSent, CognitoAccounts, UsernameTaken
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


def _open(accounts: OperatorAccounts) -> frozenset[str]:
    """The issuers open now; the operators' pool must be one of them to sign in here."""
    issuers = accounts.logins.issuers()
    if SOURCE_COGNITO_OPERATORS not in issuers:
        raise refusal(SOURCE_COGNITO_OPERATORS)
    return issuers


def log_in(*, accounts: OperatorAccounts, email: str, password: str, address: str) -> dict:
    """Cognito tokens for an operator's e-mail and password, moving the operator to the
    operators' pool on their first sign-in, with the password they have. `address`: the
    client's, which failed attempts are counted under (with the e-mail)."""
    issuers = _open(accounts)
    with _counted(accounts, "operator_login", email=email, address=address):
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


def _counted(accounts: OperatorAccounts, flow: str, *, email: str, address: str):
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
    with _asking_supabase(refused=_invalid_credentials()):
        found = accounts.supabase.find_user(email=email)
    if found is None or not found.confirmed:
        _CHECK_TIME.wait()
        raise _invalid_credentials()
    return found


def _check_supabase_password(accounts: OperatorAccounts, *, email: str, password: str) -> None:
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
    with _asking_supabase(refused=_invalid_credentials()):
        _check_supabase_password(accounts, email=email, password=password)


@contextmanager
def _asking_supabase(*, refused: Exception) -> Iterator[None]:
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
    with _one_at_a_time(accounts.rds, email):
        started = time.monotonic()
        try:
            with _asking_supabase(refused=_invalid_credentials()):
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
def _one_at_a_time(rds: ConnectionPool, email: str) -> Iterator[None]:
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
    _open(accounts)
    return accounts.cognito.refresh(refresh_token=refresh_token)


def log_out(*, accounts: OperatorAccounts, identity: Identity, access_token: str) -> None:
    """Sign out of the operators' pool everywhere (GlobalSignOut)."""
    if identity.source != SOURCE_COGNITO_OPERATORS:
        raise Forbidden("sign out of Supabase Auth with supabase-js (auth.signOut)",
                        code="wrong_token_issuer")
    accounts.cognito.sign_out(access_token=access_token)


def change_password(*, accounts: OperatorAccounts, identity: Identity, current: str,
                    new: str, address: str) -> dict:
    """Change the operator's password wherever they can sign in with it: both sides while
    both are open, so a rollback to Supabase Auth costs nobody their password. Cognito first
    (the stricter policy refuses before anything changed); if Supabase then fails, Cognito
    gets the current password back. Then every session of the account ends, on both sides
    (a stolen refresh token must not outlive the password it was got with), and the caller
    gets fresh tokens of the issuer they came with."""
    issuers = accounts.logins.issuers()
    email = identity.email or ""
    # Counted per e-mail as the login is (an operator without one, by their id).
    with _counted(accounts, "operator_password", email=email or identity.subject,
                  address=address):
        _check_current(accounts, issuers, email=email, password=current)
    cognito_user = accounts.cognito.find_user(email=email)
    if cognito_user is not None:
        accounts.cognito.set_password(username=cognito_user["username"], password=new)
    if SOURCE_SUPABASE in issuers:
        try:
            accounts.supabase.set_password(user_id=identity.subject, password=new)
        except user_migration.Unavailable as exc:
            if cognito_user is not None:
                accounts.cognito.set_password(username=cognito_user["username"],
                                              password=current)
            raise ServiceUnavailable("Supabase Auth did not take the new password; nothing "
                                     "changed, try again") from exc
    return _sessions_after_password_change(accounts, identity, issuers=issuers,
                                           cognito_user=cognito_user, email=email, new=new)


def _sessions_after_password_change(accounts: OperatorAccounts, identity: Identity, *,
                                    issuers: frozenset[str], cognito_user: dict | None,
                                    email: str, new: str) -> dict:
    """End every session of the account on both sides; fresh tokens for the caller, of the
    issuer they came with."""
    mine = identity.source == SOURCE_SUPABASE
    session = _end_sessions(accounts, issuers=issuers, in_pool=cognito_user is not None,
                            email=email, new=new, keep_supabase_session=mine)
    if session is not None:
        return {"access_token": session["access_token"], "id_token": None,
                "refresh_token": session.get("refresh_token"),
                "expires_in": int(session.get("expires_in") or 3600), "token_type": "Bearer"}
    return accounts.cognito.login(email=email, password=new)


def _end_sessions(accounts: OperatorAccounts, *, issuers: frozenset[str], in_pool: bool,
                  email: str, new: str, keep_supabase_session: bool) -> dict | None:
    """End every session of the account on both sides, after its password changed to `new`
    (a stolen refresh token must not outlive the password it was got with).

    The pool: AdminUserGlobalSignOut (refresh tokens at once; Cognito refuses the access
    tokens, so every part does within the revocation bound). Supabase Auth has no admin
    sign-out by user: a new session with the new password ends the others (POST
    /logout?scope=others), and is returned if `keep_supabase_session`, else it ends too.
    After finalize Supabase tokens are refused anyway (`account_moved`)."""
    if in_pool:
        # By e-mail, the name operators sign in with: moto ends only the sessions opened
        # under the name given (AWS ends the user's, whichever name).
        accounts.cognito.sign_out_user(username=email)
    if SOURCE_SUPABASE not in issuers:
        return None
    try:
        session = accounts.supabase.sign_in(email=email, password=new)
        accounts.supabase.sign_out(access_token=session["access_token"],
                                   scope="others" if keep_supabase_session else "global")
    except (user_migration.Refused, user_migration.Unavailable) as exc:
        raise ServiceUnavailable("the password changed, but Supabase Auth's other sessions "
                                 "could not be ended: change it again") from exc
    return session if keep_supabase_session else None


def send_reset_code(*, accounts: OperatorAccounts, email: str) -> dict:
    """E-mail a code that sets a new password on the operators' pool (forgot-password). The
    same answer whether or not the address is an operator's.

    In the window an operator who never signed in has no pool user yet: on AWS, Cognito's
    ForgotPassword calls the UserMigration trigger, which makes one from the Supabase user
    (aws/lambdas/user_migration.py, `UserMigration_ForgotPassword`). moto runs no trigger, so
    the same module is called here first and the user made here, as the import does
    (CONFIRMED with a password nobody knows, then RESET_REQUIRED). With the trigger deployed
    the user exists by then and this branch is simply not taken."""
    issuers = _open(accounts)
    if SOURCE_SUPABASE in issuers and accounts.cognito.find_user(email=email) is None:
        _make_user_for_reset(accounts, email)
    try:
        accounts.cognito.forgot_password(email=email)
    except CodeNotSent:
        log.info("no reset code sent: no operator's sign-in that can receive one")
    return CODE_REQUESTED


class _NoSuchOperator(Exception):
    """Supabase Auth has no confirmed user with the e-mail a reset was asked for."""


def _make_user_for_reset(accounts: OperatorAccounts, email: str) -> None:
    """The pool user the UserMigration trigger would make for a reset, if Supabase Auth has a
    confirmed user with this e-mail (an unconfirmed one is anybody's sign-up)."""
    event = {**user_migration_event(accounts, email=email, password=""),
             "triggerSource": user_migration.FORGOT_PASSWORD}
    with _one_at_a_time(accounts.rds, email):
        try:
            with _asking_supabase(refused=_NoSuchOperator()):
                user_migration.migrate_user(event, supabase=accounts.supabase)
        except _NoSuchOperator:
            return      # nobody's, or not shown to be theirs: no code, the same answer
        try:
            accounts.cognito.create_user_awaiting_reset(
                email=email, attributes=event["response"]["userAttributes"])
        except UsernameTaken:
            pass        # made meanwhile on another path (the lock covers only this one)


def reset_password(*, accounts: OperatorAccounts, email: str, code: str,
                   new_password: str) -> dict:
    """Set a new password with the code send_reset_code e-mailed; in the window on Supabase
    Auth too (the authority until finalize, which checks every sign-in the pool accepts, and
    what a rollback goes back to). Then every session of the account ends, on both sides:
    a reset is what someone does who fears their sessions are someone else's."""
    issuers = _open(accounts)
    accounts.cognito.confirm_forgot_password(email=email, code=code, new_password=new_password)
    # The code is checked; the password is then made permanent by the admin API as well. On
    # AWS that changes nothing (ConfirmForgotPassword confirms a RESET_REQUIRED user), but
    # moto leaves the user RESET_REQUIRED, where no token of theirs would be accepted.
    accounts.cognito.set_password(username=email, password=new_password)
    user = accounts.cognito.find_user(email=email)
    operator_id = (user or {}).get("attributes", {}).get(user_migration.OPERATOR_ID_ATTRIBUTE)
    if SOURCE_SUPABASE in issuers and operator_id:
        try:
            accounts.supabase.set_password(user_id=operator_id, password=new_password)
        except user_migration.Unavailable as exc:
            raise ServiceUnavailable("the new password is set on the operators' pool but not "
                                     "yet on Supabase Auth: ask for a new code and set it "
                                     "again") from exc
    _end_sessions(accounts, issuers=issuers, in_pool=True, email=email, new=new_password,
                  keep_supabase_session=False)
    return {"password_changed": True}


def _check_current(accounts: OperatorAccounts, issuers: frozenset[str], *, email: str,
                   password: str) -> None:
    wrong = Forbidden("the current password is wrong", code="wrong_password")
    if SOURCE_SUPABASE in issuers:     # the authority until finalize
        with _asking_supabase(refused=wrong):
            _check_supabase_password(accounts, email=email, password=password)
        return
    try:
        accounts.cognito.login(email=email, password=password)
    except (Unauthorized, Forbidden):
        raise wrong from None

"""Operators' passwords while their logins move (docs/operator-logins.md): a change made by
a signed-in operator, and a forgotten one reset with a code the operators' pool e-mails.
Both land wherever the operator can sign in (Supabase Auth, the authority until `finalize
operators`, and the pool), so a rollback costs nobody their password, and both end every
session of the account on both sides: a stolen refresh token must not outlive the password
it was got with. Sign-in itself, and the checks both share, are logins.py's."""
from __future__ import annotations

import logging

import user_migration

from operator_service import logins
from operator_service.logins import OperatorAccounts
from travel_platform.accounts import CODE_REQUESTED
from travel_platform.auth import Identity
from travel_platform.auth.tokens import SOURCE_SUPABASE
from travel_platform.cognito import CodeNotSent, UsernameTaken
from travel_platform.errors import Forbidden, ServiceUnavailable, Unauthorized

log = logging.getLogger(__name__)


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
    with logins.counted(accounts, "operator_password", email=email or identity.subject,
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
    issuers = logins.open_issuers(accounts)
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
    event = {**logins.user_migration_event(accounts, email=email, password=""),
             "triggerSource": user_migration.FORGOT_PASSWORD}
    with logins.one_at_a_time(accounts.rds, email):
        try:
            with logins.asking_supabase(refused=_NoSuchOperator()):
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
    issuers = logins.open_issuers(accounts)
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
        with logins.asking_supabase(refused=wrong):
            logins.check_supabase_password(accounts, email=email, password=password)
        return
    try:
        accounts.cognito.login(email=email, password=password)
    except (Unauthorized, Forbidden):
        raise wrong from None

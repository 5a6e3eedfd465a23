"""Accounts of travel agents: sign-up (a Cognito user and a pending agent row, both or
neither), confirmation, sign-in, tokens, passwords, and the per-account attempt count
that guards each of them."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg

from agent_service import repository
from agent_service.profiles import profile_view
from agent_service.rules import email_taken, may_take_over
from agent_service.schemas import SignUpRequest
from travel_platform import rate_limits
from travel_platform.accounts import CODE_REQUESTED
from travel_platform.cognito import CodeNotSent, CognitoAccounts, UsernameTaken
from travel_platform.errors import TooManyRequests

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AttemptLimit:
    """How many attempts at one account flow one account may make per window. Counted in
    the database (account_attempts), so every worker and instance shares the count; the
    gateway, which cannot read the account from the body, limits per address instead."""

    attempts: int
    window_seconds: int
    # A login's failures per account across all client addresses (`attempts` is then per
    # account and address): shared/travel_platform/rate_limits.password_attempt.
    all_addresses: int


# Flows whose successful attempts are given back: only failures (a wrong password, a
# wrong code, an unknown refresh token) use up the account's attempts. Every sign-up counts.
REFUNDED_ON_SUCCESS = frozenset({"login", "confirm", "refresh"})


@contextmanager
def counted_attempt(*, pool, limit: AttemptLimit, flow: str, account: str,
                    address: str) -> Iterator[None]:
    """Around one attempt at `flow` by `account` (an e-mail address, any case, or a refresh
    token) from client `address`: TooManyRequests, before anything is tried, once the
    account has used up its window. Counted before the attempt, so concurrent guesses
    cannot all slip past the limit; given back after a success where only failures count.
    A login counts per account and address, under a ceiling per account: someone else's
    guesses never lock the owner out at their own address."""
    if flow == "login":
        with rate_limits.password_attempt(
                pool=pool, table="account_attempts", flow=flow, account=account,
                address=address, limit=rate_limits.PasswordAttemptLimit(
                    per_address=limit.attempts, all_addresses=limit.all_addresses,
                    window_seconds=limit.window_seconds)):
            yield
        return
    key = rate_limits.digest(account if flow == "refresh" else account.strip().lower())
    with pool.connection() as conn:
        attempts, retry_after = repository.count_account_attempt(
            conn=conn, flow=flow, account=key, window_seconds=limit.window_seconds)
    if attempts > limit.attempts:
        raise TooManyRequests(f"too many {flow} attempts for this account: try again in "
                              f"{retry_after} s", retry_after=retry_after)
    yield
    if flow in REFUNDED_ON_SUCCESS:
        with pool.connection() as conn:
            repository.refund_account_attempt(conn=conn, flow=flow, account=key,
                                              window_seconds=limit.window_seconds)


def sign_up(*, pool, accounts: CognitoAccounts, request: SignUpRequest) -> dict:
    """Create the Cognito user and the pending agent row, both or neither.

    An unconfirmed sign-up never holds an address: nobody has shown they own it, so a new
    sign-up replaces it (Cognito user and agent row), as Cognito itself lets a sign-up
    replace an unconfirmed user. Otherwise squatting works: anyone signs up someone else's
    address, and its owner is refused for ever. Confirming takes the password too
    (`confirm_sign_up`), so the code e-mailed to the owner never confirms someone else's.

    Cognito first (it gives the sub), then the row in the same transaction; if anything
    fails after the user was created, the user is deleted again. Should that deletion fail
    too, the next sign-up with the address finds an unconfirmed user and replaces it. A
    per-address lock keeps two sign-ups of one address from interleaving."""
    created_sub = None
    try:
        with pool.connection() as conn, conn.transaction():
            repository.lock_sign_up(conn=conn, email=request.email)
            result, replaced = _create_cognito_user(accounts=accounts, request=request)
            created_sub = result["UserSub"]
            agent = _store_agent(conn=conn, cognito_sub=created_sub, request=request,
                                 replaced=replaced)
    except Exception as exc:
        if created_sub is not None:
            _undo_cognito_user(accounts=accounts, sub=created_sub)
        if isinstance(exc, psycopg.errors.UniqueViolation):
            # A row with this address, written by a sign-up that ran past the lock.
            raise email_taken() from None
        raise
    return {"agent": profile_view(agent), "user_confirmed": result["UserConfirmed"],
            "code_delivery": result.get("CodeDeliveryDetails")}


def _create_cognito_user(*, accounts: CognitoAccounts,
                         request: SignUpRequest) -> tuple[dict, bool]:
    """The new Cognito user, and whether it replaced an unconfirmed one."""
    try:
        return accounts.sign_up(email=request.email, password=request.password), False
    except UsernameTaken:
        pass
    existing = accounts.user_status(email=request.email)
    if existing is not None:
        username, status = existing
        if status != "UNCONFIRMED":
            raise email_taken()
        log.info("a new sign-up replaces unconfirmed Cognito user %s", username)
        accounts.delete_user(username=username)
    try:
        return accounts.sign_up(email=request.email, password=request.password), True
    except UsernameTaken:
        raise email_taken() from None


def _store_agent(*, conn, cognito_sub: str, request: SignUpRequest, replaced: bool) -> dict:
    """A new pending agent row, or the address's row taken over when nobody can log in to
    it: its Cognito user was unconfirmed (just replaced) or is gone, and no administrator
    acted on it since (pending). An unconfirmed user never had a token, so such a row has
    no documents or bookings; it restarts as pending with the default commission."""
    existing = repository.get_agent_by_email(conn=conn, email=request.email)
    if existing is None:
        return repository.insert_agent(
            conn=conn, email=request.email, cognito_sub=cognito_sub,
            agency_name=request.agency_name, country=request.country, phone=request.phone)
    if not may_take_over(existing, replaced=replaced):
        raise email_taken()
    return repository.restart_agent(
        conn=conn, agent_id=existing["id"], cognito_sub=cognito_sub,
        agency_name=request.agency_name, country=request.country, phone=request.phone)


def _undo_cognito_user(*, accounts: CognitoAccounts, sub: str) -> None:
    try:
        accounts.delete_user(username=sub)
    except Exception:
        # The original failure is what the caller must see; a retried sign-up cleans up.
        log.exception("could not delete Cognito user %s after a failed sign-up", sub)


def confirm_sign_up(*, accounts: CognitoAccounts, email: str, password: str,
                    code: str) -> dict:
    """Confirm a new account with the code Cognito e-mailed, for whoever knows its
    password: the code goes to the address, whose unconfirmed account someone else may
    have signed up since, and it must not confirm an account for someone who cannot use it."""
    accounts.check_unconfirmed_password(email=email, password=password)
    accounts.confirm_sign_up(email=email, code=code)
    return {"confirmed": True}


def send_code(*, accounts: CognitoAccounts, email: str, purpose: str) -> dict:
    """E-mail a code: a new sign-up confirmation code (`resend-confirmation-code`; 409 for a
    confirmed account, as confirming it again is) or one that sets a new password
    (`forgot-password`). The same answer whether or not the address has an account."""
    # The Cognito layer raises the 409; CodeNotSent (no such user) is not to be told.
    try:
        if purpose == "forgot-password":
            accounts.forgot_password(email=email)
        else:
            accounts.resend_confirmation_code(email=email)
    except CodeNotSent:
        log.info("no %s code sent: no account that can receive one", purpose)
    return CODE_REQUESTED


def confirm_forgot_password(*, accounts: CognitoAccounts, email: str, code: str,
                            new_password: str) -> dict:
    """Set a new password with the code forgot_password e-mailed, and end every session of
    the account: a reset is what someone does who fears their sessions are someone else's."""
    accounts.confirm_forgot_password(email=email, code=code, new_password=new_password)
    accounts.sign_out_user(username=email)
    return {"password_changed": True}


def change_password(*, accounts: CognitoAccounts, access_token: str, current_password: str,
                    new_password: str) -> dict:
    """Change the caller's password (Cognito checks the current one), end every session of
    the account (a stolen refresh token must not outlive the password it was got with), and
    hand the caller fresh tokens so their own session goes on."""
    accounts.change_password(access_token=access_token, current_password=current_password,
                             new_password=new_password)
    # By e-mail, the name agents sign in with (moto ends only the sessions opened under the
    # name given; AWS ends the user's, whichever name).
    email = accounts.attributes(access_token=access_token)["email"]
    accounts.sign_out_user(username=email)
    return accounts.login(email=email, password=new_password)


def login(*, accounts: CognitoAccounts, email: str, password: str) -> dict:
    """Sign an agent in with Cognito's USER_PASSWORD_AUTH flow."""
    return accounts.login(email=email, password=password)


def refresh(*, accounts: CognitoAccounts, refresh_token: str) -> dict:
    """New tokens for a refresh token."""
    return accounts.refresh(refresh_token=refresh_token)


def log_out(*, accounts: CognitoAccounts, access_token: str) -> None:
    """Revoke the caller's refresh tokens everywhere (Cognito GlobalSignOut)."""
    accounts.sign_out(access_token=access_token)

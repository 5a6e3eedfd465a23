"""Rules of agent-service: accounts, profiles, review by administrators, documents."""
from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

import psycopg

from agent_service import repository
from agent_service.schemas import DocumentUploadRequest, SignUpRequest
from agent_service.storage import DocumentStore, storage_file_name
from travel_platform import rate_limits
from travel_platform.accounts import TRANSITIONS
from travel_platform.api import page
from travel_platform.auth import Identity
from travel_platform.cognito import CodeNotSent, CognitoAccounts, UsernameTaken
from travel_platform.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    NotFound,
    TooManyRequests,
    Unprocessable,
)
from travel_platform.web import identity_view

log = logging.getLogger(__name__)

# Agents an operator may see the agency name of: those who can have booked their packages.
SHOWN_TO_OPERATORS = ("active", "suspended")
MAX_DOCUMENTS_PER_AGENT = 20
UPLOAD_FORM_SECONDS = 300
DOWNLOAD_LINK_SECONDS = 120
# How each accepted type starts: the Content-Type header is only what the client declared.
_SIGNATURES = {"application/pdf": b"%PDF-", "image/jpeg": b"\xff\xd8\xff",
               "image/png": b"\x89PNG\r\n\x1a\n"}


def _email_taken() -> Conflict:
    # Cognito's SignUp answers UsernameExistsException whatever PreventUserExistenceErrors
    # says, to anyone holding the public client id: hiding it here would protect nothing.
    # Only a confirmed account (or an agent row an administrator acted on) holds an address.
    return Conflict("an account with this e-mail already exists: log in",
                    code="email_already_registered")


# --- accounts ---------------------------------------------------------------------------

@dataclass(frozen=True)
class AttemptLimit:
    """How many attempts at one account flow one account may make per window. Counted in
    the database (account_attempts), so every worker and instance shares the count; the
    gateway, which cannot read the account from the body, limits per address instead."""

    attempts: int
    window_seconds: int
    # A login's failures per account across all client addresses (`attempts` is then per
    # account and address): travel_platform/rate_limits.password_attempt.
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
            raise _email_taken() from None
        raise
    return {"agent": _profile(agent), "user_confirmed": result["UserConfirmed"],
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
            raise _email_taken()
        log.info("a new sign-up replaces unconfirmed Cognito user %s", username)
        accounts.delete_user(username=username)
    try:
        return accounts.sign_up(email=request.email, password=request.password), True
    except UsernameTaken:
        raise _email_taken() from None


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
    if not replaced and existing["status"] != "pending":
        raise _email_taken()
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


# The answer to a code request, whether or not the address has an account.
CODE_REQUESTED = {"code_sent_if_account_exists": True}


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


# --- the agent's own profile ------------------------------------------------------------

def _profile(row: dict) -> dict:
    # Which admin changed the status is for administrators.
    return {k: v for k, v in row.items() if k != "status_changed_by"}


def _no_profile() -> NotFound:
    return NotFound("this account has no travel agent profile: sign up through the API",
                    code="agent_profile_not_found")


def _own_agent(*, conn, identity: Identity, for_update: bool = False) -> dict:
    agent = repository.get_agent_by_sub(conn=conn, cognito_sub=identity.subject,
                                        for_update=for_update)
    if agent is None:
        raise _no_profile()
    return agent


def describe_agent(*, pool, identity: Identity) -> dict:
    """The verified identity of the caller with their agent profile."""
    with pool.connection() as conn:
        agent = _own_agent(conn=conn, identity=identity)
    return {"identity": identity_view(identity), "profile": _profile(agent)}


def update_profile(*, pool, identity: Identity, changes: dict) -> dict:
    """Change the caller's own agency name, phone or country."""
    with pool.connection() as conn:
        agent = repository.update_profile(conn=conn, cognito_sub=identity.subject,
                                          changes=changes)
    if agent is None:
        raise _no_profile()
    return {"identity": identity_view(identity), "profile": _profile(agent)}


# --- administration ---------------------------------------------------------------------

def _agent(*, conn, agent_id) -> dict:
    agent = repository.get_agent(conn=conn, agent_id=agent_id)
    if agent is None:
        raise NotFound("no such travel agent", code="agent_not_found")
    return agent


def list_agents(*, pool, status: str | None, limit: int, offset: int) -> dict:
    """A page of agents, optionally of one status, oldest first."""
    with pool.connection() as conn:
        rows, total = repository.list_agents(conn=conn, status=status, limit=limit,
                                             offset=offset)
    return page(rows, total=total, limit=limit, offset=offset)


def get_agent(*, pool, agent_id) -> dict:
    """One agent, as administrators see them."""
    with pool.connection() as conn:
        return _agent(conn=conn, agent_id=agent_id)


def change_status(*, pool, admin: Identity, agent_id, action: str) -> dict:
    """Approve, suspend or reactivate an agent; 409 naming the current status otherwise."""
    needed, target = TRANSITIONS[action]
    with pool.connection() as conn:
        agent = repository.change_status(conn=conn, agent_id=agent_id, from_status=needed,
                                         to_status=target, changed_by=admin.subject)
        if agent is None:
            current = _agent(conn=conn, agent_id=agent_id)["status"]
            raise InvalidTransition(f"cannot {action} an agent who is {current}: needs {needed}",
                                    current_status=current, required_status=needed)
    return agent


def set_commission_rate(*, pool, agent_id, commission_rate: Decimal) -> dict:
    """Set an agent's commission rate (0..1, exact)."""
    with pool.connection() as conn:
        agent = repository.set_commission_rate(conn=conn, agent_id=agent_id,
                                               commission_rate=commission_rate)
    if agent is None:
        raise NotFound("no such travel agent", code="agent_not_found")
    return agent


# --- lookup for other services ----------------------------------------------------------

def lookup_agents(*, pool, identity: Identity, subs: list[str]) -> dict:
    """What booking-service may show its caller of agents, by Cognito sub. An agent learns
    about themselves only: status and commission rate, which booking needs. An operator
    learns the agency name, and nothing else, of agents who can have booked (active or
    suspended, never pending): what their bookings' pages show of the agents in them."""
    with pool.connection() as conn:
        rows = repository.find_agents_by_subs(conn=conn, cognito_subs=sorted(set(subs)))
    if identity.is_agent:
        entries = [{"sub": row["cognito_sub"], "agency_name": row["agency_name"],
                    "status": row["status"], "commission_rate": row["commission_rate"]}
                   for row in rows if row["cognito_sub"] == identity.subject]
    else:
        entries = [{"sub": row["cognito_sub"], "agency_name": row["agency_name"]}
                   for row in rows if row["status"] in SHOWN_TO_OPERATORS]
    return {"data": entries}


# --- documents --------------------------------------------------------------------------

def _document_view(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("agent_id", "s3_key")}


def _document(*, conn, agent_id, document_id) -> dict:
    document = repository.get_document(conn=conn, agent_id=agent_id, document_id=document_id)
    if document is None:
        raise NotFound("no such document", code="document_not_found")
    return document


def _ensure_may_change_documents(agent: dict) -> None:
    # Pending agents upload the documents they are approved on; suspended ones are frozen.
    if agent["status"] == "suspended":
        raise Forbidden("a suspended agent cannot change documents", code="agent_suspended")


def request_upload(*, pool, store: DocumentStore, identity: Identity,
                   request: DocumentUploadRequest) -> dict:
    """Record a document and hand out a form that uploads exactly that file to S3."""
    with pool.connection() as conn, conn.transaction():
        # The row lock makes the count below hold against concurrent requests.
        agent = _own_agent(conn=conn, identity=identity, for_update=True)
        _ensure_may_change_documents(agent)
        if repository.count_documents(conn=conn, agent_id=agent["id"]) >= MAX_DOCUMENTS_PER_AGENT:
            raise Conflict(f"an agent may keep at most {MAX_DOCUMENTS_PER_AGENT} documents: "
                           "delete one first", code="too_many_documents")
        document_id = uuid.uuid4()
        key = _upload_key(agent=agent, document_id=document_id,
                          file=storage_file_name(request.file_name, request.content_type))
        document = repository.insert_document(
            conn=conn, document_id=document_id, agent_id=agent["id"], s3_key=key,
            file_name=request.file_name, content_type=request.content_type,
            size_bytes=request.size, kind=request.kind)
        # Signing is local; inside the transaction, a failure leaves no row behind.
        form = store.upload_form(key=key, content_type=request.content_type,
                                 size=request.size, expires_in=UPLOAD_FORM_SECONDS)
    return {"document": _document_view(document),
            "upload": {"url": form["url"], "fields": form["fields"],
                       "expires_in": UPLOAD_FORM_SECONDS}}


def _upload_key(*, agent: dict, document_id, file: str) -> str:
    # Where the presigned POST writes; the form stays usable for its whole lifetime.
    return f"agents/{agent['cognito_sub']}/documents/{document_id}/{file}"


def _checked_key(*, agent: dict, document_id, file: str) -> str:
    # Where a checked file is kept: no upload form names this key, so nobody can write it.
    return f"agents/{agent['cognito_sub']}/checked/{document_id}/{file}"


def _file_part(key: str) -> str:
    return key.rsplit("/", 1)[1]


def _upload_problems(*, store: DocumentStore, document: dict, key: str,
                     stored: dict) -> list[dict]:
    problems = []
    if stored["size"] != document["size_bytes"]:
        problems.append({"field": "size", "problem": f"announced {document['size_bytes']} "
                                                     f"bytes, uploaded {stored['size']}"})
    stored_type = stored["content_type"].split(";")[0].strip().lower()
    if stored_type != document["content_type"]:
        problems.append({"field": "content_type", "problem": f"announced "
                         f"{document['content_type']}, uploaded {stored_type or 'none'}"})
    else:
        signature = _SIGNATURES[document["content_type"]]
        if store.first_bytes(key=key, count=len(signature)) != signature:
            problems.append({"field": "content", "problem": "the file is not really "
                             f"{document['content_type']}"})
    return problems


def confirm_upload(*, pool, store: DocumentStore, identity: Identity, document_id) -> dict:
    """Check with S3 that the announced file arrived (size, type, first bytes) and mark the
    document uploaded; a wrong file is deleted and the document stays pending.

    The upload form stays usable until it expires, and S3 lets it overwrite its key, so
    the file is first copied to a key no form can write, and that copy is what is checked
    and, from then on, downloaded: what was checked is what is served, whatever is
    uploaded to the form's key afterwards."""
    with pool.connection() as conn:
        agent = _own_agent(conn=conn, identity=identity)
        _ensure_may_change_documents(agent)
        document = _document(conn=conn, agent_id=agent["id"], document_id=document_id)
        if document["status"] == "uploaded":
            return _document_view(document)
        upload_key = document["s3_key"]
        checked_key = _checked_key(agent=agent, document_id=document["id"],
                                   file=_file_part(upload_key))
        if not store.copy(source=upload_key, target=checked_key):
            raise Conflict("no file has been uploaded for this document yet",
                           code="document_not_uploaded")
        stored = store.describe(key=checked_key)
        problems = (_upload_problems(store=store, document=document, key=checked_key,
                                     stored=stored) if stored is not None
                    else [{"field": "content", "problem": "the copied file vanished"}])
        if problems:
            # What S3 holds is not what was announced: it must not stay where it could be
            # taken for the checked document. The upload form can be used again.
            store.delete(key=checked_key)
            store.delete(key=upload_key)
            raise Unprocessable("the uploaded file is not the one announced; it was removed",
                                code="upload_mismatch", details=problems)
        checked = repository.mark_document_uploaded(conn=conn, document_id=document["id"],
                                                    s3_key=checked_key)
        # Nothing reads the form's key any more; what the form may still write there is
        # removed with the document.
        store.delete(key=upload_key)
        return _document_view(checked)


def _documents_of(*, conn, agent_id) -> dict:
    return {"data": [_document_view(d) for d in repository.list_documents(conn=conn,
                                                                         agent_id=agent_id)]}


def _download(*, store: DocumentStore, document: dict) -> dict:
    if document["status"] != "uploaded":
        raise Conflict("the document's file has not been uploaded and checked yet",
                       code="document_not_uploaded")
    url = store.download_url(
        key=document["s3_key"], content_type=document["content_type"],
        file_name=_file_part(document["s3_key"]),
        expires_in=DOWNLOAD_LINK_SECONDS)
    return {"url": url, "expires_in": DOWNLOAD_LINK_SECONDS}


def list_documents(*, pool, identity: Identity) -> dict:
    """The caller's documents, newest first."""
    with pool.connection() as conn:
        agent = _own_agent(conn=conn, identity=identity)
        return _documents_of(conn=conn, agent_id=agent["id"])


def download_link(*, pool, store: DocumentStore, identity: Identity, document_id) -> dict:
    """A short-lived link to one of the caller's checked documents."""
    with pool.connection() as conn:
        agent = _own_agent(conn=conn, identity=identity)
        document = _document(conn=conn, agent_id=agent["id"], document_id=document_id)
    return _download(store=store, document=document)


def delete_document(*, pool, store: DocumentStore, identity: Identity, document_id) -> None:
    """Delete one of the caller's documents: the S3 object first, so that a failure leaves
    a row to retry with rather than an object nobody knows of."""
    with pool.connection() as conn:
        agent = _own_agent(conn=conn, identity=identity)
        _ensure_may_change_documents(agent)
        document = _document(conn=conn, agent_id=agent["id"], document_id=document_id)
        store.delete(key=document["s3_key"])
        # A checked document's upload form may have written its key again since.
        store.delete(key=_upload_key(agent=agent, document_id=document["id"],
                                     file=_file_part(document["s3_key"])))
        repository.delete_document(conn=conn, document_id=document["id"])


def agent_documents(*, pool, agent_id) -> dict:
    """An agent's documents, for administrators reviewing them."""
    with pool.connection() as conn:
        _agent(conn=conn, agent_id=agent_id)
        return _documents_of(conn=conn, agent_id=agent_id)


def agent_document_link(*, pool, store: DocumentStore, agent_id, document_id) -> dict:
    """A short-lived link to an agent's checked document, for administrators."""
    with pool.connection() as conn:
        _agent(conn=conn, agent_id=agent_id)
        document = _document(conn=conn, agent_id=agent_id, document_id=document_id)
    return _download(store=store, document=document)

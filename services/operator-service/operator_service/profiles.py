"""An operator's own profile, made on their first write, and the gates on what an
operator may do: approved (active) to publish, not suspended to change packages.
Row-level security decides which rows a caller reaches; these rules decide what may be
done with them."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from operator_service import repository
from operator_service.datasource import USERS, DataSources
from operator_service.rules import ensure_active, ensure_not_suspended
from travel_platform.auth import Identity
from travel_platform.errors import ServiceUnavailable, Unauthorized
from travel_platform.web import identity_view

log = logging.getLogger(__name__)


def describe_operator(*, data: DataSources, identity: Identity) -> dict:
    """The verified identity of the operator with their profile, or `"profile": null` until
    their first write (PATCH /me or a new package) creates it: a read never writes, so it
    needs no write fence, cannot fail while writes are held, and a GET stays safe."""
    profile = data.read(identity=identity, tables=[USERS], own=True,
                        query=lambda conn: repository.get_operator(conn=conn,
                                                                   user_id=identity.subject))
    return {"identity": identity_view(identity), "profile": profile}


def update_operator(*, data: DataSources, identity: Identity, changes: dict) -> dict:
    """Change the operator's own profile; answers as `describe_operator`."""
    ensure_profile(data, identity)
    with data.transaction(identity=identity, tables=[USERS]) as conn:
        repository.update_operator(conn=conn, user_id=identity.subject, fields=changes)
        profile = repository.get_operator(conn=conn, user_id=identity.subject)
    return {"identity": identity_view(identity), "profile": profile}


def ensure_profile(data: DataSources, identity: Identity) -> None:
    """Create the operator's profile unless it exists (on their first write), in a
    transaction of its own: the profile and the packages that reference it may live in
    different databases while the tables move (see migrate/units.py)."""
    # The company name given at sign-up (supabase-js signUp's data.company_name, carried in
    # the token's user_metadata); without one, the e-mail is the most telling name.
    given = (identity.claims.get("user_metadata") or {}).get("company_name")
    named = given.strip() if isinstance(given, str) and given.strip().isprintable() else ""
    placeholder = (named or identity.email or f"Operator {identity.subject[:8]}")[:200]
    with account_must_exist(data, identity), data.transaction(identity=identity,
                                                              tables=[USERS]) as conn:
        repository.ensure_operator(conn=conn, user_id=identity.subject,
                                   company_name=placeholder, contact_email=identity.email)


def require_active(*, data: DataSources, identity: Identity, action: str) -> None:
    """403 `operator_not_active` unless an administrator approved the operator
    (rules.ensure_active). Read from wherever the profiles live: a package and its
    operator's profile may be in different databases while the tables move, so this is a
    rule here, not a constraint there."""
    profile = data.read(identity=identity, tables=[USERS], own=True,
                        query=lambda conn: repository.get_operator(conn=conn,
                                                                   user_id=identity.subject))
    ensure_active(profile, action=action)


def require_not_suspended(*, data: DataSources, identity: Identity) -> None:
    """403 `operator_suspended` for a suspended operator (rules.ensure_not_suspended). The
    database refuses their writes too (restrictive policies); this check, read where the
    profiles live, gives the caller the reason instead of a package that seems not to exist."""
    profile = data.read(identity=identity, tables=[USERS], own=True,
                        query=lambda conn: repository.get_operator(conn=conn,
                                                                   user_id=identity.subject))
    ensure_not_suspended(profile)


@contextmanager
def account_must_exist(data: DataSources, identity: Identity) -> Iterator[None]:
    """A write whose foreign key names the operator's account or profile (the profile's
    `auth.users` row, a package's `users` row) fails when the account was deleted, with its
    profile and packages, after the token was issued: until the issuer's answer reaches every
    process (shared/travel_platform/auth/revocation.py) that is the caller's 401, not our 500.

    While the tables move, a package's key may be checked against the other database's copy
    of `users`, which lacks whoever signed up since (`python -m migrate` suspends such keys;
    a run that failed half way can leave one). So the profile is looked up where `users`
    takes writes now before the account is called deleted: found there, the account lives,
    and the caller gets 503 to retry, never a 401 that signs a live operator out."""
    try:
        yield
    except psycopg.errors.ForeignKeyViolation as exc:
        profile = data.read(identity=identity, tables=[USERS], own=True,
                            query=lambda conn: repository.get_operator(
                                conn=conn, user_id=identity.subject))
        if profile is None:
            raise Unauthorized("this account no longer exists", code="account_deleted") from None
        log.error("a foreign key refused a write of a live operator (their profile is where "
                  "`users` takes writes): a key the move should have suspended: %s",
                  str(exc).splitlines()[0])
        raise ServiceUnavailable("this write cannot be checked while the data moves between "
                                 "databases; retry in a moment", code="data_moving",
                                 headers={"Retry-After": "1"}) from None

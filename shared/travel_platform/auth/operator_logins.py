"""Operators' two issuers during the move of their logins to Cognito (docs/operator-logins.md).

One operator, either token: the operator's id stays the id their rows are owned by (their
Supabase user id). A token of the operators' Cognito pool carries a Cognito `sub` instead,
which `operator_identities` on RDS links to that id; `admit` swaps it in, claims included,
so ownership checks, RLS (`auth.uid()`) and bookings see the same operator whichever pool
signed the token.

Which issuers operators may use follows the `operators` unit of `python -m migrate`:

    new, rolled_back                                   Supabase Auth only
    copying, replicating, reads_switched, writes_switched  both (the window)
    finalized, dropped                                 the operators' pool only

Every service and gateway-auth read that state from RDS at most every MAX_AGE seconds, so
`finalize operators` refuses Supabase tokens everywhere within that time, with no restart.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable

from cachetools import LRUCache
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from travel_platform.auth.tokens import (
    SOURCE_COGNITO_OPERATORS,
    SOURCE_SUPABASE,
    Identity,
)
from travel_platform.errors import ServiceUnavailable, Unauthorized
from travel_platform.settings import SettingsError

log = logging.getLogger(__name__)

MAX_AGE = 1.0
# How long a state read may be reused while RDS cannot be asked, before operators get 503.
STALE_LIMIT = 60.0
BOTH = frozenset({SOURCE_SUPABASE, SOURCE_COGNITO_OPERATORS})
ISSUERS_BY_STATE = {
    "new": frozenset({SOURCE_SUPABASE}),
    "rolled_back": frozenset({SOURCE_SUPABASE}),
    "copying": BOTH, "replicating": BOTH, "reads_switched": BOTH, "writes_switched": BOTH,
    "finalized": frozenset({SOURCE_COGNITO_OPERATORS}),
    "dropped": frozenset({SOURCE_COGNITO_OPERATORS}),
}
MAX_LINKS = 100_000
# The states after which operators' logins never go back to Supabase Auth.
FINAL_STATES = frozenset({"finalized", "dropped"})


def issuers_for(state: str) -> frozenset[str]:
    """The issuers operators' tokens may come from while the `operators` unit is `state`."""
    return ISSUERS_BY_STATE[state]


def refusal(source: str) -> Unauthorized:
    """Why an operator's token from `source` is not accepted now."""
    if source == SOURCE_SUPABASE:
        return Unauthorized("this operator account has moved to the new sign-in: log in with "
                            "the same e-mail and password at POST /api/operators/login",
                            code="account_moved")
    return Unauthorized("operators sign in with Supabase Auth for now: this sign-in is not "
                        "open yet, or was rolled back", code="operator_login_closed")


def require_logins_finalized(logins: OperatorLogins) -> None:
    """Refuse to start with Supabase off (no Supabase setting) while the operators' logins
    have not been finalized: operators would still sign in with Supabase Auth, whose tokens
    this process could then not check. Read once, at start: fail fast and closed."""
    state = logins.state()
    if state not in FINAL_STATES:
        raise SettingsError(
            f"Supabase is off (no SUPABASE_* setting) but the operators' logins are {state}, "
            "still on Supabase Auth: finalize them (`python -m migrate finalize operators`, "
            "docs/migration-runbook.md) or set the Supabase settings")


class OperatorLogins:
    """Admits operators' tokens by the current phase, and resolves operators'-pool subs."""

    def __init__(self, pool: ConnectionPool, *, max_age: float = MAX_AGE,
                 clock: Callable[[], float] = time.monotonic):
        self._pool = pool
        self._max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._state: tuple[float, str] | None = None
        self._links: LRUCache = LRUCache(maxsize=MAX_LINKS)   # a link never changes

    def state(self) -> str:
        """The `operators` unit's state, re-read at most every `max_age` seconds."""
        now = self._clock()
        with self._lock:
            if self._state and now - self._state[0] < self._max_age:
                return self._state[1]
        try:
            with self._pool.connection(timeout=2.0) as conn:
                row = conn.cursor(row_factory=dict_row).execute(
                    "select state from migration.operators_state").fetchone()
            state = row["state"] if row else "new"
        except Exception as exc:   # keep the last answer for a while rather than fail logins
            with self._lock:
                if self._state and now - self._state[0] < STALE_LIMIT:
                    log.warning("operators' login state unreadable, using the last one: %s", exc)
                    return self._state[1]
            raise ServiceUnavailable("cannot tell which sign-in operators use now") from exc
        with self._lock:
            self._state = (now, state)
        return state

    def issuers(self) -> frozenset[str]:
        """The issuers operators' tokens may come from now."""
        return issuers_for(self.state())

    def admit(self, identity: Identity) -> Identity:
        """The identity a route sees: an agent's as verified; an operator's only from an
        issuer accepted now, with the operator's id as subject whichever pool signed it."""
        if not identity.is_operator:
            return identity
        if identity.source not in self.issuers():
            raise refusal(identity.source)
        if identity.source != SOURCE_COGNITO_OPERATORS:
            return identity
        operator_id, email = self.operator_of(identity.subject)
        claims = {**identity.claims, "sub": operator_id, "role": "authenticated",
                  "email": email, "cognito_sub": identity.subject}
        return dataclasses.replace(identity, subject=operator_id, email=email,
                                   role="authenticated", claims=claims)

    def operator_of(self, cognito_sub: str) -> tuple[str, str]:
        """(operator id, e-mail) linked to an operators'-pool sub, or 401 if none is."""
        with self._lock:
            link = self._links.get(cognito_sub)
        if link is None:
            try:
                with self._pool.connection(timeout=2.0) as conn:
                    row = conn.cursor(row_factory=dict_row).execute(
                        "select operator_id::text, email from operator_identities"
                        " where cognito_sub = %s", (cognito_sub,)).fetchone()
            except Exception as exc:
                raise ServiceUnavailable("cannot look the operator up now") from exc
            if row is None:
                raise Unauthorized("this sign-in is not linked to a tour operator: log in at "
                                   "POST /api/operators/login", code="operator_not_linked")
            link = (row["operator_id"], row["email"])
            with self._lock:
                self._links[cognito_sub] = link
        return link

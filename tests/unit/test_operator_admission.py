"""Which issuers operators' tokens may come from during their move, and how a token of the
operators' pool stands for the operator (shared/travel_platform/auth/operator_logins.py)."""
from __future__ import annotations

import pytest

from travel_platform.auth.operator_logins import OperatorLogins, issuers_for
from travel_platform.auth.tokens import (
    SOURCE_COGNITO,
    SOURCE_COGNITO_OPERATORS,
    SOURCE_SUPABASE,
    Identity,
)
from travel_platform.errors import ServiceUnavailable, Unauthorized

OPERATOR_ID = "859fdf59-4972-48de-8e35-dc45de6eaadd"


class Database:
    """A pool whose one connection answers the two queries OperatorLogins asks."""

    def __init__(self, state: str, links: dict[str, tuple[str, str]]):
        self.state, self.links, self.queries, self.down = state, links, 0, False

    def connection(self, timeout=None):
        database = self

        class Conn:
            def __enter__(self):
                if database.down:
                    raise OSError("connection refused")
                return self

            def __exit__(self, *exc):
                return False

            def cursor(self, row_factory=None):
                return self

            def execute(self, query, params=()):
                database.queries += 1
                if "operators_state" in query:
                    self.row = {"state": database.state}
                else:
                    link = database.links.get(params[0])
                    self.row = {"operator_id": link[0], "email": link[1]} if link else None
                return self

            def fetchone(self):
                return self.row
        return Conn()


def identity(source: str, subject: str = "sub-1") -> Identity:
    return Identity(source=source, subject=subject, email=None, groups=(), role=None,
                    expires_at=0, claims={"sub": subject, "client_id": "console"})


@pytest.mark.parametrize("state, issuers", [
    ("new", {SOURCE_SUPABASE}),
    ("copying", {SOURCE_SUPABASE, SOURCE_COGNITO_OPERATORS}),
    ("writes_switched", {SOURCE_SUPABASE, SOURCE_COGNITO_OPERATORS}),
    ("rolled_back", {SOURCE_SUPABASE}),
    ("finalized", {SOURCE_COGNITO_OPERATORS}),
    ("dropped", {SOURCE_COGNITO_OPERATORS}),
])
def test_the_phase_of_the_move_decides_the_issuers(state, issuers):
    assert issuers_for(state) == issuers


def test_a_pool_token_stands_for_its_operator_claims_included():
    logins = OperatorLogins(Database("replicating", {"sub-1": (OPERATOR_ID, "o@example.com")}))
    admitted = logins.admit(identity(SOURCE_COGNITO_OPERATORS))
    assert admitted.subject == OPERATOR_ID and admitted.email == "o@example.com"
    # RLS reads auth.uid() from the claims: they name the operator too.
    assert admitted.claims["sub"] == OPERATOR_ID and admitted.claims["role"] == "authenticated"
    assert admitted.claims["cognito_sub"] == "sub-1" and admitted.is_operator


def test_an_unlinked_pool_token_is_refused():
    logins = OperatorLogins(Database("replicating", {}))
    with pytest.raises(Unauthorized) as refused:
        logins.admit(identity(SOURCE_COGNITO_OPERATORS))
    assert refused.value.code == "operator_not_linked"


def test_after_finalize_a_supabase_token_is_told_the_account_moved():
    logins = OperatorLogins(Database("finalized", {}))
    with pytest.raises(Unauthorized) as refused:
        logins.admit(identity(SOURCE_SUPABASE))
    assert refused.value.code == "account_moved"


def test_before_the_move_or_after_rollback_pool_tokens_are_refused():
    for state in ("new", "rolled_back"):
        with pytest.raises(Unauthorized) as refused:
            OperatorLogins(Database(state, {})).admit(identity(SOURCE_COGNITO_OPERATORS))
        assert refused.value.code == "operator_login_closed"


def test_agents_are_admitted_without_asking_the_database():
    database = Database("finalized", {})
    agent = identity(SOURCE_COGNITO)
    assert OperatorLogins(database).admit(agent) is agent and database.queries == 0


def test_the_state_is_reread_after_max_age_and_kept_while_the_database_is_down():
    now = [0.0]
    database = Database("replicating", {})
    logins = OperatorLogins(database, max_age=1.0, clock=lambda: now[0])
    assert logins.state() == "replicating"
    database.state = "finalized"
    assert logins.state() == "replicating"          # within max_age: the cached answer
    now[0] = 1.5
    assert logins.state() == "finalized"            # re-read
    database.down, now[0] = True, 30.0
    assert logins.state() == "finalized"            # the last answer, for a while
    now[0] = 100.0
    with pytest.raises(ServiceUnavailable):
        logins.state()

"""Pure rules of agent-service, no I/O: who holds an e-mail address, what an agent may do
with their documents, and what other services learn about agents. The service modules
read and write; these decide, so each is tested on its own (tests/unit/test_agent_rules.py)."""
from __future__ import annotations

from travel_platform.auth import Identity
from travel_platform.errors import Conflict, Forbidden

MAX_DOCUMENTS_PER_AGENT = 20
# Agents an operator may see the agency name of: those who can have booked their packages.
SHOWN_TO_OPERATORS = ("active", "suspended")


def email_taken() -> Conflict:
    """409 `email_already_registered`."""
    # Cognito's SignUp answers UsernameExistsException whatever PreventUserExistenceErrors
    # says, to anyone holding the public client id: hiding it here would protect nothing.
    # Only a confirmed account (or an agent row an administrator acted on) holds an address.
    return Conflict("an account with this e-mail already exists: log in",
                    code="email_already_registered")


def may_take_over(existing: dict, *, replaced: bool) -> bool:
    """Whether a sign-up may take over the agent row that holds its address: when nobody
    can log in to it, because its Cognito user was unconfirmed (just replaced) or is gone
    and no administrator acted on it since (still pending)."""
    return replaced or existing["status"] == "pending"


def ensure_may_change_documents(agent: dict) -> None:
    """403 `agent_suspended`: pending agents upload the documents they are approved on;
    suspended ones are frozen."""
    if agent["status"] == "suspended":
        raise Forbidden("a suspended agent cannot change documents", code="agent_suspended")


def ensure_room_for_document(count: int) -> None:
    """409 `too_many_documents` once an agent keeps MAX_DOCUMENTS_PER_AGENT: each is an S3
    object and a row nobody reviews past a handful."""
    if count >= MAX_DOCUMENTS_PER_AGENT:
        raise Conflict(f"an agent may keep at most {MAX_DOCUMENTS_PER_AGENT} documents: "
                       "delete one first", code="too_many_documents")


def agents_shown_to(identity: Identity, rows: list[dict]) -> list[dict]:
    """What a caller learns of `rows` (agents by sub). An agent learns about themselves
    only: status and commission rate, which booking needs. An operator learns the agency
    name, and nothing else, of agents who can have booked (active or suspended, never
    pending): what their bookings' pages show of the agents in them."""
    if identity.is_agent:
        return [{"sub": row["cognito_sub"], "agency_name": row["agency_name"],
                 "status": row["status"], "commission_rate": row["commission_rate"]}
                for row in rows if row["cognito_sub"] == identity.subject]
    return [{"sub": row["cognito_sub"], "agency_name": row["agency_name"]}
            for row in rows if row["status"] in SHOWN_TO_OPERATORS]

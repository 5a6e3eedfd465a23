"""What other services (booking-service) learn about agents, by Cognito sub."""
from __future__ import annotations

from agent_service import repository
from travel_platform.auth import Identity

# Agents an operator may see the agency name of: those who can have booked their packages.
SHOWN_TO_OPERATORS = ("active", "suspended")


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

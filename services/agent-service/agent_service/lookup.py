"""What other services (booking-service) learn about agents, by Cognito sub."""
from __future__ import annotations

from agent_service import repository
from agent_service.rules import agents_shown_to
from travel_platform.auth import Identity


def lookup_agents(*, pool, identity: Identity, subs: list[str]) -> dict:
    """What booking-service may show its caller of agents, by Cognito sub
    (rules.agents_shown_to)."""
    with pool.connection() as conn:
        rows = repository.find_agents_by_subs(conn=conn, cognito_subs=sorted(set(subs)))
    return {"data": agents_shown_to(identity, rows)}

"""Agents as administrators see and change them: review, status, commission rate."""
from __future__ import annotations

from decimal import Decimal

from agent_service import repository
from travel_platform.accounts import TRANSITIONS
from travel_platform.api import page
from travel_platform.auth import Identity
from travel_platform.errors import InvalidTransition, NotFound


def find_agent(*, conn, agent_id) -> dict:
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
        return find_agent(conn=conn, agent_id=agent_id)


def change_status(*, pool, admin: Identity, agent_id, action: str) -> dict:
    """Approve, suspend or reactivate an agent; 409 naming the current status otherwise."""
    needed, target = TRANSITIONS[action]
    with pool.connection() as conn:
        agent = repository.change_status(conn=conn, agent_id=agent_id, from_status=needed,
                                         to_status=target, changed_by=admin.subject)
        if agent is None:
            current = find_agent(conn=conn, agent_id=agent_id)["status"]
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

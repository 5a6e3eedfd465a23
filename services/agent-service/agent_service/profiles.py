"""An agent's own profile: what they see of themselves and may change."""
from __future__ import annotations

from agent_service import repository
from travel_platform.auth import Identity
from travel_platform.errors import NotFound
from travel_platform.web import identity_view


def profile_view(row: dict) -> dict:
    # Which admin changed the status is for administrators.
    return {k: v for k, v in row.items() if k != "status_changed_by"}


def no_profile() -> NotFound:
    return NotFound("this account has no travel agent profile: sign up through the API",
                    code="agent_profile_not_found")


def own_agent(*, conn, identity: Identity, for_update: bool = False) -> dict:
    agent = repository.get_agent_by_sub(conn=conn, cognito_sub=identity.subject,
                                        for_update=for_update)
    if agent is None:
        raise no_profile()
    return agent


def describe_agent(*, pool, identity: Identity) -> dict:
    """The verified identity of the caller with their agent profile."""
    with pool.connection() as conn:
        agent = own_agent(conn=conn, identity=identity)
    return {"identity": identity_view(identity), "profile": profile_view(agent)}


def update_profile(*, pool, identity: Identity, changes: dict) -> dict:
    """Change the caller's own agency name, phone or country."""
    with pool.connection() as conn:
        agent = repository.update_profile(conn=conn, cognito_sub=identity.subject,
                                          changes=changes)
    if agent is None:
        raise no_profile()
    return {"identity": identity_view(identity), "profile": profile_view(agent)}

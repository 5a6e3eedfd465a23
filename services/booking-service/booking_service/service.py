"""Rules of booking-service."""
from __future__ import annotations

from shared.auth import Identity

from booking_service import repository


def list_bookings(*, conn, identity: Identity) -> dict:
    """Bookings the caller may see, chosen by who issued their token."""
    if identity.is_agent:
        rows = repository.list_for_agent(conn=conn, agent_sub=identity.subject)
    else:
        rows = repository.list_for_operator(conn=conn, operator_id=identity.subject)
    return {"data": rows}

"""SQL of booking-service (schema `bookings` in RDS `travel_agent_db`)."""
from __future__ import annotations

_COLUMNS = "id, agent_sub, package_id, operator_id, status, created_at, updated_at"


def list_for_agent(*, conn, agent_sub: str) -> list[dict]:
    """Bookings made by one agent, newest first."""
    return conn.execute(
        f"select {_COLUMNS} from bookings.bookings where agent_sub = %s order by created_at desc",
        (agent_sub,)).fetchall()


def list_for_operator(*, conn, operator_id: str) -> list[dict]:
    """Bookings of one operator's packages, newest first."""
    return conn.execute(
        f"""select {_COLUMNS} from bookings.bookings where operator_id = %s::uuid
             order by created_at desc""",
        (operator_id,)).fetchall()

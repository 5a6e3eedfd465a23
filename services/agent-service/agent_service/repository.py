"""SQL of agent-service (RDS `travel_agent_db`)."""
from __future__ import annotations


def get_agent_by_sub(*, conn, cognito_sub: str) -> dict | None:
    """The travel agent row for a Cognito user, or None."""
    return conn.execute(
        """select id, cognito_sub, email, agency_name, status, commission_rate,
                  created_at, updated_at
             from travel_agents where cognito_sub = %s""",
        (cognito_sub,)).fetchone()

"""Helpers shared by the tests that need travel agents.

Every agent is made through the public API (sign-up, confirm, login) with a unique
e-mail, so the tests never depend on each other or on the demo data."""
from __future__ import annotations

import uuid

import psycopg

from tests.helpers import api

PASSWORD = "Sturdy-pass-2024"


def new_email(prefix: str = "agent") -> str:
    """An address no other test (or earlier run) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def sign_up(gateway: str, email: str | None = None, **fields):
    """POST /api/agents/signup with sensible defaults; returns the response."""
    payload = {"email": email or new_email(), "password": PASSWORD,
               "agency_name": "Test Travel", "country": "PT", **fields}
    return api(gateway, "POST", "/api/agents/signup", json=payload)


def confirm(gateway: str, email: str, password: str = PASSWORD):
    """POST /api/agents/confirm-signup (moto accepts any code); returns the response."""
    return api(gateway, "POST", "/api/agents/confirm-signup",
               json={"email": email, "password": password, "code": "123456"})


def login(gateway: str, email: str, password: str = PASSWORD) -> dict:
    """Tokens of an agent, through the API."""
    response = api(gateway, "POST", "/api/agents/login",
                   json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


def new_agent(gateway: str, **fields) -> dict:
    """A confirmed, logged-in, pending agent: email, tokens, token (access) and profile."""
    email = new_email()
    created = sign_up(gateway, email, **fields)
    assert created.status_code == 201, created.text
    confirmed = confirm(gateway, email)
    assert confirmed.status_code == 200, confirmed.text
    tokens = login(gateway, email)
    return {"email": email, "tokens": tokens, "token": tokens["access_token"],
            "profile": created.json()["agent"]}


def rds(stack_env):
    """A superuser connection to the test stack's RDS database (to arrange and inspect)."""
    return psycopg.connect(stack_env["RDS_ADMIN_URL"], autocommit=True)


def agent_row(stack_env, email: str) -> dict | None:
    """The travel_agents row of an address, read as the database superuser."""
    with rds(stack_env) as conn:
        row = conn.execute("select cognito_sub, status from travel_agents where email = %s",
                           (email,)).fetchone()
    return {"cognito_sub": row[0], "status": row[1]} if row else None


def set_status(stack_env, agent_id: str, status: str) -> None:
    """Put an agent in a status directly (arranging a test, not the rule under test)."""
    with rds(stack_env) as conn:
        conn.execute("update travel_agents set status = %s where id = %s", (status, agent_id))


def cognito_user(cognito, stack_env, email: str) -> dict | None:
    """The Cognito user of an address, or None."""
    try:
        return cognito.admin_get_user(UserPoolId=stack_env["AWS_COGNITO_USER_POOL_ID"],
                                      Username=email)
    except cognito.exceptions.UserNotFoundException:
        return None

"""Travel agents: signed up, confirmed and logged in through the public API; and the few
direct reads and writes of their row that arrange or inspect a test."""
from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg

from tests.helpers import api

PASSWORD = "Sturdy-pass-2024"


@dataclass(frozen=True)
class Agent:
    """A travel agent with a Cognito login and an agent row."""

    email: str
    # Cognito's answer to the login: access_token, refresh_token, id_token, ...
    tokens: dict[str, Any]
    # The agent row as the API showed it (status kept in step by `active_agent`).
    profile: dict[str, Any]

    @property
    def token(self) -> str:
        """The access token the API takes."""
        return self.tokens["access_token"]

    @property
    def id(self) -> str:
        """The agent row's id."""
        return self.profile["id"]

    @property
    def sub(self) -> str:
        """The Cognito user's `sub`."""
        return self.profile["cognito_sub"]


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


def new_agent(gateway: str, **fields) -> Agent:
    """A confirmed, logged-in, pending agent (`fields` go to the sign-up)."""
    email = new_email()
    created = sign_up(gateway, email, **fields)
    assert created.status_code == 201, created.text
    confirmed = confirm(gateway, email)
    assert confirmed.status_code == 200, confirmed.text
    return Agent(email=email, tokens=login(gateway, email), profile=created.json()["agent"])


def active_agent(gateway: str, stack_env, **fields) -> Agent:
    """A new agent already approved (set directly: arranging a test, not the rule under
    test), so it may book."""
    agent = new_agent(gateway, **fields)
    set_status(stack_env, agent.id, "active")
    return dataclasses.replace(agent, profile={**agent.profile, "status": "active"})


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

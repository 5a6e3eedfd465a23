"""Tour operators: Supabase users made with the Auth admin API and signed in with the real
supabase client, as a frontend does."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import requests


@dataclass(frozen=True)
class Operator:
    """A signed-in tour operator (no profile row until their first write)."""

    id: str
    email: str
    token: str


def _admin_headers(stack_env) -> dict[str, str]:
    key = stack_env["SUPABASE_SERVICE_ROLE_KEY"]
    return {"apikey": key, "Authorization": f"Bearer {key}"}


def new_operator(stack_env, *, prefix: str = "op") -> Operator:
    """A new confirmed Supabase user, signed in."""
    from supabase import create_client

    email, password = f"{prefix}-{uuid.uuid4().hex[:12]}@example.com", f"Pw-{uuid.uuid4().hex}"
    created = requests.post(f"{stack_env['SUPABASE_URL']}/auth/v1/admin/users",
                            headers=_admin_headers(stack_env), timeout=10,
                            json={"email": email, "password": password, "email_confirm": True})
    assert created.status_code == 200, created.text
    client = create_client(stack_env["SUPABASE_URL"], stack_env["SUPABASE_ANON_KEY"])
    session = client.auth.sign_in_with_password({"email": email, "password": password}).session
    assert session is not None and session.user.id == created.json()["id"]
    return Operator(id=session.user.id, email=email, token=session.access_token)


def delete_operator(stack_env, operator: Operator) -> None:
    """Delete the Supabase user (their rows go with them)."""
    requests.delete(f"{stack_env['SUPABASE_URL']}/auth/v1/admin/users/{operator.id}",
                    headers=_admin_headers(stack_env), timeout=10)

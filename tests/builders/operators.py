"""Tour operators: Supabase users made with the Auth admin API and signed in with the real
supabase client, as a frontend does."""
from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass

import requests

from tests.helpers import api


@dataclass(frozen=True)
class Operator:
    """A tour operator's Supabase Auth user (no profile row until their first write); `token`
    is their access token once signed in."""

    id: str
    email: str
    password: str
    token: str | None = None


def _admin_headers(stack_env) -> dict[str, str]:
    key = stack_env["SUPABASE_SERVICE_ROLE_KEY"]
    return {"apikey": key, "Authorization": f"Bearer {key}"}


def new_operator(stack_env, *, prefix: str = "op", sign_in: bool = True, **extra) -> Operator:
    """A new confirmed Supabase user (`extra`: more fields of the admin API, such as
    `ban_duration`), signed in unless `sign_in` is false."""
    from supabase import create_client

    email, password = f"{prefix}-{uuid.uuid4().hex[:12]}@example.com", f"Pw-{uuid.uuid4().hex}"
    created = requests.post(f"{stack_env['SUPABASE_URL']}/auth/v1/admin/users",
                            headers=_admin_headers(stack_env), timeout=10,
                            json={"email": email, "password": password, "email_confirm": True,
                                  **extra})
    assert created.status_code == 200, created.text
    operator = Operator(id=created.json()["id"], email=email, password=password)
    if not sign_in:
        return operator
    client = create_client(stack_env["SUPABASE_URL"], stack_env["SUPABASE_ANON_KEY"])
    session = client.auth.sign_in_with_password({"email": email, "password": password}).session
    assert session is not None and session.user.id == operator.id
    return dataclasses.replace(operator, token=session.access_token)


def approve(gateway: str, operator: Operator, *, admin_token: str) -> Operator:
    """Have an administrator approve the operator (issue 10, item 4: only active operators
    publish and confirm), after their first write made their profile."""
    made = api(gateway, "PATCH", "/api/operators/me", operator.token, json={})
    assert made.status_code == 200, made.text
    approved = api(gateway, "POST", f"/api/operators/{operator.id}/approve", admin_token)
    assert approved.status_code == 200, approved.text
    return operator


def delete_operator(stack_env, operator: Operator) -> None:
    """Delete the Supabase user (their rows go with them)."""
    requests.delete(f"{stack_env['SUPABASE_URL']}/auth/v1/admin/users/{operator.id}",
                    headers=_admin_headers(stack_env), timeout=10)


def update_operator(stack_env, operator: Operator, **fields) -> None:
    """Change the Supabase user as an administrator would in the dashboard (PUT
    /auth/v1/admin/users/{id}): `password=`, `ban_duration=` ("24h", "none"), ..."""
    updated = requests.put(f"{stack_env['SUPABASE_URL']}/auth/v1/admin/users/{operator.id}",
                           headers=_admin_headers(stack_env), timeout=10, json=fields)
    assert updated.status_code == 200, updated.text

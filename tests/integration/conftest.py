"""Fixtures shared by the integration tests (the stack itself is in tests/conftest.py)."""
from __future__ import annotations

import uuid

import pytest
import requests

from tests.helpers import Operator
from tests.integration.agents import PASSWORD, login, new_email


@pytest.fixture(scope="module")
def admin(stack_env, cognito, gateway) -> dict:
    """A member of the Cognito group `admins`, made with the admin APIs (no agent row)."""
    pool_id, email = stack_env["AWS_COGNITO_USER_POOL_ID"], new_email("admin")
    cognito.admin_create_user(UserPoolId=pool_id, Username=email, MessageAction="SUPPRESS",
                              UserAttributes=[{"Name": "email", "Value": email},
                                              {"Name": "email_verified", "Value": "true"}])
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=PASSWORD,
                                    Permanent=True)
    cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName="admins")
    return {"email": email, "token": login(gateway, email)["access_token"]}


@pytest.fixture(scope="module")
def new_operator(stack_env):
    """Make tour operators: Supabase users via the admin API, signed in with the real
    supabase client. They are deleted (and their rows with them) after the module."""
    from supabase import create_client

    admin = {"apikey": stack_env["SUPABASE_SERVICE_ROLE_KEY"],
             "Authorization": f"Bearer {stack_env['SUPABASE_SERVICE_ROLE_KEY']}"}
    users_url = f"{stack_env['SUPABASE_URL']}/auth/v1/admin/users"
    made: list[str] = []

    def make() -> Operator:
        email, password = f"op-{uuid.uuid4().hex[:12]}@example.com", f"Pw-{uuid.uuid4().hex}"
        created = requests.post(users_url, headers=admin, timeout=10,
                                json={"email": email, "password": password, "email_confirm": True})
        assert created.status_code == 200, created.text
        made.append(created.json()["id"])
        client = create_client(stack_env["SUPABASE_URL"], stack_env["SUPABASE_ANON_KEY"])
        session = client.auth.sign_in_with_password({"email": email, "password": password}).session
        return Operator(id=session.user.id, email=email, token=session.access_token)

    yield make
    for user_id in made:
        requests.delete(f"{users_url}/{user_id}", headers=admin, timeout=10)

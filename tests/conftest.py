"""Shared fixtures. Integration tests run against a whole local stack that this session
starts on its own ports and state folder (never the one `make up` runs) and stops at the
end, also when tests fail."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import boto3
import pytest
import requests

from devstack import postgres, processes, stack
from devstack.layout import REPO, Layout
from tests.e2e.agents import PASSWORD, login, new_email
from tests.helpers import Operator


def _test_state() -> Path:
    # PostgreSQL runs as `postgres` and must reach its data folder; a clone under a private
    # home folder cannot host it, so the test stack moves to the temp folder instead.
    preferred = Path(os.environ.get("TEST_STATE_DIR", REPO / ".dev-test"))
    if os.geteuid() != 0 or subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x",
                                            str(REPO)]).returncode == 0:
        return preferred
    return Path(tempfile.gettempdir()) / ("travel-platform-test-" +
                                                hashlib.sha256(bytes(REPO)).hexdigest()[:8])


TEST_STATE = _test_state()
TEST_PORT_OFFSET = int(os.environ.get("TEST_PORT_OFFSET", "10000"))
# The test stacks run the production rate limits, but the whole suite calls them from one
# address: that address is exempt, and the tests of the limits call from others
# (tests/e2e/test_rate_limits.py; helpers.client_at).
SUITE_ADDRESS = "127.0.0.1"
for _name in ("GATEWAY_RATE_LIMIT_EXEMPT", "AUTH_RATE_LIMIT_EXEMPT"):
    os.environ.setdefault(_name, f"{SUITE_ADDRESS}/32")


@pytest.fixture(scope="session")
def test_layout() -> Layout:
    """Where the test stack lives."""
    return Layout(state=TEST_STATE, port_offset=TEST_PORT_OFFSET)


@pytest.fixture(scope="session")
def stack_env(test_layout: Layout):
    """Start a fresh stack for this session; yield its settings; always stop it."""
    stack.down(test_layout)
    shutil.rmtree(test_layout.state, ignore_errors=True)
    try:
        yield stack.up(test_layout)
    finally:
        stack.down(test_layout)
        # A record is removed only once no process of the part's group is left.
        left = [n for n in stack.PROCESS_ORDER if processes.read_record(test_layout, n)]
        left += [p for p in ("supabase-db", "rds") if postgres.is_running(test_layout, p)]
        assert not left, f"`down` left these running: {left}"


@pytest.fixture(scope="session")
def gateway(stack_env) -> str:
    """Base URL of the test stack's gateway."""
    return stack_env["GATEWAY_URL"]


@pytest.fixture(scope="session")
def cognito(stack_env):
    """A boto3 Cognito client pointed at the stack's AWS endpoint."""
    return boto3.client("cognito-idp", endpoint_url=stack_env["AWS_ENDPOINT_URL"],
                        region_name=stack_env["AWS_REGION"], aws_access_key_id="test",
                        aws_secret_access_key="test")


@pytest.fixture(scope="session")
def agent_tokens(stack_env, cognito) -> dict:
    """Tokens of the demo travel agent, from Cognito's USER_PASSWORD_AUTH flow."""
    result = cognito.initiate_auth(
        ClientId=stack_env["AWS_COGNITO_CLIENT_ID"], AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": stack_env["DEMO_AGENT_EMAIL"],
                        "PASSWORD": stack_env["DEMO_AGENT_PASSWORD"]})
    return result["AuthenticationResult"]


@pytest.fixture(scope="session")
def agent_token(agent_tokens) -> str:
    """The demo agent's access token."""
    return agent_tokens["AccessToken"]


@pytest.fixture(scope="session")
def operator_session(stack_env):
    """The demo tour operator signed in with the real supabase client."""
    from supabase import create_client

    client = create_client(stack_env["SUPABASE_URL"], stack_env["SUPABASE_ANON_KEY"])
    response = client.auth.sign_in_with_password(
        {"email": stack_env["DEMO_OPERATOR_EMAIL"],
         "password": stack_env["DEMO_OPERATOR_PASSWORD"]})
    return response.session


@pytest.fixture(scope="session")
def operator_token(operator_session) -> str:
    """The demo operator's access token."""
    return operator_session.access_token


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

"""Shared fixtures. Integration tests run against a whole local stack that this session
starts on its own ports and state folder (never the one `make up` runs) and stops at the
end, also when tests fail."""
from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from devstack import api as devstack
from devstack.api import Layout
from tests.builders import operators
from tests.builders.admins import Admin, cognito_client, new_admin
from tests.builders.operators import Operator
from tests.helpers import REPO


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
# A stack already running (the containers of docker-compose.yml: `make compose-test` sets
# TEST_STACK_ENV=.compose/stack.env): the tests use it instead of starting their own, at the
# ports of a stack at offset 0, with its files beside that stack.env. Tests marked
# `devstack` start, stop or look inside devstack's own processes, and are left out.
TEST_STACK_ENV = os.environ.get("TEST_STACK_ENV")
# The test stacks run the production rate limits, but the whole suite calls them from one
# address: that address is exempt, and the tests of the limits call from others
# (tests/e2e/test_rate_limits.py; helpers.client_at).
SUITE_ADDRESS = "127.0.0.1"
for _name in ("GATEWAY_RATE_LIMIT_EXEMPT", "AUTH_RATE_LIMIT_EXEMPT"):
    os.environ.setdefault(_name, f"{SUITE_ADDRESS}/32")
# Another loopback address plays the load balancer in front of the gateway: the gateway
# takes the client's address from X-Forwarded-For on its connections only
# (tests/e2e/test_rate_limits.py).
TRUSTED_PROXY = "127.0.0.2"
os.environ.setdefault("GATEWAY_TRUSTED_PROXIES", f"{TRUSTED_PROXY}/32")


def pytest_collection_modifyitems(config, items):
    # Each test runs against the stacks it is written for.
    skip, left_out = ((pytest.mark.skip(reason=f"needs devstack's own stack; the stack under "
                                               f"test is {TEST_STACK_ENV}"), "devstack")
                      if TEST_STACK_ENV else
                      (pytest.mark.skip(reason="needs the containers' stack: make compose-test"),
                       "containers"))
    for item in items:
        if left_out in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def test_layout() -> Layout:
    """Where the test stack lives."""
    if TEST_STACK_ENV:
        return Layout(state=Path(TEST_STACK_ENV).resolve().parent)
    return Layout(state=TEST_STATE, port_offset=TEST_PORT_OFFSET)


@pytest.fixture(scope="session")
def stack_env(test_layout: Layout):
    """Start a fresh stack for this session; yield its settings; always stop it. (Or the
    settings of the running stack TEST_STACK_ENV names, left running.)"""
    if TEST_STACK_ENV:
        yield devstack.read_stack_env(Path(TEST_STACK_ENV))
        return
    with devstack.fresh_stack(test_layout) as env:
        yield env
    left = devstack.running_parts(test_layout)
    assert not left, f"`down` left these running: {left}"


@pytest.fixture(scope="session")
def gateway(stack_env) -> str:
    """Base URL of the test stack's gateway."""
    return stack_env["GATEWAY_URL"]


@pytest.fixture(scope="session")
def cognito(stack_env):
    """A boto3 Cognito client pointed at the stack's AWS endpoint."""
    return cognito_client(stack_env)


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
def admin(stack_env, cognito, gateway) -> Admin:
    """A member of the Cognito group `admins`, made with the admin APIs (no agent row)."""
    return new_admin(gateway, stack_env, cognito)


@pytest.fixture(scope="module")
def new_operator(stack_env, gateway, admin):
    """Make tour operators (`new_operator()`: approved by an administrator, so they publish;
    `new_operator(active=False)`: pending, without a profile); they are deleted, and their
    rows with them, after the module."""
    made: list[Operator] = []

    def make(*, active: bool = True) -> Operator:
        made.append(operators.new_operator(stack_env))
        if active:
            operators.approve(gateway, made[-1], admin_token=admin.token)
        return made[-1]

    yield make
    for operator in made:
        operators.delete_operator(stack_env, operator)

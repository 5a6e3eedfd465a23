"""Read a stack.env file (KEY=value lines, shell-quoted where needed); the demo agent's
access token."""
from __future__ import annotations

import requests

from devstack.stackenv import read_file as read_env  # noqa: F401  (the benchmarks' reader)


def demo_agent_token(env: dict[str, str]) -> str:
    """The demo travel agent's access token, through the gateway's login."""
    login = requests.post(f"{env['GATEWAY_URL']}/api/agents/login", timeout=10,
                          json={"email": env["DEMO_AGENT_EMAIL"],
                                "password": env["DEMO_AGENT_PASSWORD"]})
    login.raise_for_status()
    return login.json()["access_token"]

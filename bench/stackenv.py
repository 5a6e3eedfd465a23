"""Read a stack.env file (KEY=value lines, shell-quoted where needed); the demo agent's
access token."""
from __future__ import annotations

import shlex
from pathlib import Path

import requests


def read_env(path: Path) -> dict[str, str]:
    """The settings of a running stack."""
    values = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, raw = line.split("=", 1)
            values[key] = " ".join(shlex.split(raw))
    return values


def demo_agent_token(env: dict[str, str]) -> str:
    """The demo travel agent's access token, through the gateway's login."""
    login = requests.post(f"{env['GATEWAY_URL']}/api/agents/login", timeout=10,
                          json={"email": env["DEMO_AGENT_EMAIL"],
                                "password": env["DEMO_AGENT_PASSWORD"]})
    login.raise_for_status()
    return login.json()["access_token"]

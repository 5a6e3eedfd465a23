"""What every benchmark shares: the stack's settings (stack.env), the demo agent's access
token, and the rule that a figure is printed only from requests that all succeeded: a
benchmark whose own traffic was refused (a 429 included) measured the refusal, not the
system, so it says so in one line and exits 1 instead."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import requests

from devstack.api import read_stack_env

EXEMPT_HINT = ("start the stack with GATEWAY_RATE_LIMIT_EXEMPT=127.0.0.1/32 "
               "AUTH_RATE_LIMIT_EXEMPT=127.0.0.1/32 make up")


def read_env(path: Path) -> dict[str, str]:
    """The settings of the stack `path` (its stack.env) describes; one line and exit 1 when
    there is none, since no benchmark can run without a stack."""
    if not path.is_file():
        refuse(f"{path} does not exist: start the stack first (make up), or pass --env "
               "STATE/stack.env of a running one")
    return read_stack_env(path)


def refuse(reason: str) -> NoReturn:
    """Stop the benchmark with one line on stderr and exit status 1, printing no figure."""
    name = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else "benchmark"
    raise SystemExit(f"{name}: {' '.join(reason.split())}; no figure printed")


def expect_ok(response: requests.Response, what: str) -> requests.Response:
    """`response` if it is a 2xx; else refuse, naming the request and, for a 429, the
    setting the stack lacks."""
    if 200 <= response.status_code < 300:
        return response
    if response.status_code == 429:
        refuse(f"{what} was rate-limited (429): {EXEMPT_HINT}")
    text = " ".join(response.text.split())[:160]
    refuse(f"{what} answered {response.status_code} {text}")


def demo_agent_token(env: dict[str, str]) -> str:
    """The demo travel agent's access token, through the gateway's login."""
    login = requests.post(f"{env['GATEWAY_URL']}/api/agents/login", timeout=10,
                          json={"email": env["DEMO_AGENT_EMAIL"],
                                "password": env["DEMO_AGENT_PASSWORD"]})
    return expect_ok(login, "the demo agent's login").json()["access_token"]


def demo_operator_token(env: dict[str, str]) -> str:
    """The demo tour operator's access token, from the Supabase Auth stand-in's sign-in."""
    answer = requests.post(f"{env['SUPABASE_URL']}/auth/v1/token?grant_type=password",
                           headers={"apikey": env["SUPABASE_ANON_KEY"]}, timeout=10,
                           json={"email": env["DEMO_OPERATOR_EMAIL"],
                                 "password": env["DEMO_OPERATOR_PASSWORD"]})
    return expect_ok(answer, "the demo operator's sign-in").json()["access_token"]

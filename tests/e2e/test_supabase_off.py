""""Supabase off" (issue 24, item 5; docs/deployment.md): once every unit of the move and the
operators' logins are finalized, the platform runs with no Supabase setting at all and the
Supabase project's processes stopped, and a part started that way before then refuses to
start, naming what is still on Supabase.

The move changes which tokens and databases the whole stack uses, so this module has a stack
of its own (started here, stopped after, also when tests fail). The tests run in order: each
leaves the move where the next expects it."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect

from devstack import api as devstack
from devstack.api import Layout
from tests.builders.agents import login
from tests.builders.bookings import new_booking
from tests.builders.operators import new_operator
from tests.builders.packages import package_fields, publish_package
from tests.conftest import TEST_PORT_OFFSET, TEST_STATE
from tests.e2e.browser import browser_fixture, page_fixture, sign_in  # noqa: F401
from tests.e2e.migration import RehearsalWriter, ok, status
from tests.e2e.test_operator_logins import GROUPS, _move, log_in, supabase_sign_in
from tests.helpers import api

# `devstack`: a devstack stack of its own.
pytestmark = [pytest.mark.stack, pytest.mark.devstack]
LAYOUT = Layout(state=Path(f"{TEST_STATE}-supabase-off"), port_offset=TEST_PORT_OFFSET + 5000)
SUPABASE_PARTS = ("supabase-auth", "supabase-db")
# What one test leaves the next (they run in order).
LEFT: dict = {}


@pytest.fixture(scope="module")
def env() -> Iterator[dict[str, str]]:
    """A fresh whole stack, Supabase on, whose operator tables and logins the tests move."""
    with devstack.fresh_stack(LAYOUT) as env:
        yield env


def refused_start(env: dict) -> str:
    """`up --supabase off`, which must fail; the lines the parts that refused to start
    logged meanwhile (gunicorn's own shutdown follows them, so devstack's failure shows only
    the end of the log). Then the stack as it was (Supabase on), for the next steps."""
    logs = {part: LAYOUT.logs / f"{part}.log" for part in devstack.SERVICES}
    sizes = {part: log.stat().st_size if log.exists() else 0 for part, log in logs.items()}
    with pytest.raises((RuntimeError, devstack.StackError)):
        devstack.up(LAYOUT, supabase=False)
    said = [line for part, log in logs.items() if log.exists()
            for line in log.read_bytes()[sizes[part]:].decode(errors="replace").splitlines()
            if "SettingsError" in line]
    devstack.up(LAYOUT)
    return "\n".join(said)


def test_before_the_move_a_part_refuses_to_start_with_supabase_off(env):
    said = refused_start(env)
    # The first part to start (every part admits operators) names the logins still on
    # Supabase Auth, and what to do.
    assert "operators' logins are new" in said, said
    assert "finalize" in said and "set the Supabase settings" in said
    # Meanwhile, with Supabase on again, everything works as before.
    token = supabase_sign_in(env, env["DEMO_OPERATOR_EMAIL"], env["DEMO_OPERATOR_PASSWORD"])
    assert api(env["GATEWAY_URL"], "GET", "/api/operators/me", token).status_code == 200


def test_with_the_logins_finalized_operator_service_names_the_units_left(env):
    gateway = env["GATEWAY_URL"]
    demo = env["DEMO_OPERATOR_EMAIL"], env["DEMO_OPERATOR_PASSWORD"]
    token = supabase_sign_in(env, *demo)
    LEFT["supabase_token"] = token
    # An operator waiting for approval, to be approved once Supabase is off.
    pending = new_operator(env, prefix="pending")
    assert api(gateway, "PATCH", "/api/operators/me", pending.token, json={}).status_code == 200
    LEFT["pending"] = pending
    for carrier, members in GROUPS:
        _move(env, carrier, members, token)
    # The demo operator moves by signing in (same password); everyone else is imported.
    assert log_in(env, *demo).status_code == 200
    ok(env, "import-logins", "operators")
    for carrier, _members in GROUPS:
        ok(env, "finalize", carrier)
    said = refused_start(env)
    # Every part but operator-service starts (the logins are final); operator-service
    # refuses, naming the one unit never moved.
    assert "these units are still on Supabase: rehearsal" in said, said
    assert "packages" not in said.split("still on Supabase:")[1].split(".")[0]


def test_once_everything_is_finalized_the_stack_runs_with_supabase_off(env):
    carrier = "rehearsal"
    # Nothing in the product reads the rehearsal table: a writer reads it (shadowed) as
    # operator-service's own routing code would.
    with RehearsalWriter(env) as writer:
        ok(env, "backup", carrier)
        ok(env, "start", carrier)
        ok(env, "verify", carrier)
        ok(env, "shadow", carrier, "on")
        time.sleep(1)
        ok(env, "switch-reads", carrier)
        ok(env, "switch-writes", carrier)
        time.sleep(1)
        ok(env, "finalize", carrier)
    assert writer.failures == [], writer.failures[:5]
    assert {unit["state"] for unit in status(env).values()} == {"finalized"}
    off = devstack.up(LAYOUT, supabase=False)
    assert not [name for name in off if name.startswith("SUPABASE")]
    running = devstack.running_parts(LAYOUT)
    assert not set(SUPABASE_PARTS) & set(running), running
    # No part was given a Supabase variable.
    for part in devstack.SERVICES:
        pid = devstack.main_pid(LAYOUT, part)
        assert pid is not None, part
        environ = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
        assert not [v for v in environ if v.startswith("SUPABASE")], part
    # Nor is the Supabase database watched: no target down on purpose (`up == 0` alerts).
    deadline = time.monotonic() + 30   # Prometheus, restarted, lists its targets soon after
    while True:
        targets = requests.get(f"{off['PROMETHEUS_URL']}/api/v1/targets", timeout=5).json()
        servers = {t["labels"].get("server") for t in targets["data"]["activeTargets"]}
        if "rds" in servers or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert "rds" in servers and "supabase-db" not in servers, servers
    LEFT["off"] = off


def test_agents_sign_in_browse_and_book(env):
    gateway = LEFT["off"]["GATEWAY_URL"]
    operator = log_in(env, env["DEMO_OPERATOR_EMAIL"], env["DEMO_OPERATOR_PASSWORD"])
    assert operator.status_code == 200, operator.text
    package = publish_package(gateway, operator.json()["access_token"])
    agent = login(gateway, env["DEMO_AGENT_EMAIL"], env["DEMO_AGENT_PASSWORD"])["access_token"]
    catalogue = api(gateway, "GET", "/api/packages?limit=10", agent)
    assert catalogue.status_code == 200 and catalogue.json(), catalogue.text
    shown = api(gateway, "GET", f"/api/packages/{package.id}", agent)
    assert shown.status_code == 200, shown.text
    booking = new_booking(gateway, agent, package, travellers=1)
    LEFT["booking"] = booking


def test_operators_sign_in_manage_packages_and_see_bookings(env):
    gateway = env["GATEWAY_URL"]
    token = log_in(env, env["DEMO_OPERATOR_EMAIL"],
                   env["DEMO_OPERATOR_PASSWORD"]).json()["access_token"]
    made = api(gateway, "POST", "/api/operators/me/packages", token, json=package_fields())
    assert made.status_code == 201, made.text
    mine = api(gateway, "GET", "/api/operators/me/packages?limit=100", token)
    assert made.json()["id"] in json.dumps(mine.json())
    bookings = api(gateway, "GET", "/api/bookings?limit=100", token)
    assert bookings.status_code == 200 and LEFT["booking"].id in json.dumps(bookings.json())


def test_an_administrator_approves_an_operator(env):
    gateway = env["GATEWAY_URL"]
    admin = login(gateway, env["DEMO_ADMIN_EMAIL"], env["DEMO_ADMIN_PASSWORD"])["access_token"]
    pending = LEFT["pending"]
    approved = api(gateway, "POST", f"/api/operators/{pending.id}/approve", admin)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "active"


def test_a_supabase_token_is_an_unknown_issuer(env):
    refused = api(env["GATEWAY_URL"], "GET", "/api/operators/me", LEFT["supabase_token"])
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "token_unknown_issuer"


def test_the_dashboard_names_no_supabase_and_its_operator_console_works(env, page: Page):
    gateway = env["GATEWAY_URL"]
    config = requests.get(f"{gateway}/config.json", timeout=5)
    assert "supabase" not in config.text.lower()
    csp = requests.get(f"{gateway}/", timeout=5).headers["Content-Security-Policy"]
    assert str(devstack.BASE_PORTS["supabase-auth"] + LAYOUT.port_offset) not in csp
    sign_in(page, gateway, env["DEMO_OPERATOR_EMAIL"], env["DEMO_OPERATOR_PASSWORD"],
            operator=True)
    expect(page.get_by_role("heading", name="My packages")).to_be_visible()
    page.get_by_role("link", name="Bookings").click()
    expect(page.get_by_role("heading", name="Bookings of my packages")).to_be_visible()

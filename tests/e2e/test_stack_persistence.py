"""What people put in the local stack outlives `make down && make up` and every `make up`:
logins, agents, documents, bookings (moto's state is journalled and replayed), and what
users changed after the demo data was seeded."""
from __future__ import annotations

import os

import pytest
import requests

from devstack import processes, stack
from tests.e2e.agents import login, new_agent, set_status
from tests.e2e.packages import publish_package
from tests.e2e.test_agent_documents import PDF, uploaded_document
from tests.e2e.test_bookings import book, booking_body
from tests.helpers import api

pytestmark = pytest.mark.stack


def _demo_login(gateway, stack_env) -> dict:
    return login(gateway, stack_env["DEMO_AGENT_EMAIL"], stack_env["DEMO_AGENT_PASSWORD"])


def test_down_and_up_keeps_every_login_agent_document_and_booking(
        gateway, stack_env, test_layout, operator_token):
    agent = new_agent(gateway)                    # signed up before the restart
    set_status(stack_env, agent["profile"]["id"], "active")
    document = uploaded_document(gateway, agent["token"])
    package = publish_package(gateway, operator_token, capacity=50)
    booked = book(gateway, agent["token"], booking_body(package, 2))
    assert booked.status_code == 201, booked.text
    demo_token = _demo_login(gateway, stack_env)["access_token"]
    demo_before = api(gateway, "GET", "/api/agents/me", demo_token)
    assert demo_before.status_code == 200

    stack.down(test_layout)
    assert not [n for n in stack.PROCESS_ORDER if processes.read_record(test_layout, n)]
    env = stack.up(test_layout)

    # Same pool, client, bucket and secrets: the settings file did not change.
    assert env == stack_env
    # A token minted before the restart still works, for the API and for Cognito itself.
    me = api(gateway, "GET", "/api/agents/me", agent["token"])
    assert me.status_code == 200, me.text
    assert me.json()["profile"]["id"] == agent["profile"]["id"]
    assert me.json()["profile"]["status"] == "active"
    refreshed = api(gateway, "POST", "/api/agents/refresh",
                    json={"refresh_token": agent["tokens"]["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    tokens = login(gateway, agent["email"])       # the same Cognito user, the same sub
    assert api(gateway, "GET", "/api/agents/me", tokens["access_token"]).json() == me.json()
    demo_token = _demo_login(gateway, stack_env)["access_token"]
    demo_after = api(gateway, "GET", "/api/agents/me", demo_token)
    assert demo_after.json() == demo_before.json()

    listed = api(gateway, "GET", "/api/agents/me/documents", tokens["access_token"])
    assert listed.json()["data"] == [document]
    link = api(gateway, "GET", f"/api/agents/me/documents/{document['id']}/download",
               tokens["access_token"])
    assert link.status_code == 200, link.text
    assert requests.get(link.json()["url"], timeout=10).content == PDF

    booking_id = booked.json()["id"]
    again = api(gateway, "GET", f"/api/bookings/{booking_id}", tokens["access_token"])
    assert again.status_code == 200, again.text
    assert again.json()["status"] == booked.json()["status"]
    assert api(gateway, "POST", "/api/agents/logout", agent["token"]).status_code == 204


def test_up_does_not_undo_what_users_did_to_the_demo_data(
        gateway, stack_env, test_layout, admin, operator_token):
    pending = api(gateway, "GET", "/api/agents?status=pending&limit=100", admin["token"])
    seeded = next(a for a in pending.json()["data"] if a["email"] == "pending2@demo.travel")
    approved = api(gateway, "POST", f"/api/agents/{seeded['id']}/approve", admin["token"])
    assert approved.status_code == 200, approved.text
    renamed = api(gateway, "PATCH", "/api/operators/me", operator_token,
                  json={"company_name": "Demo Tours Renamed"})
    assert renamed.status_code == 200, renamed.text
    try:
        stack.up(test_layout)
        agent = api(gateway, "GET", f"/api/agents/{seeded['id']}", admin["token"]).json()
        assert agent["status"] == "active"
        profile = api(gateway, "GET", "/api/operators/me", operator_token).json()["profile"]
        assert profile["company_name"] == "Demo Tours Renamed"
    finally:
        api(gateway, "PATCH", "/api/operators/me", operator_token,
            json={"company_name": "Demo Tours"})
        set_status(stack_env, seeded["id"], "pending")


def test_the_callers_path_and_home_restart_nothing(test_layout, stack_env, monkeypatch, capsys):
    pids = {name: processes.running_pid(test_layout, name) for name in stack.PROCESS_ORDER}
    monkeypatch.setenv("PATH", f"{test_layout.python.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HOME", "/nonexistent-home")
    stack.up(test_layout)
    assert {name: processes.running_pid(test_layout, name) for name in stack.PROCESS_ORDER} == pids
    out = capsys.readouterr().out
    assert "started" not in out and "restarted" not in out

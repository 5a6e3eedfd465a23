"""What people put in the local stack outlives `make down && make up` and every `make up`:
logins, agents, documents, bookings (moto's state is journalled and replayed), and what
users changed after the demo data was seeded."""
from __future__ import annotations

import os

import pytest
import requests

from devstack import api as devstack
from tests.builders.agents import active_agent, login, set_status
from tests.builders.bookings import new_booking
from tests.builders.documents import PDF, uploaded_document
from tests.builders.packages import publish_package
from tests.helpers import api

# `devstack`: devstack's own down and up.
pytestmark = [pytest.mark.stack, pytest.mark.devstack]


def _demo_login(gateway, stack_env) -> dict:
    return login(gateway, stack_env["DEMO_AGENT_EMAIL"], stack_env["DEMO_AGENT_PASSWORD"])


def test_down_and_up_keeps_every_login_agent_document_and_booking(
        gateway, stack_env, test_layout, operator_token):
    agent = active_agent(gateway, stack_env)      # signed up before the restart
    document = uploaded_document(gateway, agent.token)
    package = publish_package(gateway, operator_token, capacity=50)
    booked = new_booking(gateway, agent.token, package)
    demo_token = _demo_login(gateway, stack_env)["access_token"]
    demo_before = api(gateway, "GET", "/api/agents/me", demo_token)
    assert demo_before.status_code == 200

    devstack.down(test_layout)
    assert devstack.running_parts(test_layout) == []
    env = devstack.up(test_layout)

    # Same pool, client, bucket and secrets: the settings file did not change.
    assert env == stack_env
    # A token minted before the restart still works, for the API and for Cognito itself.
    me = api(gateway, "GET", "/api/agents/me", agent.token)
    assert me.status_code == 200, me.text
    assert me.json()["profile"]["id"] == agent.id
    assert me.json()["profile"]["status"] == "active"
    refreshed = api(gateway, "POST", "/api/agents/refresh",
                    json={"refresh_token": agent.tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    tokens = login(gateway, agent.email)       # the same Cognito user, the same sub
    assert api(gateway, "GET", "/api/agents/me", tokens["access_token"]).json() == me.json()
    demo_token = _demo_login(gateway, stack_env)["access_token"]
    demo_after = api(gateway, "GET", "/api/agents/me", demo_token)
    assert demo_after.json() == demo_before.json()

    listed = api(gateway, "GET", "/api/agents/me/documents", tokens["access_token"])
    assert listed.json()["data"] == [document.answer]
    link = api(gateway, "GET", f"/api/agents/me/documents/{document.id}/download",
               tokens["access_token"])
    assert link.status_code == 200, link.text
    assert requests.get(link.json()["url"], timeout=10).content == PDF

    again = api(gateway, "GET", f"/api/bookings/{booked.id}", tokens["access_token"])
    assert again.status_code == 200, again.text
    assert again.json()["status"] == booked.status
    assert api(gateway, "POST", "/api/agents/logout", agent.token).status_code == 204


def test_up_does_not_undo_what_users_did_to_the_demo_data(
        gateway, stack_env, test_layout, admin, operator_token):
    pending = api(gateway, "GET", "/api/agents?status=pending&limit=100", admin.token)
    seeded = next(a for a in pending.json()["data"] if a["email"] == "pending2@demo.travel")
    approved = api(gateway, "POST", f"/api/agents/{seeded['id']}/approve", admin.token)
    assert approved.status_code == 200, approved.text
    renamed = api(gateway, "PATCH", "/api/operators/me", operator_token,
                  json={"company_name": "Demo Tours Renamed"})
    assert renamed.status_code == 200, renamed.text
    try:
        devstack.up(test_layout)
        agent = api(gateway, "GET", f"/api/agents/{seeded['id']}", admin.token).json()
        assert agent["status"] == "active"
        profile = api(gateway, "GET", "/api/operators/me", operator_token).json()["profile"]
        assert profile["company_name"] == "Demo Tours Renamed"
    finally:
        api(gateway, "PATCH", "/api/operators/me", operator_token,
            json={"company_name": "Demo Tours"})
        set_status(stack_env, seeded["id"], "pending")


def test_the_callers_path_and_home_restart_nothing(test_layout, stack_env, monkeypatch, capsys):
    pids = {part: devstack.main_pid(test_layout, part) for part in devstack.PARTS}
    monkeypatch.setenv("PATH", f"{test_layout.python.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HOME", "/nonexistent-home")
    devstack.up(test_layout)
    assert {part: devstack.main_pid(test_layout, part) for part in devstack.PARTS} == pids
    out = capsys.readouterr().out
    assert "started" not in out and "restarted" not in out

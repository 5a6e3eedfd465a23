"""Administration of travel agents by the Cognito group `admins`, who may call what, and the
agent lookup booking-service uses (/internal/agents, never routed by the gateway)."""
from __future__ import annotations

import uuid

import jwt
import pytest
import requests

from tests.builders.agents import new_agent, set_status
from tests.helpers import api, bearer, logged_request_ids

pytestmark = pytest.mark.stack


def test_approve_suspend_reactivate_with_illegal_steps_refused(gateway, admin):
    agent = new_agent(gateway)
    path, token = f"/api/agents/{agent.id}", admin.token

    def step(action: str, expected: int, current: str | None = None):
        response = api(gateway, "POST", f"{path}/{action}", token)
        assert response.status_code == expected, (action, response.text)
        if expected == 409:
            error = response.json()["error"]
            assert error["code"] == "invalid_status_transition"
            assert error["details"][0]["current_status"] == current
        return response.json()

    step("suspend", 409, "pending")
    step("reactivate", 409, "pending")
    approved = step("approve", 200)
    assert approved["status"] == "active"
    assert approved["status_changed_by"] == _sub(admin.token)
    assert approved["status_changed_at"]
    step("approve", 409, "active")
    step("reactivate", 409, "active")
    assert step("suspend", 200)["status"] == "suspended"
    step("suspend", 409, "suspended")
    step("approve", 409, "suspended")
    assert step("reactivate", 200)["status"] == "active"
    me = api(gateway, "GET", "/api/agents/me", agent.token).json()["profile"]
    assert me["status"] == "active" and "status_changed_by" not in me


def _sub(token: str) -> str:
    return jwt.decode(token, options={"verify_signature": False})["sub"]


@pytest.mark.parametrize("rate, stored", [("0.1250", "0.1250"), (0.07, "0.0700"), (0, "0.0000"),
                                          ("1", "1.0000")])
def test_commission_rate_is_exact(gateway, admin, rate, stored):
    agent = new_agent(gateway)
    response = api(gateway, "PUT", f"/api/agents/{agent.id}/commission-rate",
                   admin.token, json={"commission_rate": rate})
    assert response.status_code == 200, response.text
    assert response.json()["commission_rate"] == stored
    assert api(gateway, "GET", "/api/agents/me", agent.token).json()["profile"][
        "commission_rate"] == stored


@pytest.mark.parametrize("rate", ["1.0001", -0.1, "0.12345", "NaN", "abc", None, True])
def test_commission_rate_outside_0_to_1_or_inexact_is_400(gateway, admin, rate):
    agent = new_agent(gateway)
    response = api(gateway, "PUT", f"/api/agents/{agent.id}/commission-rate",
                   admin.token, json={"commission_rate": rate})
    assert response.status_code == 400, response.text
    assert [d["field"] for d in response.json()["error"]["details"]] == ["commission_rate"]


def test_list_by_status_is_paginated_with_a_hard_maximum(gateway, admin, stack_env):
    fresh = [new_agent(gateway) for _ in range(3)]
    set_status(stack_env, fresh[2].id, "suspended")
    ids = {a.id for a in fresh}

    def all_pages(status: str) -> list[dict]:
        rows, offset, totals = [], 0, set()
        while offset is not None:
            page = api(gateway, "GET", "/api/agents", admin.token,
                       params={"status": status, "limit": 2, "offset": offset})
            assert page.status_code == 200, page.text
            assert len(page.json()["data"]) <= 2
            assert (page.json()["limit"], page.json()["offset"]) == (2, offset)
            rows += page.json()["data"]
            totals.add(page.json()["total"])
            offset = page.json()["next_offset"]
        assert totals == {len(rows)}  # every page counts every match, and pages cover them
        return rows

    pending = all_pages("pending")
    assert {r["status"] for r in pending} == {"pending"}
    assert {fresh[0].id, fresh[1].id} <= {r["id"] for r in pending}
    suspended_ids = {r["id"] for r in all_pages("suspended")}
    assert suspended_ids & ids == {fresh[2].id}
    unfiltered = api(gateway, "GET", "/api/agents", admin.token, params={"limit": 100})
    assert unfiltered.status_code == 200 and len(unfiltered.json()["data"]) >= 3

    for params, field in (({"limit": 101}, "limit"), ({"limit": 0}, "limit"),
                          ({"status": "deleted"}, "status"), ({"offset": -1}, "offset"),
                          ({"sort": "email"}, "sort")):
        refused = api(gateway, "GET", "/api/agents", admin.token, params=params)
        assert refused.status_code == 400, (params, refused.text)
        assert [d["field"] for d in refused.json()["error"]["details"]] == [field]


def test_admins_see_one_agent_and_unknown_agents_are_404(gateway, admin):
    agent = new_agent(gateway)
    shown = api(gateway, "GET", f"/api/agents/{agent.id}", admin.token)
    assert shown.status_code == 200 and shown.json()["email"] == agent.email
    nobody = uuid.uuid4()
    for method, path, kwargs in (("GET", f"/api/agents/{nobody}", {}),
                                 ("POST", f"/api/agents/{nobody}/approve", {}),
                                 ("POST", f"/api/agents/{nobody}/suspend", {}),
                                 ("POST", f"/api/agents/{nobody}/reactivate", {}),
                                 ("PUT", f"/api/agents/{nobody}/commission-rate",
                                  {"json": {"commission_rate": "0.2"}}),
                                 ("GET", f"/api/agents/{nobody}/documents", {})):
        response = api(gateway, method, path, admin.token, **kwargs)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"]["code"] == "agent_not_found"


def _admin_calls(agent_id: str):
    return [("GET", "/api/agents", {}), ("GET", f"/api/agents/{agent_id}", {}),
            ("POST", f"/api/agents/{agent_id}/approve", {}),
            ("POST", f"/api/agents/{agent_id}/suspend", {}),
            ("POST", f"/api/agents/{agent_id}/reactivate", {}),
            ("PUT", f"/api/agents/{agent_id}/commission-rate", {"json": {"commission_rate": "1"}}),
            ("GET", f"/api/agents/{agent_id}/documents", {})]


def test_agents_who_are_not_admins_get_403_on_every_admin_route(gateway, stack_env):
    caller, target = new_agent(gateway), new_agent(gateway)
    set_status(stack_env, caller.id, "active")
    for method, path, kwargs in _admin_calls(target.id):
        response = api(gateway, method, path, caller.token, **kwargs)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["error"]["code"] == "admin_required"
    assert api(gateway, "GET", f"/api/agents/{target.id}",
               caller.token).status_code == 403


def test_operator_tokens_are_stopped_at_the_gateway(gateway, test_layout, operator_token):
    agent = new_agent(gateway)
    for method, path, kwargs in [*_admin_calls(agent.id),
                                 ("GET", "/api/agents/me/documents", {}),
                                 ("POST", "/api/agents/logout", {})]:
        response = api(gateway, method, path, operator_token, **kwargs)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["error"]["code"] == "wrong_token_issuer"
    rid = response.headers["X-Request-ID"]
    assert rid not in logged_request_ids(test_layout.logs, "agent-service")


# --- lookup -----------------------------------------------------------------------------

def _lookup(test_layout, token: str | None, subs: list[str], *, comma: bool = False):
    headers = bearer(token) if token else {}
    params = [("sub", ",".join(subs))] if comma else [("sub", s) for s in subs]
    return requests.get(f"{test_layout.url('agent-service')}/internal/agents",
                        params=params, headers=headers, timeout=10)


@pytest.mark.devstack  # a service's own port, or its process
def test_lookup_tells_an_agent_about_themselves_and_an_operator_agency_names_only(
        gateway, test_layout, operator_token, admin):
    first, second = new_agent(gateway), new_agent(gateway)
    subs = [first.sub, second.sub]
    api(gateway, "POST", f"/api/agents/{first.id}/approve", admin.token)
    unknown = str(uuid.uuid4())

    as_first = _lookup(test_layout, first.token, [*subs, unknown, subs[0]])
    assert as_first.status_code == 200, as_first.text
    assert as_first.json()["data"] == [{"sub": subs[0], "agency_name": "Test Travel",
                                        "status": "active", "commission_rate": "0.1000"}]
    as_second = _lookup(test_layout, second.token, subs)
    assert [(e["sub"], e["status"]) for e in as_second.json()["data"]] == [(subs[1], "pending")]

    # An operator sees the agency of agents who can have booked, nothing of pending ones.
    as_operator = _lookup(test_layout, operator_token, [*subs, unknown])
    assert as_operator.status_code == 200, as_operator.text
    assert as_operator.json()["data"] == [{"sub": subs[0], "agency_name": "Test Travel"}]

    comma = _lookup(test_layout, operator_token, subs, comma=True)
    assert comma.json() == as_operator.json()


@pytest.mark.devstack  # a service's own port, or its process
def test_lookup_is_bounded_validated_and_needs_a_token(test_layout, operator_token):
    # A full batch of 100 Cognito subs fits in one request line in the comma form.
    too_many = _lookup(test_layout, operator_token, [str(uuid.uuid4()) for _ in range(101)],
                       comma=True)
    assert too_many.status_code == 400
    assert too_many.json()["error"]["details"][0]["field"] == "sub"
    assert _lookup(test_layout, operator_token, [str(uuid.uuid4()) for _ in range(100)],
                   comma=True).status_code == 200
    assert _lookup(test_layout, operator_token, []).status_code == 400
    assert _lookup(test_layout, operator_token, ["x' or '1'='1"]).status_code == 400
    no_token = _lookup(test_layout, None, [str(uuid.uuid4())])
    assert no_token.status_code == 401 and no_token.json()["error"]["code"] == "token_missing"


def test_lookup_is_not_reachable_through_the_gateway(gateway, agent_token):
    response = api(gateway, "GET", "/internal/agents", agent_token,
                   params={"sub": str(uuid.uuid4())})
    assert response.status_code == 404

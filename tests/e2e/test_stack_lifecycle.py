"""The local stack reports a crashed part by name and brings it back; the gateway answers
for a dead service in JSON meanwhile."""
from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import requests

from devstack import api as devstack
from tests.helpers import bearer

# `devstack`: devstack's own processes: up, down, status, kill -9.
pytestmark = [pytest.mark.stack, pytest.mark.devstack]


def test_a_dead_service_is_a_json_503_then_reported_and_restarted(
        gateway, test_layout, agent_token, capsys):
    pid = devstack.main_pid(test_layout, "booking-service")
    os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while devstack.main_pid(test_layout, "booking-service") and time.monotonic() < deadline:
        time.sleep(0.1)

    response = requests.get(f"{gateway}/api/bookings", headers=bearer(agent_token), timeout=10)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"

    assert devstack.status(test_layout) == 1
    report = capsys.readouterr().out
    assert "booking-service" in report and "CRASHED" in report
    assert str(test_layout.logs / "booking-service.log") in report

    devstack.up(test_layout)
    assert "booking-service had crashed" in capsys.readouterr().out
    response = requests.get(f"{gateway}/api/bookings", headers=bearer(agent_token), timeout=10)
    assert response.status_code == 200


def test_a_second_up_changes_nothing(test_layout, stack_env, capsys):
    pids = {part: devstack.main_pid(test_layout, part) for part in devstack.PARTS}
    devstack.up(test_layout)
    assert {part: devstack.main_pid(test_layout, part) for part in devstack.PARTS} == pids
    out = capsys.readouterr().out
    assert "started" not in out and "restarted" not in out


def test_stack_env_reads_the_same_in_a_shell(test_layout, stack_env):
    """`set -a; . .dev/stack.env` (as the README's "Try it" says) gives exactly the stack's
    values."""
    script = f'set -a; . "{test_layout.state / "stack.env"}"; env -0'
    output = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin"}, check=True).stdout
    shell = dict(item.split("=", 1) for item in output.split("\0") if "=" in item)
    assert {k: shell.get(k) for k in stack_env} == stack_env


def _platform_answers(gateway, stack_env) -> None:
    """A login (Cognito), the caller's profile (agent-service, RDS), the catalogue
    (operator-service, Supabase DB) and bookings (booking-service), through the gateway."""
    login = requests.post(f"{gateway}/api/agents/login", timeout=10, json={
        "email": stack_env["DEMO_AGENT_EMAIL"], "password": stack_env["DEMO_AGENT_PASSWORD"]})
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    for path in ("/api/agents/me", "/api/packages?limit=1", "/api/bookings?limit=1"):
        response = requests.get(f"{gateway}{path}", headers=bearer(token), timeout=10)
        assert response.status_code == 200, (path, response.text)
        assert not response.json().get("degraded"), (path, response.json())


@pytest.mark.parametrize("part", devstack.PARTS)
def test_kill_9_of_any_parts_main_process_is_recovered_by_the_next_up(
        part, gateway, stack_env, test_layout, capsys):
    pid = devstack.main_pid(test_layout, part)
    os.kill(pid, signal.SIGKILL)   # the main process only: nginx's workers stay, say
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and devstack.main_pid(test_layout, part):
        time.sleep(0.1)

    assert devstack.status(test_layout) == 1
    report = capsys.readouterr().out
    assert any(line.startswith(part) and ("CRASHED" in line or "stopped" in line)
               for line in report.splitlines()), report

    devstack.up(test_layout)
    _platform_answers(gateway, stack_env)
    if part in devstack.PROCESSES:   # nothing of the crashed process tree is left
        assert devstack.process_group(pid) == []
    assert devstack.status(test_layout) == 0


def test_status_shows_each_parts_health_url_and_log_then_the_settings(test_layout, capsys):
    assert devstack.status(test_layout) == 0
    report = capsys.readouterr().out
    for part in devstack.PARTS:
        line = next(row for row in report.splitlines() if row.startswith(f"{part} "))
        assert "healthy" in line and str(test_layout.port(part)) in line, line
        assert str(test_layout.logs / f"{part}.log") in line, line
    assert f"settings: {test_layout.state / 'stack.env'}" in report


def test_status_reports_a_part_that_answers_but_is_unhealthy(test_layout, capsys):
    """The state comes from the health check, not from a live pid: a stopped (SIGSTOP)
    gateway-auth is alive but does not answer."""
    pid = devstack.main_pid(test_layout, "gateway-auth")
    os.killpg(pid, signal.SIGSTOP)
    try:
        assert devstack.status(test_layout) == 1
    finally:
        os.killpg(pid, signal.SIGCONT)
    line = next(row for row in capsys.readouterr().out.splitlines()
                if row.startswith("gateway-auth"))
    assert "UNHEALTHY" in line, line

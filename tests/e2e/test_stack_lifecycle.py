"""The local stack reports a crashed part by name and brings it back; the gateway answers
for a dead service in JSON meanwhile."""
from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import requests

from devstack import processes, stack
from tests.helpers import bearer

pytestmark = pytest.mark.stack


def test_a_dead_service_is_a_json_503_then_reported_and_restarted(
        gateway, test_layout, agent_token, capsys):
    pid = processes.running_pid(test_layout, "booking-service")
    os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while processes.running_pid(test_layout, "booking-service") and time.monotonic() < deadline:
        time.sleep(0.1)

    response = requests.get(f"{gateway}/api/bookings", headers=bearer(agent_token), timeout=10)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"

    assert stack.status(test_layout) == 1
    report = capsys.readouterr().out
    assert "booking-service" in report and "CRASHED" in report
    assert str(test_layout.logs / "booking-service.log") in report

    stack.up(test_layout)
    assert "booking-service had crashed" in capsys.readouterr().out
    response = requests.get(f"{gateway}/api/bookings", headers=bearer(agent_token), timeout=10)
    assert response.status_code == 200


def test_a_second_up_changes_nothing(test_layout, stack_env, capsys):
    pids = {name: processes.running_pid(test_layout, name) for name in stack.PROCESS_ORDER}
    stack.up(test_layout)
    assert {name: processes.running_pid(test_layout, name) for name in stack.PROCESS_ORDER} == pids
    out = capsys.readouterr().out
    assert "started" not in out and "restarted" not in out


def test_stack_env_reads_the_same_in_a_shell(test_layout, stack_env):
    """`set -a; . .dev/stack.env` (as the README says) gives exactly the stack's values."""
    script = f'set -a; . "{test_layout.state / "stack.env"}"; env -0'
    output = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin"}, check=True).stdout
    shell = dict(item.split("=", 1) for item in output.split("\0") if "=" in item)
    assert {k: shell.get(k) for k in stack_env} == stack_env

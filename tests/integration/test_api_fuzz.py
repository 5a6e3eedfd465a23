"""Property-based fuzzing of each service's documented API through the gateway
(schemathesis): whatever the input, no 5xx and every answer has the documented content
type. Run with fresh accounts, so the fuzzer cannot disturb the demo data."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.agents import new_agent

pytestmark = pytest.mark.stack

SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")


@pytest.mark.parametrize("service, caller", [("agent-service", "agent"),
                                             ("operator-service", "operator"),
                                             ("booking-service", "agent")])
def test_no_input_makes_a_service_fail(gateway, new_operator, service, caller):
    token = new_agent(gateway)["token"] if caller == "agent" else new_operator().token
    result = subprocess.run(
        [SCHEMATHESIS, "run", f"{gateway}/docs/{service}.json", "--url", gateway,
         "-H", f"Authorization: Bearer {token}",
         "--checks", "not_a_server_error,content_type_conformance",
         "--max-examples", "10", "--exclude-path-regex", "^/internal", "--workers", "2",
         "--seed", "1"],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-6000:]
    assert " passed" in result.stdout

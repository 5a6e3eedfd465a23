"""Property-based fuzzing of each service's documented API through the gateway
(schemathesis): whatever the input, no 5xx, and every answer has the documented content
type and matches the documented response schema (so a drifting answer fails here). Run
with fresh accounts, so the fuzzer cannot disturb the demo data."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders.agents import new_agent

pytestmark = pytest.mark.stack

SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")


@pytest.mark.parametrize("service, caller", [("agent-service", "agent"),
                                             ("operator-service", "operator"),
                                             ("booking-service", "agent")])
def test_no_input_makes_a_service_fail(gateway, new_operator, service, caller, tmp_path):
    token = new_agent(gateway).token if caller == "agent" else new_operator(active=False).token
    # Each run starts from nothing: schemathesis keeps crash files and an example database
    # under its working directory and replays them in the next run, which here is another
    # service, another port, or another session's stack. Hence a fresh working directory
    # and no example database, and one worker: the seed then fixes the whole run.
    result = subprocess.run(
        [SCHEMATHESIS, "run", f"{gateway}/docs/{service}.json", "--url", gateway,
         "-H", f"Authorization: Bearer {token}",
         "--checks", "not_a_server_error,content_type_conformance,response_schema_conformance",
         "--max-examples", "10", "--exclude-path-regex", "^/internal", "--workers", "1",
         "--seed", "1", "--generation-database", "none"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " passed" in result.stdout

"""Each benchmark's quick mode (`--quick`: seconds, tiny sizes) as `make test` runs it, so
a benchmark that no longer imports, or whose own traffic the stack refuses, fails here
instead of on the day someone needs its figures. The figures themselves mean nothing on a
shared test machine; what is checked is that the run succeeds and prints them, and that a
run whose requests are refused prints none.

The session's stack exempts this suite's address from the rate limits (tests/conftest.py),
as a `make bench` stack must exempt the machine it runs on."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.gateway_instructions import GATEWAY_INSTRUCTION_BUDGET
from devstack.api import Layout
from tests.conftest import TEST_PORT_OFFSET, TEST_STATE
from tests.helpers import REPO

# `devstack`: the benchmarks call each service's own port, read devstack's logs and
# processes, and the migration one starts a stack of its own.
pytestmark = [pytest.mark.stack, pytest.mark.devstack]


def bench(module: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m bench.<module> ARGS` from the repository's root, as `make bench` runs it."""
    return subprocess.run([sys.executable, "-m", f"bench.{module}", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def succeeded(run: subprocess.CompletedProcess) -> str:
    """The run's output, once it is known to have exited 0."""
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stdout}\n{run.stderr}"
    return run.stdout


@pytest.fixture(scope="module")
def env_file(stack_env, test_layout: Layout) -> Path:
    """The session stack's stack.env, as `make bench` passes `--env .dev/stack.env`."""
    return test_layout.state / "stack.env"


def test_gateway_overhead_quick(env_file):
    out = succeeded(bench("gateway_overhead", "--env", str(env_file), "--quick"))
    for target in ("gateway", "direct"):
        [row] = [line.split() for line in out.splitlines() if line.startswith(f"{target} ")]
        assert float(row[1]) > 0, out     # requests/s
    assert "median ratio: " in out


def test_nginx_stays_within_its_instruction_budget_per_request(env_file):
    # The gateway's own cost per authenticated request, counted (callgrind), not timed: a
    # figure this machine's load does not move, so a budget can hold (issue 22).
    out = succeeded(bench("gateway_instructions", "--env", str(env_file), "--quick"))
    figure = re.search(r"([\d,]+) nginx instructions per request", out)
    assert figure, out
    assert int(figure.group(1).replace(",", "")) <= GATEWAY_INSTRUCTION_BUDGET, out


def test_bookings_page_quick(env_file):
    out = succeeded(bench("bookings_page", "--env", str(env_file), "--quick"))
    for kind in ("page, copies fresh", "page, no-cache", "one agent-service call"):
        assert any(line.startswith(kind) for line in out.splitlines()), out


def test_issuer_check_quick(env_file):
    out = succeeded(bench("issuer_check", "--env", str(env_file), "--quick"))
    for row in ("cognito: ask the issuer (miss)", "cognito: fresh answer (hit)",
                "supabase: ask the issuer (miss)", "supabase: fresh answer (hit)"):
        assert row in out


def test_soak_quick(env_file):
    summary = json.loads(succeeded(bench("soak", "--env", str(env_file), "--quick")))
    assert summary["requests"] > 0
    assert all(status < 400 for status in (int(key.rsplit(" ", 1)[1])
                                           for key in summary["statuses"])), summary["statuses"]
    # Every sample of every part's memory, for reading the shape of its growth afterwards.
    by_sample = summary["memory_kib_by_sample"]
    assert len(by_sample["seconds"]) >= 3
    assert all(len(by_sample[part]) == len(by_sample["seconds"]) and min(by_sample[part]) > 0
               for part in summary["memory_kib_at_end"])


def test_migration_move_quick():
    # Its own stack, beside the session's and every other test stack.
    state = Path(f"{TEST_STATE}-bench-migration")
    run = bench("migration_move", "--quick", "--state", str(state),
                "--port-offset", str(TEST_PORT_OFFSET + 3000), timeout=170)
    lines = succeeded(run).splitlines()   # devstack's lines around the figures' JSON
    result = json.loads("\n".join(lines[lines.index("{"):lines.index("}") + 1]))
    assert result["rows"] >= 2000
    assert result["failed_writes"] == 0 and result["write_requests"] > 0
    assert result["hold_ms"] >= 0 and result["verify_seconds"] > 0
    # The rate asked was reached (else no figure), and the hold says where its time went.
    assert result["writes_per_s"] >= 0.95 * result["writes_per_s_asked"] == 0.95 * 20
    phases = result["hold_phases_ms"]
    assert (0 <= phases["fence_closed"] <= phases["caught_up"] <= phases["verified"]
            <= phases["flipped"] == result["hold_ms"])
    assert result["cpu_ms_per_write"]["operator-service"] > 0


def test_a_migration_writer_short_of_its_rate_prints_no_figure():
    # No machine gives 100,000 writes/s through the gateway: the probe before the move says
    # what it reached and where the CPU went, and stops with no figure.
    state = Path(f"{TEST_STATE}-bench-migration")
    run = bench("migration_move", "--quick", "--writes-per-second", "100000", "--state",
                str(state), "--port-offset", str(TEST_PORT_OFFSET + 3000), timeout=170)
    assert run.returncode == 1
    assert "{" not in run.stdout
    [line] = [line for line in run.stderr.splitlines() if "no figure printed" in line]
    assert "before the move, the writer reached" in line and "of the 100000 writes/s asked" in line
    assert "ms of CPU per request: " in line and "operator-service" in line


def test_a_benchmark_whose_requests_are_refused_prints_no_figure(env_file, tmp_path):
    # The demo agent's password is wrong: the gateway refuses the benchmark's login.
    lines = env_file.read_text().splitlines()
    wrong = [("DEMO_AGENT_PASSWORD=not-the-password" if line.startswith("DEMO_AGENT_PASSWORD=")
              else line) for line in lines]
    (tmp_path / "stack.env").write_text("\n".join(wrong) + "\n")
    run = bench("gateway_overhead", "--env", str(tmp_path / "stack.env"), "--quick")
    assert run.returncode != 0
    assert run.stdout == ""
    [line] = run.stderr.splitlines()
    assert "the demo agent's login answered 4" in line and "no figure printed" in line

"""A benchmark prints a figure only from requests that all succeeded: wrk's report of
refused requests (non-2xx, socket errors) stops the gateway benchmark with one line."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.gateway_overhead import parse_wrk, refuse_failed_runs

REPORT = """Running 1s test @ http://127.0.0.1:8080/api/agents/me
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.10ms  540.00us   8.00ms   90.00%
  Latency Distribution
     50%    2.01ms
     75%    2.30ms
     90%    2.70ms
     99%    4.50ms
  1900 requests in 1.00s, 1.20MB read
{extra}Requests/sec:   1899.50
Transfer/sec:      1.20MB
"""


def test_a_clean_wrk_report_gives_its_figures():
    run = parse_wrk(REPORT.format(extra=""))
    assert run == {"rps": 1899.5, "p50": 2.01, "p99": 4.5, "errors": 0}
    refuse_failed_runs({"gateway": [run], "direct": [run]})   # no refusal


@pytest.mark.parametrize("extra, errors", [
    ("  Non-2xx or 3xx responses: 1800\n", 1800),
    ("  Socket errors: connect 0, read 2, write 0, timeout 3\n", 5),
])
def test_refused_requests_under_wrk_mean_no_figure(extra, errors, capsys):
    run = parse_wrk(REPORT.format(extra=extra))
    assert run["errors"] == errors
    with pytest.raises(SystemExit) as refused:
        refuse_failed_runs({"gateway": [run], "direct": [parse_wrk(REPORT.format(extra=""))]})
    message = str(refused.value.code)
    assert f"gateway {errors}, direct 0" in message and "no figure printed" in message
    assert "\n" not in message and "GATEWAY_RATE_LIMIT_EXEMPT=127.0.0.1/32" in message
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("name", ["bookings_page", "gateway_overhead", "issuer_check",
                                  "migration_move", "soak"])
def test_each_benchmark_runs_as_a_file_from_anywhere(name, tmp_path):
    # `python bench/<name>.py` as well as `python -m bench.<name>`: a benchmark nobody can
    # start rots.
    script = Path(__file__).resolve().parents[2] / "bench" / f"{name}.py"
    ran = subprocess.run([sys.executable, str(script), "--help"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0 and "usage:" in ran.stdout, ran.stderr[-500:]

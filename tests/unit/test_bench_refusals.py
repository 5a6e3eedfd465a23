"""A benchmark prints a figure only from requests that all succeeded: wrk's report of
refused requests (non-2xx, socket errors) stops the gateway benchmark with one line, and a
migration writer that fell short of the rate it asked for stops the migration benchmark."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench.cpu import CpuMeter
from bench.gateway_overhead import parse_wrk, refuse_failed_runs
from bench.migration_move import PacedWriter, require_rate
from devstack.api import Layout

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


class _SlowGateway(BaseHTTPRequestHandler):
    """Answers every PATCH 200 after 50 ms: a stack that serves a few writes at a time."""

    protocol_version = "HTTP/1.1"

    def do_PATCH(self):  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(0.05)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def slow_gateway():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowGateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_writer_that_falls_short_of_its_rate_prints_no_figure(slow_gateway, capsys):
    # 4 threads, 50 ms a write: at most 80 writes/s, far from the 400 asked.
    meter = CpuMeter(Layout(state=Path("/nonexistent"), port_offset=0))
    meter.start()
    with PacedWriter({"GATEWAY_URL": slow_gateway}, "token", ["p1", "p2"], 400,
                     threads=4) as writer:
        time.sleep(1)
    cpu = meter.stop()
    assert writer.samples and all(code == 200 for _, _, code in writer.samples)
    with pytest.raises(SystemExit) as refused:
        require_rate(writer, cpu, "before the move")
    message = str(refused.value.code)
    assert f"reached {writer.reached():.0f} of the 400 writes/s asked" in message
    assert "cores were" in message and "--writes-per-second" in message
    assert "no figure printed" in message and "\n" not in message
    assert capsys.readouterr().out == ""


def test_a_writer_at_its_rate_passes(slow_gateway):
    meter = CpuMeter(Layout(state=Path("/nonexistent"), port_offset=0))
    meter.start()
    with PacedWriter({"GATEWAY_URL": slow_gateway}, "token", ["p1", "p2"], 20,
                     threads=4) as writer:
        time.sleep(1)
    require_rate(writer, meter.stop(), "before the move")   # no refusal
    assert 0.95 * 20 <= writer.reached() <= 1.3 * 20

"""Gateway overhead: the same authenticated GET through nginx and straight to the service,
in one run, at the same concurrency. Prints both throughputs, p50/p99 and the ratio, and the
CPU each part spent per request (nginx, gateway-auth, the service): on a loaded machine the
throughput ratio measures the scheduler as much as the gateway, the CPU per request does not.

    make bench            # against the `make up` stack
    .venv/bin/python -m bench.gateway_overhead --env .dev/stack.env --duration 10 --connections 32
    .venv/bin/python -m bench.gateway_overhead --env .dev/stack.env --quick   # 2 x 1 s

One token at a thousand requests a second is far over the gateway's per-token rate limit:
benchmark a stack whose gateway exempts this machine (`GATEWAY_RATE_LIMIT_EXEMPT=127.0.0.1/32
make up`); the run stops at once, saying so, when the limit answers. Any request wrk saw
fail (non-2xx, a socket error or timeout) means no figure: throughput of refusals is no
measure of the gateway.
"""
from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
from pathlib import Path

# Run as a file (`python bench/<name>.py`), import as `python -m bench.<name>` does: from the
# repository's root, not from bench/ (what Python put first on the path for a script).
if not __package__:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import requests

from bench.cpu import CpuMeter
from bench.stackenv import EXEMPT_HINT, demo_agent_token, expect_ok, read_env, refuse
from devstack.api import Layout

PATH = "/api/agents/me"
# --quick: one round of 1 s per target at 4 connections; proves the benchmark runs and its
# traffic is accepted (make test), measures nothing worth keeping.
QUICK = {"duration": 1, "rounds": 1, "connections": 4, "threads": 1}


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, token: str, *, duration: int, connections: int, threads: int) -> dict:
    """One wrk run; requests/s, p50 and p99 in ms, and the requests that failed (non-2xx
    or 3xx answers, and socket errors: connect, read, write, timeout)."""
    try:
        run = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
             "-H", f"Authorization: Bearer {token}", url],
            capture_output=True, text=True)
    except FileNotFoundError:
        refuse("wrk is not installed: run WITH_BENCH=1 devstack/system-deps.sh "
               "(make bench does), or apt-get install wrk")
    if run.returncode != 0:
        refuse(f"wrk {url} exited {run.returncode}: {' '.join(run.stderr.split())[:160]}")
    return parse_wrk(run.stdout)


def parse_wrk(out: str) -> dict:
    """requests/s, p50 and p99 in ms, and failed requests, from wrk's --latency report."""
    latency = {p: _ms(v, u)
               for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)$", out, re.M)}
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                        r"timeout (\d+)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rps is None or set(latency) != {"50", "99"}:
        refuse(f"wrk's report has no throughput or latency: {' '.join(out.split())[:160]}")
    return {"rps": float(rps.group(1)), "p50": latency["50"], "p99": latency["99"],
            "errors": (int(non_2xx.group(1)) if non_2xx else 0)
            + (sum(int(n) for n in sockets.groups()) if sockets else 0)}


# The parts a request through the gateway runs in; straight to the service, only the last.
PARTS = ("gateway", "gateway-auth", "agent-service")


def refuse_failed_runs(runs: dict[str, list[dict]]) -> None:
    """Refuse (one line, exit 1, no figure) if any run saw a failed request."""
    errors = {name: sum(r["errors"] for r in rs) for name, rs in runs.items()}
    if any(errors.values()):
        counts = ", ".join(f"{name} {count}" for name, count in errors.items())
        refuse(f"requests failed under wrk (non-2xx or socket errors: {counts}); if the "
               f"gateway answered 429, {EXEMPT_HINT}")


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", type=Path, default=Path(".dev/stack.env"))
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5, help="alternating runs of each target")
    parser.add_argument("--quick", action="store_true",
                        help="1 round of 1 s per target at 4 connections (what make test runs)")
    args = parser.parse_args(argv)
    if args.quick:
        vars(args).update(QUICK)
    env = read_env(args.env)
    token = demo_agent_token(env)
    targets = {"gateway": f"{env['GATEWAY_URL']}{PATH}",
               "direct": f"{env['AGENT_SERVICE_URL']}{PATH}"}
    for name, url in targets.items():  # warm up pools and caches; fail early on a bad setup
        expect_ok(requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10),
                  f"GET {PATH} ({name})")
    with requests.Session() as session:  # over the per-token limit at once, unless exempt
        for _ in range(60):
            expect_ok(session.get(targets["gateway"], timeout=10,
                                  headers={"Authorization": f"Bearer {token}"}),
                      f"GET {PATH} through the gateway, 60 times at once")
    layout = Layout(state=args.env.resolve().parent)
    runs: dict[str, list[dict]] = {name: [] for name in targets}
    for _ in range(args.rounds):  # alternate, so drift in the machine hits both alike
        for name, url in targets.items():
            meter = CpuMeter(layout)
            meter.start()
            run = run_wrk(url, token, duration=args.duration, connections=args.connections,
                          threads=args.threads)
            used = meter.stop().seconds
            requests_made = run["rps"] * args.duration
            run["cpu_us"] = {part: 1e6 * used.get(part, 0.0) / requests_made for part in PARTS}
            runs[name].append(run)
    refuse_failed_runs(runs)
    summary = {name: {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50", "p99")}
               for name, rs in runs.items()}
    print(f"GET {PATH}, {args.connections} connections, {args.threads} wrk threads, "
          f"{args.rounds} x {args.duration}s per target (medians)")
    print(f"{'target':10} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
    for name, s in summary.items():
        print(f"{name:10} {s['rps']:10.0f} {s['p50']:8.2f} {s['p99']:8.2f}")
    # Each round's pair ran back to back, so their ratio is the least noisy figure.
    ratios = [g["rps"] / d["rps"] for g, d in zip(runs["gateway"], runs["direct"], strict=True)]
    print(f"throughput ratio gateway/direct per round: {', '.join(f'{r:.3f}' for r in ratios)}")
    print(f"median ratio: {statistics.median(ratios):.3f} (goal >= 0.9)")
    print("CPU per request, microseconds (medians): " + "; ".join(
        f"{name}: " + ", ".join(
            f"{part} {statistics.median(r['cpu_us'][part] for r in rs):.0f}" for part in PARTS)
        for name, rs in runs.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Gateway overhead: the same authenticated GET through nginx and straight to the service,
in one run, at the same concurrency. Prints both throughputs, p50/p99 and the ratio.

    make bench            # against the `make up` stack
    python bench/gateway_overhead.py --env .dev/stack.env --duration 10 --connections 32

One token at a thousand requests a second is far over the gateway's per-token rate limit:
benchmark a stack whose gateway exempts this machine (`GATEWAY_RATE_LIMIT_EXEMPT=127.0.0.1/32
make up`); the run stops at once, saying so, when the limit answers.
"""
from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
from pathlib import Path

import requests
from stackenv import demo_agent_token, read_env

PATH = "/api/agents/me"


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, token: str, *, duration: int, connections: int, threads: int) -> dict:
    """One wrk run; requests/s, p50 and p99 in ms, and non-2xx count."""
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
         "-H", f"Authorization: Bearer {token}", url],
        capture_output=True, text=True, check=True).stdout
    latency = {p: _ms(v, u)
               for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)$", out, re.M)}
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50": latency["50"], "p99": latency["99"],
            "errors": int(non_2xx.group(1)) if non_2xx else 0}


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", type=Path, default=Path(".dev/stack.env"))
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5, help="alternating runs of each target")
    args = parser.parse_args(argv)
    env = read_env(args.env)
    token = demo_agent_token(env)
    targets = {"gateway": f"{env['GATEWAY_URL']}{PATH}",
               "direct": f"{env['AGENT_SERVICE_URL']}{PATH}"}
    for url in targets.values():  # warm up pools and caches; fail early on a bad setup
        requests.get(url, headers={"Authorization": f"Bearer {token}"},
                     timeout=10).raise_for_status()
    limited = [requests.get(targets["gateway"], headers={"Authorization": f"Bearer {token}"},
                            timeout=10).status_code for _ in range(60)]
    if 429 in limited:
        print("the gateway rate-limits this address (429): restart the stack with "
              "GATEWAY_RATE_LIMIT_EXEMPT=127.0.0.1/32 make up, then run the benchmark",
              file=sys.stderr)
        return 1
    runs: dict[str, list[dict]] = {name: [] for name in targets}
    for _ in range(args.rounds):  # alternate, so drift in the machine hits both alike
        for name, url in targets.items():
            runs[name].append(run_wrk(url, token, duration=args.duration,
                                      connections=args.connections, threads=args.threads))
    summary = {name: {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50", "p99")}
               for name, rs in runs.items()}
    errors = {name: sum(r["errors"] for r in rs) for name, rs in runs.items()}
    print(f"GET {PATH}, {args.connections} connections, {args.threads} wrk threads, "
          f"{args.rounds} x {args.duration}s per target (medians)")
    print(f"{'target':10} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for name, s in summary.items():
        print(f"{name:10} {s['rps']:10.0f} {s['p50']:8.2f} {s['p99']:8.2f} {errors[name]:8d}")
    # Each round's pair ran back to back, so their ratio is the least noisy figure.
    ratios = [g["rps"] / d["rps"] for g, d in zip(runs["gateway"], runs["direct"], strict=True)]
    print(f"throughput ratio gateway/direct per round: {', '.join(f'{r:.3f}' for r in ratios)}")
    print(f"median ratio: {statistics.median(ratios):.3f} (goal >= 0.9)")
    return 0 if not any(errors.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

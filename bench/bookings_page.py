"""Cost of composing a bookings page: GET /api/bookings with 50 rows vs one plain call to
agent-service, interleaved in one run. The page is measured twice: with every row's copy
of its package and agency within the freshness bound (what a first view and a reload
cost alike: booking-service's own query, no other service asked), and with
`Cache-Control: no-cache` (one batch call to agent-service and one to operator-service, in
parallel, and the copies written back: what a page whose copies are past the bound costs).
Prints p50/p99, the ratios, and the downstream calls each kind of page made (read from the
services' access logs by request id).

    make bench            # every benchmark, against the `make up` stack
    .venv/bin/python -m bench.bookings_page --env .dev/stack.env [--samples 300]
    .venv/bin/python -m bench.bookings_page --env .dev/stack.env --quick   # 20 samples

Every request must answer 200: a page measured from refusals is no page, so any other
answer stops the run with one line and no figure.
"""
from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

# Run as a file (`python bench/<name>.py`), import as `python -m bench.<name>` does: from the
# repository's root, not from bench/ (what Python put first on the path for a script).
if not __package__:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import requests

from bench.stackenv import demo_agent_token, expect_ok, read_env

ROWS = 50
QUICK_SAMPLES = 20


def ensure_bookings(env: dict[str, str], session: requests.Session, token: str) -> None:
    """The demo agent has at least 50 bookings (idempotency keys make reruns add none; they
    name the package, since the first one the catalogue lists changes as packages are
    published, and a key reused for another package is refused)."""
    auth = {"Authorization": f"Bearer {token}"}
    catalogue = expect_ok(session.get(f"{env['GATEWAY_URL']}/api/packages",
                                      params={"city": "Lisbon"}, headers=auth, timeout=10),
                          "GET /api/packages?city=Lisbon").json()["data"]
    package = catalogue[0]
    first = datetime.date.fromisoformat(package["first_departure_date"])
    for i in range(ROWS):
        departure = str(first + datetime.timedelta(days=i))
        body = {"package_id": package["id"], "departure_date": departure,
                "travellers": [{"full_name": f"Bench traveller {i}", "email": "bench@example.com"}]}
        key = f"bench-page-{package['id']}-{i}"
        response = session.post(f"{env['GATEWAY_URL']}/api/bookings", json=body, timeout=10,
                                headers={**auth, "Idempotency-Key": key})
        expect_ok(response, f"bench booking {i} (POST /api/bookings)")


def timed_get(session: requests.Session, url: str, headers: dict, params=None) -> float:
    """Milliseconds for one GET that must answer 200."""
    start = time.perf_counter()
    response = session.get(url, headers=headers, params=params, timeout=10)
    elapsed = (time.perf_counter() - start) * 1000
    expect_ok(response, f"GET {url}")
    return elapsed


def downstream_calls(logs: Path, request_id: str) -> dict[str, int]:
    """Calls one request made to each dependency, from their access logs."""
    time.sleep(0.5)
    counts = {}
    for service in ("agent-service", "operator-service"):
        lines = (logs / f"{service}.access.log").read_text().splitlines()
        counts[service] = sum(1 for line in lines if json.loads(line)["request_id"] == request_id)
    return counts


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0-100) of samples."""
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1]


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", type=Path, default=Path(".dev/stack.env"))
    parser.add_argument("--samples", type=int, default=300, help="requests per target")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_SAMPLES} samples per target (what make test runs)")
    args = parser.parse_args(argv)
    if args.quick:
        args.samples = QUICK_SAMPLES
    env = read_env(args.env)
    session = requests.Session()
    token = demo_agent_token(env)
    sub = json.loads(__import__("base64").urlsafe_b64decode(token.split(".")[1] + "=="))["sub"]
    ensure_bookings(env, session, token)

    page_url = f"{env['BOOKING_SERVICE_URL']}/api/bookings"
    lookup_url = f"{env['AGENT_SERVICE_URL']}/internal/agents"
    headers = {"Authorization": f"Bearer {token}"}
    kinds = {"page, copies fresh": headers,
             "page, no-cache": {**headers, "Cache-Control": "no-cache"}}
    calls, rows, history = {}, 0, 0
    for _ in range(6):  # warm every worker's pools; fill copies older than the bound
        expect_ok(requests.get(page_url, params={"limit": ROWS}, headers=headers, timeout=10),
                  f"GET {page_url}")
    for kind, kind_headers in kinds.items():
        request_id = f"bench-{uuid.uuid4().hex}"
        page = expect_ok(session.get(page_url, params={"limit": ROWS}, timeout=10,
                                     headers={**kind_headers, "X-Request-ID": request_id}),
                         f"GET {page_url}").json()
        rows, history = len(page["data"]), page["total"]
        calls[kind] = downstream_calls(args.env.parent / "logs", request_id)

    samples: dict[str, list[float]] = {kind: [] for kind in kinds}
    samples["one agent-service call"] = []
    for _ in range(args.samples):  # interleaved, so drift in the machine hits all alike
        for kind, kind_headers in kinds.items():
            samples[kind].append(timed_get(session, page_url, kind_headers, {"limit": ROWS}))
        samples["one agent-service call"].append(
            timed_get(session, lookup_url, headers, {"sub": sub}))
    one = statistics.median(samples["one agent-service call"])
    # How many bookings the agent has in all: a page's cost may grow with it (the soak and
    # other runs on the same stack add to the demo agent's), so the figure names it.
    print(f"GET /api/bookings?limit={ROWS} ({rows} rows of the agent's {history:,}) vs "
          f"GET /internal/agents (1 sub), "
          f"{args.samples} interleaved samples each, one connection")
    print(f"{'target':24} {'p50 ms':>8} {'p99 ms':>8} {'p50 / one call':>15}  downstream calls")
    for kind, values in samples.items():
        p50 = statistics.median(values)
        print(f"{kind:24} {p50:8.2f} {percentile(values, 99):8.2f} {p50 / one:15.2f}  "
              f"{calls.get(kind, '')}")
    print("goals: page p50 <= 2x one call; no call to another service while the copies are "
          "fresh, at most 1 to each otherwise")
    calls_met = (all(c <= 1 for kc in calls.values() for c in kc.values())
                 and not any(calls["page, copies fresh"].values()))
    return 0 if rows >= ROWS and calls_met else 1


if __name__ == "__main__":
    sys.exit(main())

"""Soak: minutes of mixed traffic through the gateway at a steady rate (agent and operator
logins, the catalogue, bookings made and cancelled, bookings pages, document uploads,
operator edits), on a running stack, under its production rate limits. Passes when no
answer is a 5xx, no process's memory leaks (grows more than 10% from the end of the
warm-up to the end and is still growing in the run's last third: `leaking`), and no
service's connection pool ever made a request give up waiting.

    make soak                         # 10 minutes, 20 tasks/s, against the `make up` stack
    .venv/bin/python -m bench.soak --env STATE/stack.env --minutes 1
    .venv/bin/python -m bench.soak --env STATE/stack.env --quick   # 15 s, what make test runs

Memory is each part's private memory (USS outside shared mappings: the pages its processes
hold for themselves, not PostgreSQL's shared buffers or nginx's shared zones, which fill up
to their configured size), summed over its process group (nginx's or gunicorn's master and
workers); sampled every 15 s. The PostgreSQL servers are reported, not judged: the whole
server grows by 2-5 MiB each time a service's pool opens a connection under load (measured:
6 -> 10 connections on Supabase's, 13 -> 20 on RDS's in 6 minutes), and a backend keeps the
high-water mark of the largest query it ran until its pool retires it (RDS's largest
backend: 4.3 -> 6.0 MiB in one run, back to 4.3 MiB once that backend closed); so each
sample gives the client connections, the largest client backend and the whole server.
Pools: the services' own gauges and counters (`db_pool_requests_waiting`,
`db_pool_wait_timeouts_total`) at each sample. Figures: docs/benchmarks.md.

Every request the soak makes must answer what it expects (a 429 included counts as failed):
if any did not, the soak says so in one line and exits 1 without a summary, since its
figures would describe refusals. `--quick` (15 s, 5 tasks/s, a sample every 5 s) proves the
soak runs and its traffic is accepted; memory is reported, not judged: seconds after a
start, caches still fill, and no leak shows in 15 s."""
from __future__ import annotations

import argparse
import datetime
import itertools
import json
import re
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# Run as a file (`python bench/<name>.py`), import as `python -m bench.<name>` does: from the
# repository's root, not from bench/ (what Python put first on the path for a script).
if not __package__:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import requests
from prometheus_client.parser import text_string_to_metric_families

from bench.stackenv import read_env, refuse
from devstack.api import Layout, part_pids
from tests.builders.packages import package_fields  # the one package builder
from travel_platform.registry import registry

# The parts whose memory is watched: every process the platform runs (monitoring is not
# the platform), and both PostgreSQL servers.
PARTS = ["gateway", *(part.name for part in registry().parts), "supabase-auth", "moto"]
DATABASES = ["supabase-db", "rds"]
# The services whose pools are read (their /metrics, at their own URL in stack.env).
SERVICES = {part.name: part.url_variable for part in registry().services}
NEW_AGENTS = 4
SAMPLE_SECONDS = 15
# --quick: long enough for every task of the mix to run a few times.
QUICK = {"minutes": 0.25, "rate": 5.0, "warm_up": 0.0, "sample_seconds": 5.0}
# Logins on a schedule of their own, under the per-address and per-account limits: an
# agent login every 20 s over all agents, an operator sign-in every 30 s.
AGENT_LOGIN_SECONDS, OPERATOR_LOGIN_SECONDS = 20, 30
PDF = b"%PDF-1.4\n" + b"0" * 2048
MAX_GROWTH = 0.10


class Traffic:
    """The accounts and objects the tasks use, and what every request answered."""

    def __init__(self, env: dict[str, str]):
        self.env, self.gateway = env, env["GATEWAY_URL"]
        self.session = requests.Session()
        self.session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=32))
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.unexpected: Counter[tuple[str, int]] = Counter()   # answers a task did not expect
        self.server_errors: list[str] = []
        self.latencies: dict[str, list[float]] = {}
        self.lock = threading.Lock()
        self.agents: list[dict] = []      # {"email", "token"}
        self.operator_token = ""
        self._agent_turn = itertools.count()

    # --- requests ------------------------------------------------------------------
    def call(self, kind: str, method: str, path: str, token: str | None = None, *,
             expect: tuple[int, ...] = (200,), base: str | None = None, **kwargs):
        headers = {**({"Authorization": f"Bearer {token}"} if token else {}),
                   **kwargs.pop("headers", {})}
        start = time.perf_counter()
        response = self.session.request(method, f"{base or self.gateway}{path}",
                                        headers=headers, timeout=30, **kwargs)
        elapsed = (time.perf_counter() - start) * 1000
        with self.lock:
            self.statuses[(kind, response.status_code)] += 1
            self.latencies.setdefault(kind, []).append(elapsed)
            if response.status_code >= 500:
                self.server_errors.append(f"{kind} {method} {path} {response.status_code} "
                                          f"{response.headers.get('X-Request-ID')} "
                                          f"{response.text[:200]}")
        if response.status_code not in expect:
            with self.lock:
                self.unexpected[(kind, response.status_code)] += 1
            raise RuntimeError(f"{kind}: {response.status_code} {response.text[:200]}")
        return response

    def agent(self) -> dict:
        return self.agents[next(self._agent_turn) % len(self.agents)]

    # --- set-up --------------------------------------------------------------------
    def log_in_agent(self, agent: dict) -> None:
        tokens = self.call("agent_login", "POST", "/api/agents/login",
                           json={"email": agent["email"], "password": agent["password"]}).json()
        agent["token"] = tokens["access_token"]

    def log_in_operator(self) -> None:
        body = {"email": self.env["DEMO_OPERATOR_EMAIL"],
                "password": self.env["DEMO_OPERATOR_PASSWORD"]}
        self.operator_token = self.call(
            "operator_login", "POST", "/auth/v1/token?grant_type=password",
            base=self.env["SUPABASE_URL"], json=body,
            headers={"apikey": self.env["SUPABASE_ANON_KEY"]}).json()["access_token"]

    def set_up(self) -> None:
        password = self.env["DEMO_AGENT_PASSWORD"]
        self.agents = [{"email": self.env["DEMO_AGENT_EMAIL"], "password": password},
                       {"email": "active2@demo.travel", "password": password}]
        admin = {"email": self.env["DEMO_ADMIN_EMAIL"], "password": self.env["DEMO_ADMIN_PASSWORD"]}
        self.log_in_agent(admin)
        for _ in range(NEW_AGENTS):
            email = f"soak-{uuid.uuid4().hex[:10]}@example.com"
            created = self.call("signup", "POST", "/api/agents/signup", expect=(201,), json={
                "email": email, "password": password, "agency_name": "Soak Travel",
                "country": "PT"}).json()
            self.call("confirm", "POST", "/api/agents/confirm-signup",
                      json={"email": email, "password": password, "code": "123456"})
            self.call("approve", "POST", f"/api/agents/{created['agent']['id']}/approve",
                      admin["token"])
            self.agents.append({"email": email, "password": password})
        for agent in self.agents:
            self.log_in_agent(agent)
        self.log_in_operator()
        package = {**package_fields(capacity=1000), "title": f"Soak {uuid.uuid4().hex[:6]}"}
        made = self.call("setup", "POST", "/api/operators/me/packages", self.operator_token,
                         expect=(201,), json=package).json()
        self.call("setup", "POST", f"/api/operators/me/packages/{made['id']}/publish",
                  self.operator_token)
        self.package = made
        self.draft = self.call("setup", "POST", "/api/operators/me/packages",
                               self.operator_token, expect=(201,),
                               json={**package, "title": "Soak draft"}).json()

    # --- tasks ---------------------------------------------------------------------
    def catalogue(self) -> None:
        self.call("catalogue", "GET", "/api/packages", self.agent()["token"],
                  params={"city": "Lisbon", "limit": 20})

    def package_page(self) -> None:
        self.call("package", "GET", f"/api/packages/{self.package['id']}",
                  self.agent()["token"])

    def agent_bookings(self) -> None:
        self.call("bookings_page", "GET", "/api/bookings", self.agent()["token"],
                  params={"limit": 20})

    def operator_bookings(self) -> None:
        self.call("bookings_page", "GET", "/api/bookings", self.operator_token,
                  params={"limit": 20})

    def book_and_cancel(self) -> None:
        token = self.agent()["token"]
        departure = datetime.date.fromisoformat(self.package["first_departure_date"])
        booked = self.call("book", "POST", "/api/bookings", token, expect=(201,), json={
            "package_id": self.package["id"], "departure_date": str(departure),
            "travellers": [{"full_name": "Soak Traveller", "email": "soak@example.com"}]},
            headers={"Idempotency-Key": uuid.uuid4().hex}).json()
        self.call("cancel", "POST", f"/api/bookings/{booked['id']}/cancel", token)

    def agent_profile(self) -> None:
        self.call("agent_me", "GET", "/api/agents/me", self.agent()["token"])

    def upload(self) -> None:
        token = self.agent()["token"]
        form = self.call("upload", "POST", "/api/agents/me/documents", token, expect=(201,),
                         json={"file_name": "licence.pdf", "content_type": "application/pdf",
                               "size": len(PDF), "kind": "licence"}).json()
        stored = requests.post(form["upload"]["url"], data=form["upload"]["fields"],
                               files={"file": ("licence.pdf", PDF, "application/pdf")},
                               timeout=30)
        stored.raise_for_status()
        document = form["document"]["id"]
        self.call("upload", "POST", f"/api/agents/me/documents/{document}/confirm", token)
        self.call("upload", "DELETE", f"/api/agents/me/documents/{document}", token,
                  expect=(204,))

    def operator_edit(self) -> None:
        self.call("operator_edit", "PATCH", f"/api/operators/me/packages/{self.draft['id']}",
                  self.operator_token, json={"description": f"edited {uuid.uuid4().hex[:8]}"})

    def operator_profile(self) -> None:
        self.call("operator_me", "GET", "/api/operators/me", self.operator_token)


# Each task's share of the steady rate.
MIX = {"catalogue": 6, "package_page": 2, "agent_bookings": 2, "operator_bookings": 1,
       "book_and_cancel": 2, "agent_profile": 2, "upload": 1, "operator_edit": 2,
       "operator_profile": 1}


def _private_kib(pids: list[int]) -> int:
    """Memory the processes hold for themselves: private pages (USS) outside shared
    mappings. A page of a shared mapping touched by one process only is private by the
    kernel's count, so PostgreSQL's shared buffers and nginx's shared zones (rate limits,
    the verdict cache's keys) would grow a worker's USS as they fill, up to their
    configured size, which is no leak: mappings flagged shared (`rw-s`) are left out."""
    total = 0
    for pid in pids:
        try:
            shared = False
            for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
                if _MAPPING.match(line):
                    shared = line.split()[1].endswith("s")
                elif not shared and line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1])
        except OSError:
            pass   # a worker that just exited
    return total


# The first line of each mapping in /proc/<pid>/smaps: "start-end perms offset dev inode path".
_MAPPING = re.compile(r"^[0-9a-f]+-[0-9a-f]+ ")


# A client backend's title: "postgres: <user> <database> <host>(<port>) <activity>", or
# [local] for a Unix socket; the server's own processes are named for their job.
CLIENT_BACKEND = re.compile(rb"\(\d+\)|\[local\]")


def _client_backends(pids: list[int]) -> list[int]:
    found = []
    for pid in pids:
        try:
            if CLIENT_BACKEND.search(Path(f"/proc/{pid}/cmdline").read_bytes()):
                found.append(pid)
        except OSError:
            pass   # a backend that just exited
    return found


def memory(layout: Layout) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """KiB of private memory per part (judged), and per database what is reported: its
    client connections, its largest client backend's KiB and the whole server's."""
    parts = {part: _private_kib(part_pids(layout, part)) for part in PARTS}
    databases = {}
    for database in DATABASES:
        pids = part_pids(layout, database)
        backends = _client_backends(pids)
        databases[database] = {
            "connections": len(backends),
            "largest_backend_kib": max((_private_kib([pid]) for pid in backends), default=0),
            "server_kib": _private_kib(pids)}
    return parts, databases


def pools(env: dict[str, str]) -> dict[str, dict[str, float]]:
    """Per service: requests waiting for a connection now, waits given up so far."""
    found = {}
    for service, variable in SERVICES.items():
        text = requests.get(f"{env[variable]}/metrics", timeout=10).text
        values = {"waiting": 0.0, "timeouts": 0.0}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "db_pool_requests_waiting":
                    values["waiting"] += sample.value
                elif sample.name == "db_pool_wait_timeouts_total":
                    values["timeouts"] += sample.value
        found[service] = values
    return found


def _progress(sample, *, minutes: float, failed: int) -> None:
    """One line on stderr per sample, so a ten-minute run shows it is alive and how it goes."""
    elapsed, (parts, _databases), _pools = sample
    memory_mib = ", ".join(f"{name} {kib / 1024:.1f}" for name, kib in parts.items())
    print(f"soak: {elapsed / 60:.1f} of {minutes:g} min, {failed} failed; MiB: {memory_mib}",
          file=sys.stderr, flush=True)


def run(traffic: Traffic, layout: Layout, *, minutes: float, rate: float,
        warm_up: float, sample_seconds: float = SAMPLE_SECONDS) -> dict:
    tasks = [getattr(traffic, name) for name, weight in MIX.items() for _ in range(weight)]
    failures: Counter[str] = Counter()
    samples: list[tuple[float, tuple[dict, dict], dict]] = []

    def guarded(task) -> None:
        try:
            task()
        except Exception as error:   # noqa: BLE001  (counted and reported, the run goes on)
            failures[f"{task.__name__}: {str(error)[:120]}"] += 1

    start = time.monotonic()
    end = start + minutes * 60
    next_task, next_sample = start, start
    next_agent_login = start + AGENT_LOGIN_SECONDS
    next_operator_login = start + OPERATOR_LOGIN_SECONDS
    logins = itertools.count()
    with ThreadPoolExecutor(max_workers=24) as pool:
        for task in itertools.cycle(tasks):
            now = time.monotonic()
            if now >= end:
                break
            if now >= next_sample:
                samples.append((now - start, memory(layout), pools(traffic.env)))
                next_sample += sample_seconds
                _progress(samples[-1], minutes=minutes, failed=sum(failures.values()))
            if now >= next_agent_login:
                agent = traffic.agents[next(logins) % len(traffic.agents)]
                pool.submit(guarded, lambda agent=agent: traffic.log_in_agent(agent))
                next_agent_login += AGENT_LOGIN_SECONDS
            if now >= next_operator_login:
                pool.submit(guarded, traffic.log_in_operator)
                next_operator_login += OPERATOR_LOGIN_SECONDS
            pool.submit(guarded, task)
            next_task += 1 / rate
            time.sleep(max(0.0, next_task - time.monotonic()))
    samples.append((time.monotonic() - start, memory(layout), pools(traffic.env)))
    return summarise(traffic, samples, failures, minutes=minutes, warm_up=warm_up)


def _growth(before: dict[str, int], after: dict[str, int]) -> dict[str, float]:
    return {part: (after[part] / before[part] - 1) if before[part] else 0.0 for part in before}


def leaking(summary: dict) -> dict[str, float]:
    """The parts whose memory reads as a leak: grown more than MAX_GROWTH since the
    warm-up, and still growing over the last third of the run at a pace that alone would
    come to a third of that. A part that rose to a high-water mark and stayed there is no
    leak: nginx's workers keep the buffers of the most connections they served at once
    (measured: 3.0 -> 6.1 MiB in 20 s of 16 connections, then flat over 4 x 20 s more,
    ~50,000 requests; docs/benchmarks.md), so a soak whose latency peaks late, on a
    loaded machine, raises nginx's mark late."""
    return {part: grown for part, grown in summary["memory_growth"].items()
            if grown > MAX_GROWTH
            and summary["memory_growth_last_third"][part] > MAX_GROWTH / 3}


def summarise(traffic: Traffic, samples, failures, *, minutes: float, warm_up: float) -> dict:
    after = [s for s in samples if s[0] >= warm_up * 60] or samples
    (baseline, databases_then), (final, databases_now) = after[0][1], samples[-1][1]
    growth = _growth(baseline, final)
    first_pools, last_pools = samples[0][2], samples[-1][2]
    requests_total = sum(traffic.statuses.values())
    latency = {kind: {"p50": round(statistics.median(values), 1),
                      "p99": round(statistics.quantiles(values, n=100)[98], 1)
                      if len(values) > 1 else round(values[0], 1)}
               for kind, values in sorted(traffic.latencies.items())}
    return {
        "minutes": minutes, "requests": requests_total,
        "requests_per_second": round(requests_total / (minutes * 60), 1),
        "statuses": {f"{kind} {status}": count
                     for (kind, status), count in sorted(traffic.statuses.items())},
        "server_errors": traffic.server_errors[:20],
        "task_failures": dict(failures),
        "memory_kib_after_warm_up": baseline, "memory_kib_at_end": final,
        # Every sample, so the shape of a part's growth (a slope, or steps to a mark) can be
        # read after the run: seconds since the start, then each part's KiB at them.
        "memory_kib_by_sample": {"seconds": [round(s[0]) for s in samples],
                                 **{part: [s[1][0][part] for s in samples] for part in PARTS}},
        "memory_growth": {part: round(g, 4) for part, g in growth.items()},
        "memory_growth_last_third": {
            part: round(g, 4) for part, g in
            _growth(after[len(after) * 2 // 3][1][0] if len(after) > 2 else baseline,
                    final).items()},
        "databases_after_warm_up": databases_then, "databases_at_end": databases_now,
        "database_connections_max": {database: max(s[1][1][database]["connections"]
                                                   for s in samples)
                                     for database in DATABASES},
        "pool_waiting_max": {service: max(s[2][service]["waiting"] for s in samples)
                             for service in SERVICES},
        "pool_timeouts": {service: last_pools[service]["timeouts"]
                          - first_pools[service]["timeouts"] for service in SERVICES},
        "latency_ms": latency,
    }


def refuse_failed_requests(traffic: Traffic, summary: dict) -> None:
    """Refuse (one line, exit 1, no summary) if any of the soak's own requests answered
    what its task did not expect (a 5xx or a 429 included) or a task failed otherwise."""
    answers = sum(traffic.unexpected.values())
    others = sum(summary["task_failures"].values()) - answers
    if not answers and others <= 0:
        return
    statuses = ", ".join(f"{kind} {status}: {count}"
                         for (kind, status), count in sorted(traffic.unexpected.items()))
    first = (traffic.server_errors or list(summary["task_failures"]) or [""])[0]
    refuse(f"{answers} of {summary['requests']} requests answered what the soak did not "
           f"expect ({statuses or 'none'}) and {max(others, 0)} tasks failed otherwise; "
           f"first: {' '.join(first.split())[:160]}")


def main(argv: list[str] | None = None) -> int:
    """Command line entry point: prints the summary as JSON; exit 1 if a criterion failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", type=Path, default=Path(".dev/stack.env"))
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=20, help="tasks started per second")
    parser.add_argument("--warm-up", type=float, default=1, help="minutes before the "
                        "memory baseline")
    parser.add_argument("--sample-seconds", type=float, default=SAMPLE_SECONDS,
                        help="seconds between memory and pool samples")
    parser.add_argument("--quick", action="store_true",
                        help="15 s at 5 tasks/s, memory not judged (what make test runs)")
    args = parser.parse_args(argv)
    if args.quick:
        vars(args).update(QUICK)
    env = read_env(args.env)
    layout = Layout(state=args.env.resolve().parent)
    traffic = Traffic(env)
    try:
        traffic.set_up()
    except (RuntimeError, requests.RequestException) as error:
        refuse(f"setting up the soak's accounts and packages failed: {error}")
    summary = run(traffic, layout, minutes=args.minutes, rate=args.rate, warm_up=args.warm_up,
                  sample_seconds=args.sample_seconds)
    refuse_failed_requests(traffic, summary)
    print(json.dumps(summary, indent=2))
    problems = []
    grown = leaking(summary)
    if grown and not args.quick:
        problems.append(f"memory grew more than {MAX_GROWTH:.0%} and was still growing "
                        f"in the last third of the run: {grown}")
    if args.quick:
        print("soak: a quick run reports memory without judging it", file=sys.stderr)
    if any(summary["pool_timeouts"].values()):
        problems.append(f"a pool made requests give up: {summary['pool_timeouts']}")
    print("soak: " + ("; ".join(problems) if problems else "passed"), file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

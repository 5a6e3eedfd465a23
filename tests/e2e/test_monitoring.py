"""Monitoring on the real stack: each service's /metrics on its own port (all gunicorn
workers added up), never through the gateway; Prometheus scraping every part, the
databases' replication slots included."""
from __future__ import annotations

import contextlib
import io
import time
import uuid

import psycopg
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from devstack import api as devstack
from tests.builders.agents import active_agent
from tests.builders.bookings import booking_body
from tests.builders.packages import publish_package
from tests.helpers import api
from travel_platform.gunicorn import config as gunicorn_config

pytestmark = pytest.mark.stack
# A service's own /metrics port, or its process: devstack's stacks only.
DIRECT = pytest.mark.devstack


def scrape(test_layout, part: str) -> dict[tuple, float]:
    """A service's /metrics as {(name, frozenset(labels)): value}."""
    response = requests.get(f"{test_layout.url(part)}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    """Sum of the samples of `name` whose labels include `labels` (0 if none)."""
    wanted = set(labels.items())
    return sum(v for (n, labelled), v in samples.items() if n == name and wanted <= labelled)


def query(test_layout, promql: str) -> list[dict]:
    """An instant query to the test stack's Prometheus."""
    answer = requests.get(f"{test_layout.url('prometheus')}/api/v1/query",
                          params={"query": promql}, timeout=10).json()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def wait_for(check, *, timeout: float = 40.0, every: float = 1.0):
    """Poll `check` until it returns something truthy; fail with its last answer."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    pytest.fail(f"not within {timeout} s; last answer: {last!r}")


@pytest.mark.parametrize("path", ["/metrics", "/metrics/", "/stub_status",
                                  "/api/bookings/../../metrics"])
def test_the_gateway_does_not_route_metrics_or_nginx_status(gateway, path):
    response = requests.get(f"{gateway}{path}", timeout=10)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "http_requests_total" not in response.text


@DIRECT
def test_requests_are_counted_by_route_template_across_workers(gateway, agent_token,
                                                              test_layout):
    before = value(scrape(test_layout, "agent-service"), "http_requests_total",
                   route="/api/agents/me", method="GET", status="200")
    # Enough requests that both gunicorn workers serve some; /metrics adds up all of them.
    for _ in range(20):
        assert api(gateway, "GET", "/api/agents/me", agent_token).status_code == 200
    after = scrape(test_layout, "agent-service")
    assert value(after, "http_requests_total", route="/api/agents/me", method="GET",
                 status="200") - before == 20
    assert value(after, "http_request_duration_seconds_count", route="/api/agents/me",
                 method="GET") >= 20


@DIRECT
def test_unknown_ids_share_their_route_templates_series(gateway, agent_token, test_layout):
    for _ in range(3):
        missing = api(gateway, "GET", f"/api/bookings/{uuid.uuid4()}", agent_token)
        assert missing.status_code == 404
    samples = scrape(test_layout, "booking-service")
    routes = {dict(labelled)["route"] for (n, labelled) in samples
              if n == "http_requests_total"}
    assert "/api/bookings/<uuid:booking_id>" in routes
    assert not [r for r in routes if r.count("-") >= 4], routes   # no raw uuid in a label


@DIRECT
def test_made_up_methods_share_one_series(gateway, test_layout):
    # Finding 8: each method a client made up was a label value, so a new series.
    before = value(scrape(test_layout, "agent-service"), "http_requests_total",
                   method="other", status="405")
    # nginx passes on any method of capital letters.
    made_up = ["X" + "".join(chr(65 + int(d, 16)) for d in uuid.uuid4().hex[:10])
               for _ in range(20)]
    for method in made_up:
        answer = requests.request(method, f"{gateway}/api/agents/login", timeout=10)
        assert answer.status_code == 405, (method, answer.text)
    samples = scrape(test_layout, "agent-service")
    methods = {dict(labelled).get("method") for (n, labelled) in samples
               if n in ("http_requests_total", "http_request_duration_seconds_count")}
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}, \
        methods
    assert value(samples, "http_requests_total", method="other", status="405") - before == 20


@DIRECT
def test_pool_capacity_is_summed_over_every_worker(test_layout):
    samples = scrape(test_layout, "operator-service")
    # operator-service has a pool per database, of 8 connections, in each worker.
    for database in ("supabase", "rds"):
        assert value(samples, "db_pool_connections_max", database=database) == \
            8 * gunicorn_config.workers
        assert value(samples, "db_pool_connections", database=database) >= 1


@DIRECT
def test_refused_tokens_are_counted_by_the_rule_that_refused_them(gateway, test_layout,
                                                                  agent_token):
    before = value(scrape(test_layout, "gateway-auth"), "auth_tokens_refused_total",
                   reason="token_invalid_signature")
    header, payload, _ = agent_token.split(".")
    forged = f"{header}.{payload}.{'A' * 342}"
    for _ in range(3):
        assert api(gateway, "GET", f"/api/agents/me?n={uuid.uuid4()}", forged).status_code == 401
    after = value(scrape(test_layout, "gateway-auth"), "auth_tokens_refused_total",
                  reason="token_invalid_signature")
    assert after - before == 3


@pytest.fixture(scope="module")
def booking(gateway, operator_token, stack_env, test_layout):
    """A fresh active agent, a booking of theirs, and the replay counter before a retry."""
    package = publish_package(gateway, operator_token, capacity=10)
    agent = active_agent(gateway, stack_env)
    body = booking_body(package, travellers=1)
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    replays = value(scrape(test_layout, "booking-service"), "booking_idempotent_replays_total")
    first = api(gateway, "POST", "/api/bookings", agent.token, json=body, headers=headers)
    assert first.status_code == 201, first.text
    return {"agent": agent, "body": body, "headers": headers, "replays_before": replays}


@DIRECT
def test_a_retried_booking_counts_as_an_idempotent_replay(gateway, booking, test_layout):
    again = api(gateway, "POST", "/api/bookings", booking["agent"].token,
                json=booking["body"], headers=booking["headers"])
    assert again.status_code == 200, again.text
    after = scrape(test_layout, "booking-service")
    assert value(after, "booking_idempotent_replays_total") - booking["replays_before"] == 1
    assert value(after, "downstream_request_duration_seconds_count",
                 dependency="operator-service", outcome="ok") >= 1


@DIRECT
def test_a_dead_dependency_opens_the_breaker_metric(gateway, booking, test_layout):
    token = booking["agent"].token
    # Earlier tests opened breakers too, and a worker's gauge keeps its last state until its
    # next call: what this test may claim about the healthy dependency is that its breaker
    # did not open again.
    opened = value(scrape(test_layout, "booking-service"), "circuit_breaker_opened_total",
                   dependency="operator-service")
    devstack.stop_part(test_layout, "agent-service")
    try:
        for _ in range(16):   # 5 failures in a row open a worker's breaker
            listed = api(gateway, "GET", "/api/bookings", token,
                         headers={"Cache-Control": "no-cache"})
            assert listed.json()["degraded"] == ["agent-service"]
        samples = scrape(test_layout, "booking-service")
        assert value(samples, "circuit_breaker_open", dependency="agent-service") == 1
        assert value(samples, "circuit_breaker_opened_total",
                     dependency="operator-service") == opened
        assert value(samples, "downstream_request_duration_seconds_count",
                     dependency="agent-service", outcome="breaker_open") >= 1
        wait_for(lambda: query(test_layout,
                               'circuit_breaker_open{dependency="agent-service"} == 1'))
    finally:
        devstack.up(test_layout)


def test_prometheus_scrapes_every_part(test_layout):
    def all_up():
        found = query(test_layout, "up")
        return len(found) >= 8 and all(r["value"][1] == "1" for r in found) and found
    jobs = {r["metric"]["job"] for r in wait_for(all_up, timeout=60)}
    assert jobs >= {"gateway", "gateway-auth", "agent-service", "operator-service",
                    "booking-service", "postgres", "prometheus"}
    assert {r["metric"]["server"] for r in query(test_layout, "pg_up == 1")} == \
        {"supabase-db", "rds"}
    assert query(test_layout, "nginx_up == 1")


@pytest.mark.devstack  # devstack's own status command
def test_make_status_counts_prometheus_targets(test_layout):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        devstack.status(test_layout)
    targets_line = [line for line in out.getvalue().splitlines() if line.startswith("targets")]
    assert targets_line and " 8/8 up" in targets_line[0], out.getvalue()
    assert "prometheus" in out.getvalue()


def test_an_abandoned_replication_slot_shows_as_inactive_and_retaining_wal(stack_env,
                                                                          test_layout):
    slot = f"monitoring_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(stack_env["SUPABASE_DB_ADMIN_URL"], autocommit=True) as conn:
        conn.execute("select pg_create_logical_replication_slot(%s, 'pgoutput')", (slot,))
        try:
            # Writes after the slot's start: WAL its (absent) consumer never confirms.
            conn.execute(f"create table {slot} as "
                         "select g, repeat('x', 200) as pad from generate_series(1, 20000) g")
            conn.execute(f"drop table {slot}")
            found = wait_for(lambda: query(
                test_layout, f'pg_slot_retained_bytes{{slot_name="{slot}"}} > 1000000'))
            assert found[0]["metric"]["server"] == "supabase-db"
            assert query(test_layout, f'pg_slot_active{{slot_name="{slot}"}} == 0')
            # the alert waits 10 minutes before firing; it is already pending
            pending = wait_for(lambda: query(
                test_layout, f'ALERTS{{alertname="ReplicationSlotInactive", slot_name="{slot}"}}'))
            assert pending[0]["metric"]["alertstate"] == "pending"
        finally:
            conn.execute("select pg_drop_replication_slot(%s)", (slot,))


def test_database_connections_and_size_are_measured_on_both_servers(test_layout):
    for metric in ("pg_settings_max_connections", "pg_stat_activity_count",
                   "pg_database_size_bytes", "pg_locks_count", "pg_longest_transaction_seconds"):
        servers = wait_for(lambda metric=metric: {r["metric"]["server"]
                                                  for r in query(test_layout, metric)}
                           >= {"supabase-db", "rds"})
        assert servers, metric

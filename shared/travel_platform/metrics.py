"""Prometheus metrics of every service, in one place.

Each service runs several gunicorn workers, and a scrape reaches only one of them; so the
metrics live in prometheus_client's multiprocess mode: every worker writes its values to
files under PROMETHEUS_MULTIPROC_DIR and `/metrics` (whichever worker serves it) adds them
up. Without that variable (a Flask test client, a one-process run) the process's own
registry is served instead, so the same code works both ways.

`/metrics` is served on each service's own port and is deliberately not routed by the
gateway: it names routes, dependencies and refusal counts, which are not for the public.
"""
from __future__ import annotations

import os
import shutil
import threading
import time
import weakref
from pathlib import Path

import pybreaker
from flask import Blueprint, Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client import REGISTRY as PROCESS_REGISTRY
from psycopg_pool import ConnectionPool

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Requests are mostly milliseconds; the top buckets show a stuck database or dependency.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# How often each worker copies its pools' statistics into the gauges. A scrape is served by
# one worker only, so each worker must publish its own pools by itself.
POOL_SAMPLE_SECONDS = 2.0

# The methods a request is labelled with; any other is "other". The method is the client's
# to choose (any token of letters passes nginx), and every label value is a series of its
# own in every worker's files and in Prometheus: a scanner's made-up methods would add
# series without bound.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    """`method` if it is one of METHODS, else "other"."""
    return method if method in METHODS else "other"


HTTP_REQUESTS = Counter(
    "http_requests_total", "Requests served, by route template, method and status.",
    ["service", "route", "method", "status"])
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds", "Time to serve a request, by route template and method.",
    ["service", "route", "method"], buckets=LATENCY_BUCKETS)

# Pool gauges are summed over live workers: in use / max is how full the service's pools are.
DB_POOL_SIZE = Gauge("db_pool_connections", "Connections open in the pool.",
                     ["service", "database"], multiprocess_mode="livesum")
DB_POOL_IN_USE = Gauge("db_pool_connections_in_use", "Connections lent out to requests.",
                       ["service", "database"], multiprocess_mode="livesum")
DB_POOL_MAX = Gauge("db_pool_connections_max", "Most connections the pool may open.",
                    ["service", "database"], multiprocess_mode="livesum")
DB_POOL_WAITING = Gauge("db_pool_requests_waiting", "Requests waiting for a connection now.",
                        ["service", "database"], multiprocess_mode="livesum")
DB_POOL_TIMEOUTS = Counter("db_pool_wait_timeouts_total",
                           "Requests that gave up waiting for a connection (pool exhausted).",
                           ["service", "database"])

BREAKER_STATE = Gauge(
    "circuit_breaker_open", "1 while the circuit breaker to a dependency is open in any "
    "worker (calls fail at once), 0.5 half-open, 0 closed.",
    ["service", "dependency"], multiprocess_mode="livemax")
BREAKER_OPENED = Counter("circuit_breaker_opened_total", "Times a breaker opened.",
                         ["service", "dependency"])
DOWNSTREAM_LATENCY = Histogram(
    "downstream_request_duration_seconds",
    "Calls to another service, by dependency and outcome (ok, client_error, failed, "
    "breaker_open).", ["service", "dependency", "outcome"], buckets=LATENCY_BUCKETS)

TOKENS_REFUSED = Counter("auth_tokens_refused_total",
                         "Bearer tokens refused, by the rule that refused them (the 401 code).",
                         ["service", "reason"])
JWKS_FETCHES = Counter("auth_jwks_fetches_total",
                       "JWKS fetches (expiry or an unknown kid), by issuer and outcome.",
                       ["service", "jwks_url", "outcome"])
IDEMPOTENT_REPLAYS = Counter("booking_idempotent_replays_total",
                             "POST /api/bookings answered with the booking of an earlier "
                             "request with the same Idempotency-Key.", ["service"])

_service = {"name": "unknown"}
_pools: weakref.WeakValueDictionary[str, ConnectionPool] = weakref.WeakValueDictionary()
_errors_seen: dict[str, int] = {}   # per database: pool errors already counted
_sampler_lock = threading.Lock()
_sampler_started = False


def service_name() -> str:
    """The name label of this process (set once by `register_metrics`)."""
    return _service["name"]


def _registry() -> CollectorRegistry:
    if not os.environ.get(MULTIPROC_ENV):
        return PROCESS_REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def register_metrics(app: Flask, *, name: str) -> None:
    """Count and time every request by its route template, and serve GET /metrics."""
    _service["name"] = name
    bp = Blueprint("metrics", __name__)

    @bp.get("/metrics")
    def metrics():
        """Prometheus metrics of this service (all workers). Not routed by the gateway."""
        return Response(generate_latest(_registry()), mimetype=CONTENT_TYPE_LATEST)

    app.register_blueprint(bp)

    @app.before_request
    def start_timer():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def count_request(response):
        started = g.pop("metrics_started", None)
        if started is not None:
            # The template (/api/bookings/<uuid:booking_id>), never the raw path: one series
            # per route, not per booking id or scanner's guess.
            route = request.url_rule.rule if request.url_rule else "unmatched"
            method = method_label(request.method)
            HTTP_REQUESTS.labels(name, route, method, str(response.status_code)).inc()
            HTTP_LATENCY.labels(name, route, method).observe(
                time.perf_counter() - started)
        return response


def track_pool(pool: ConnectionPool, *, database: str) -> None:
    """Publish a psycopg_pool's statistics (size, in use, waiting, timeouts) as `database`."""
    global _sampler_started
    _pools[database] = pool
    with _sampler_lock:
        if not _sampler_started:
            _sampler_started = True
            threading.Thread(target=_sample_pools_forever, name="pool-metrics",
                             daemon=True).start()
    sample_pools()


def sample_pools() -> None:
    """Copy each tracked pool's `get_stats()` into the gauges once."""
    for database, pool in list(_pools.items()):
        stats = pool.get_stats()
        size, available = stats.get("pool_size", 0), stats.get("pool_available", 0)
        labels = (service_name(), database)
        DB_POOL_SIZE.labels(*labels).set(size)
        DB_POOL_IN_USE.labels(*labels).set(size - available)
        DB_POOL_MAX.labels(*labels).set(stats.get("pool_max", pool.max_size))
        DB_POOL_WAITING.labels(*labels).set(stats.get("requests_waiting", 0))
        errors = stats.get("requests_errors", 0)     # cumulative in this process
        seen = _errors_seen.get(database, 0)
        if errors > seen:
            DB_POOL_TIMEOUTS.labels(*labels).inc(errors - seen)
            _errors_seen[database] = errors


def _sample_pools_forever() -> None:
    while True:
        time.sleep(POOL_SAMPLE_SECONDS)
        try:
            sample_pools()
        except Exception:   # a metrics thread must never take a worker down
            pass


class BreakerMetrics(pybreaker.CircuitBreakerListener):
    """pybreaker listener: the breaker's state as a gauge, and a count of openings."""

    _VALUES = {"closed": 0.0, "half-open": 0.5, "open": 1.0}

    def __init__(self, dependency: str):
        self.dependency = dependency
        BREAKER_STATE.labels(service_name(), dependency).set(0)

    def before_call(self, cb, func, *args, **kwargs):
        pass

    def success(self, cb):
        pass

    def failure(self, cb, exc):
        pass

    def state_change(self, cb, old_state, new_state):
        name = getattr(new_state, "name", str(new_state))
        BREAKER_STATE.labels(service_name(), self.dependency).set(self._VALUES.get(name, 0.0))
        if name == "open":
            BREAKER_OPENED.labels(service_name(), self.dependency).inc()


def observe_downstream(dependency: str, outcome: str, seconds: float) -> None:
    """One call to another service: how long it took and how it ended."""
    DOWNSTREAM_LATENCY.labels(service_name(), dependency, outcome).observe(seconds)


def count_refused_token(reason: str | None) -> None:
    """A token refused with this 401 code."""
    TOKENS_REFUSED.labels(service_name(), reason or "unknown").inc()


def count_jwks_fetch(url: str, outcome: str) -> None:
    """A JWKS fetch and whether it worked (ok, failed)."""
    JWKS_FETCHES.labels(service_name(), url, outcome).inc()


def count_idempotent_replay() -> None:
    """A booking request answered from an earlier one with the same Idempotency-Key."""
    IDEMPOTENT_REPLAYS.labels(service_name()).inc()


# gunicorn hooks (shared/travel_platform/gunicorn/config.py): values of a previous run must
# not be added to this one's, and a dead worker's live gauges must stop counting.
def on_starting(server) -> None:
    """Empty the multiprocess folder before the first worker starts."""
    folder = os.environ.get(MULTIPROC_ENV)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def child_exit(server, worker) -> None:
    """Forget the live gauges of a worker that exited."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(worker.pid)

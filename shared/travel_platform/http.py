"""HTTP client for calls between services: timeouts, a bounded retry for reads, a circuit
breaker, and the caller's request id and token on every call (from `travel_platform.call_context`,
so this module has no Flask in it)."""
from __future__ import annotations

import logging
import time

import pybreaker
import requests
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from travel_platform import call_context
from travel_platform.errors import ServiceUnavailable
from travel_platform.metrics import BreakerMetrics, observe_downstream
from travel_platform.observability import REQUEST_ID_HEADER

log = logging.getLogger(__name__)


class DependencyFailed(Exception):
    """The other service could not answer (network failure, timeout or 5xx)."""


class ServiceClient:
    """Calls one other service. Every call has a connect and a read timeout; after
    `fail_max` failures in a row the breaker opens and calls fail at once for
    `reset_timeout` seconds, so a dead dependency does not tie up our workers.

    One breaker per dependency (per worker process), shared by every caller and route, on
    purpose: it answers "is the dependency up?", which is the same for everyone; a breaker
    per caller would let each new caller wait out the timeouts of a dead service again.
    What makes sharing safe is what counts as a failure: only the dependency's own (5xx,
    timeout, refused connection); a 4xx is an answer about the caller's request (a refused
    token, an unknown id) and never counts, so no caller can open it for the others."""

    def __init__(self, *, name: str, base_url: str, connect_timeout: float, read_timeout: float,
                 fail_max: int = 5, reset_timeout: float = 10.0):
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.session = requests.Session()
        self.breaker = pybreaker.CircuitBreaker(fail_max=fail_max, reset_timeout=reset_timeout,
                                                name=name, listeners=[BreakerMetrics(name)])

    def _headers(self) -> dict[str, str]:
        caller = call_context.current()
        headers = {}
        if caller.request_id:
            headers[REQUEST_ID_HEADER] = caller.request_id
        # The callee verifies the caller's own token: nothing is trusted for where it comes from.
        if caller.authorization:
            headers["Authorization"] = caller.authorization
        return headers

    @retry(retry=retry_if_exception_type(requests.ConnectionError), reraise=True,
           stop=stop_after_attempt(2), wait=wait_exponential(multiplier=0.05, max=0.2))
    def _get_once(self, path: str, params) -> requests.Response:
        response = self.session.get(f"{self.base_url}{path}", params=params,
                                    headers=self._headers(), timeout=self.timeout)
        if response.status_code >= 500:
            raise DependencyFailed(f"{self.name} answered {response.status_code}")
        return response

    def unavailable(self) -> ServiceUnavailable:
        """The error a caller gets when this dependency cannot answer."""
        return ServiceUnavailable(f"{self.name} is unavailable, try again shortly",
                                  code="dependency_unavailable",
                                  details=[{"dependency": self.name}])

    def get(self, path: str, *, params=None) -> requests.Response:
        """GET through the breaker (idempotent, so retried once on a connection failure);
        a 4xx answer is returned, a failure raises ServiceUnavailable naming the service."""
        started = time.perf_counter()
        try:
            response = self.breaker.call(self._get_once, path, params)
        except (pybreaker.CircuitBreakerError, requests.RequestException, DependencyFailed) as exc:
            outcome = "breaker_open" if isinstance(exc, pybreaker.CircuitBreakerError) else "failed"
            observe_downstream(self.name, outcome, time.perf_counter() - started)
            log.warning("call to %s %s failed: %s", self.name, path, exc)
            raise self.unavailable() from exc
        outcome = "ok" if response.status_code < 400 else "client_error"
        observe_downstream(self.name, outcome, time.perf_counter() - started)
        return response

    def check_health(self) -> None:
        """Raise ServiceUnavailable unless the service answers /health now. It goes around
        the breaker: a readiness probe reports the dependency's state, not our memory of it."""
        try:
            response = self._get_once("/health", None)
        except (requests.RequestException, DependencyFailed) as exc:
            raise self.unavailable() from exc
        if response.status_code != 200:
            raise self.unavailable()

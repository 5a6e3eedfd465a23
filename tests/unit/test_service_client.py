"""One circuit breaker per dependency, shared by every caller of it: it measures whether
the dependency is up, so only the dependency's own failures (5xx, timeouts, refused
connections) count; an answer about the caller's request (a 4xx: a refused token, an
unknown id) never does, so no caller can open the breaker for the others."""
from __future__ import annotations

import pytest
import requests

from travel_platform.errors import ServiceUnavailable
from travel_platform.http import ServiceClient


class FakeSession:
    """The dependency as requests sees it: answers with the statuses given, in turn."""

    def __init__(self):
        self.statuses: list[int] = []
        self.calls = 0

    def get(self, url, **kwargs):
        self.calls += 1
        response = requests.Response()
        response.status_code = self.statuses.pop(0)
        return response


@pytest.fixture
def client():
    service = ServiceClient(name="operator-service", base_url="http://dependency",
                            connect_timeout=0.5, read_timeout=2, fail_max=3, reset_timeout=60)
    service.session = FakeSession()  # type: ignore[assignment]
    return service


def test_answers_about_the_callers_request_never_open_the_breaker(client):
    client.session.statuses = [401, 403, 404, 400, 401, 422, 404, 200]
    assert [client.get("/internal/packages").status_code for _ in range(8)] == [
        401, 403, 404, 400, 401, 422, 404, 200]
    assert client.breaker.current_state == "closed"


def test_the_dependencys_own_failures_open_it_for_every_caller(client):
    client.session.statuses = [500, 503, 502]
    for _ in range(3):
        with pytest.raises(ServiceUnavailable):
            client.get("/internal/packages")
    assert client.breaker.current_state == "open"
    with pytest.raises(ServiceUnavailable):
        client.get("/internal/packages")
    assert client.session.calls == 3  # the fourth caller did not wait on the dead service


def test_a_success_between_failures_keeps_it_closed(client):
    client.session.statuses = [500, 500, 200, 500, 500, 200]
    outcomes = []
    for _ in range(6):
        try:
            outcomes.append(client.get("/internal/packages").status_code)
        except ServiceUnavailable:
            outcomes.append("unavailable")
    assert outcomes == ["unavailable", "unavailable", 200, "unavailable", "unavailable", 200]
    assert client.breaker.current_state == "closed"

"""The stack of docker-compose.yml, as its operators use it: one service is rebuilt and
replaced while clients keep calling, and a service scaled out takes its share of the load;
through the gateway, as a client sees it. The containers are driven with the `docker`
package (Docker's API; podman's compatible one too). Runs against the compose stack
(`make compose-test`); skipped against devstack's."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter

import docker
import pytest

from devstack.api import compose_build, compose_replicas
from tests.builders.bookings import book, booking_body
from tests.builders.packages import publish_package
from tests.helpers import REPO, Loops, access_log, api

pytestmark = [pytest.mark.stack, pytest.mark.containers]
SERVICE = "booking-service"


@pytest.fixture(scope="module")
def client():
    return docker.from_env()


@pytest.fixture(scope="module")
def package(gateway, operator_token):
    """Room for every booking the clients make: a quiet machine books ~150 seats a second
    (a sold-out departure's 409 would read as a failed request)."""
    return publish_package(gateway, operator_token, capacity=10000)


def deploy(*args: str) -> None:
    """`make deploy SERVICE=booking-service ...`, as an operator runs it."""
    run = subprocess.run([sys.executable, "-m", "devstack.containers.deploy", SERVICE, *args],
                         cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.fixture
def one_replica(client):
    """booking-service back at one replica (the newest) after the test."""
    yield
    for extra in compose_replicas(client, SERVICE)[:-1]:
        extra.stop(timeout=15)
        extra.remove()


def _ip(container) -> str:
    networks = container.attrs["NetworkSettings"]["Networks"]
    return next(iter(networks.values()))["IPAddress"]


def _clients(gateway: str, token: str, package, statuses: Counter) -> Loops:
    """3 agents calling booking-service through the gateway in a loop, reads and bookings
    (each POST with its own Idempotency-Key); every answer's status counted."""
    lock = threading.Lock()

    def call() -> None:
        with lock:
            n = sum(statuses.values())
        if n % 5 == 4:
            status = book(gateway, token, booking_body(package, travellers=1)).status_code
        else:
            status = api(gateway, "GET", "/api/bookings", token).status_code
        with lock:
            statuses[status] += 1

    return Loops(call, threads=3)


def test_a_rebuilt_service_is_replaced_while_clients_call_with_no_failed_request(
        client, gateway, agent_token, package, one_replica):
    compose_build(SERVICE)   # from this checkout
    old = [c.id for c in compose_replicas(client, SERVICE)]
    statuses: Counter[int] = Counter()
    with _clients(gateway, agent_token, package, statuses):
        time.sleep(2)
        deploy()
        time.sleep(2)
    new = [c.id for c in compose_replicas(client, SERVICE)]
    assert len(new) == len(old) and not set(old) & set(new)
    image = client.images.get(f"travel-platform/{SERVICE}:local")
    assert all(client.containers.get(i).image.id == image.id for i in new)
    assert statuses[201] > 0 and statuses[200] > 20, statuses
    assert set(statuses) == {200, 201}, statuses


def test_scaled_out_the_gateway_spreads_requests_over_every_replica(
        client, gateway, agent_token, test_layout, one_replica):
    deploy("--scale", "3")
    replicas = compose_replicas(client, SERVICE)
    assert len(replicas) == 3
    ids = []
    for _ in range(60):
        response = api(gateway, "GET", "/api/bookings", agent_token)
        assert response.status_code == 200
        ids.append(response.headers["X-Request-ID"])
    time.sleep(0.5)   # the gateway's access log is flushed every 100 ms
    served = Counter(entry["upstream"].split(":")[0] for entry in access_log(test_layout.logs,
                                                                               "gateway")
                     if entry.get("request_id") in set(ids))
    assert sum(served.values()) == 60
    # nginx takes turns over the addresses Docker's DNS gives for the name.
    assert set(served) == {_ip(c) for c in replicas}
    assert min(served.values()) >= 10, served

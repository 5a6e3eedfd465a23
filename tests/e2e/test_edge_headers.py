"""What the gateway adds to its answers for browsers (issue 21, finding 8): HSTS where TLS
ends (the load balancer, which cannot add headers, forwards HTTPS requests to the gateway),
and the dashboard's page refusing to be framed, with its Content-Security-Policy sent as a
header."""
from __future__ import annotations

import pytest

from tests.conftest import TRUSTED_PROXY
from tests.helpers import client_at

pytestmark = pytest.mark.stack

HSTS = "Strict-Transport-Security"
# An answer of each kind: nginx's own, the dashboard's page, a service's, a gateway error.
PATHS = ("/health", "/", "/api/packages", "/no-such-route")


@pytest.mark.devstack  # calls from several loopback addresses
@pytest.mark.parametrize("path", PATHS)
def test_https_requests_the_load_balancer_forwards_get_hsts(gateway, path):
    answer = client_at(TRUSTED_PROXY).get(f"{gateway}{path}", timeout=15, headers={
        "X-Forwarded-For": "203.0.113.30", "X-Forwarded-Proto": "https"})
    assert answer.headers.get(HSTS) == "max-age=31536000", (answer.status_code, answer.headers)


@pytest.mark.devstack
@pytest.mark.parametrize("address, proto", [
    (TRUSTED_PROXY, "http"),   # the balancer's plain HTTP (it has no such listener on AWS)
    ("127.0.0.3", "https"),    # a direct client claiming HTTPS: no proxy said so
])
def test_no_hsts_on_requests_that_did_not_come_over_https(gateway, address, proto):
    for path in PATHS:
        answer = client_at(address).get(f"{gateway}{path}", timeout=15, headers={
            "X-Forwarded-For": "203.0.113.31", "X-Forwarded-Proto": proto})
        assert HSTS not in answer.headers, (path, answer.headers)

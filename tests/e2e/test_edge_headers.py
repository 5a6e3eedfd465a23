"""What the gateway adds to its answers for browsers (issue 21, finding 8): HSTS where TLS
ends (the load balancer, which cannot add headers, forwards HTTPS requests to the gateway),
and the dashboard's page refusing to be framed, with its Content-Security-Policy sent as a
header."""
from __future__ import annotations

import pytest
import requests

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


def _policy(header: str) -> dict[str, list[str]]:
    """A Content-Security-Policy header as {directive: sources}."""
    return {name: sources for name, *sources in
            (part.split() for part in header.split(";") if part.strip())}


def test_the_dashboard_cannot_be_framed_and_sends_its_policy_as_a_header(gateway, stack_env):
    page = requests.get(f"{gateway}/", timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    # Its admin approve buttons, framed by another site, could be clicked unseen.
    assert page.headers.get("X-Frame-Options") == "DENY"
    policy = _policy(page.headers["Content-Security-Policy"])
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    # The page talks to the API (its own origin), Supabase Auth and the S3 bucket it
    # uploads to, and nowhere else: no scheme-wide source, no wildcard.
    connect = policy["connect-src"]
    assert connect[0] == "'self'" and stack_env["SUPABASE_URL"] in connect, connect
    assert not [s for s in connect if s.endswith(":") or "*" in s], connect
    # One policy, the header's: no weaker one left in the page.
    assert "Content-Security-Policy" not in page.text

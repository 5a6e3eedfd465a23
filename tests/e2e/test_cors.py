"""CORS at the gateway, as a browser sees it (the real browser's view is in
test_dashboard_browser.py): preflights answered before any token check, CORS headers only
for the origins of CORS_ALLOWED_ORIGINS, and the S3 bucket's CORS from the same list."""
from __future__ import annotations

import boto3
import pytest

from tests.helpers import api

pytestmark = pytest.mark.stack

STRANGER = "https://elsewhere.example.com"
CORS_HEADERS = ("Access-Control-Allow-Origin", "Access-Control-Allow-Methods",
                "Access-Control-Allow-Headers", "Access-Control-Expose-Headers",
                "Access-Control-Max-Age")


def _allowed(stack_env) -> list[str]:
    return stack_env["CORS_ALLOWED_ORIGINS"].split(",")


def _preflight(gateway: str, path: str, origin: str, method: str = "POST"):
    return api(gateway, "OPTIONS", path, headers={
        "Origin": origin, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key"})


def test_the_dev_default_allows_the_dashboard_itself_and_the_usual_dev_servers(stack_env,
                                                                                test_layout):
    allowed = _allowed(stack_env)
    assert stack_env["GATEWAY_URL"] in allowed
    for part in ("vite-dev", "react-dev"):
        assert f"http://localhost:{test_layout.port(part)}" in allowed


@pytest.mark.parametrize("path", ["/api/bookings", "/api/agents/me", "/api/operators/me",
                                  "/api/agents/login"])
def test_a_preflight_is_answered_without_a_token_for_an_allowed_origin(gateway, stack_env,
                                                                        path):
    origin = _allowed(stack_env)[-1]
    response = _preflight(gateway, path, origin)
    assert response.status_code == 204, response.text
    headers = response.headers
    assert headers["Access-Control-Allow-Origin"] == origin
    assert "POST" in headers["Access-Control-Allow-Methods"]
    allowed = {h.strip().lower() for h in headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key", "x-request-id"} <= allowed
    assert int(headers["Access-Control-Max-Age"]) > 0
    assert "Origin" in headers["Vary"]


def test_a_preflight_from_another_origin_gets_no_cors_headers(gateway):
    response = _preflight(gateway, "/api/bookings", STRANGER)
    assert response.status_code == 204
    assert not set(CORS_HEADERS) & set(response.headers)


def test_answers_name_an_allowed_origin_and_expose_the_headers_a_page_reads(
        gateway, stack_env, agent_token):
    origin = _allowed(stack_env)[0]
    for token, status in ((agent_token, 200), (None, 401)):   # a service's answer, nginx's
        response = api(gateway, "GET", "/api/packages", token, headers={"Origin": origin})
        assert response.status_code == status, response.text
        assert response.headers["Access-Control-Allow-Origin"] == origin
        exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
        assert {"X-Request-ID", "Location", "Retry-After"} <= exposed
        assert "Origin" in response.headers["Vary"]
        # Credentials travel in the Authorization header, never in cookies.
        assert "Access-Control-Allow-Credentials" not in response.headers


def test_answers_to_another_origin_carry_no_cors_headers(gateway, agent_token):
    for token in (agent_token, None):
        response = api(gateway, "GET", "/api/packages", token, headers={"Origin": STRANGER})
        assert not set(CORS_HEADERS) & set(response.headers)
        assert "Origin" in response.headers["Vary"]


def test_the_buckets_cors_allows_the_same_origins(stack_env):
    s3 = boto3.client("s3", endpoint_url=stack_env["AWS_ENDPOINT_URL"],
                      region_name=stack_env["AWS_REGION"], aws_access_key_id="test",
                      aws_secret_access_key="test")
    [rule] = s3.get_bucket_cors(Bucket=stack_env["AWS_S3_BUCKET"])["CORSRules"]
    assert sorted(rule["AllowedOrigins"]) == sorted(_allowed(stack_env))
    assert "POST" in rule["AllowedMethods"]

"""Through nginx with real tokens: routing by token issuer, and refusals that never
reach a service."""
from __future__ import annotations

import json
import os
import signal
import socket
import time
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from devstack.api import main_pid
from tests.e2e.tokens import cognito_token, session_of, supabase_secret_token, supabase_token
from tests.helpers import access_log, api, forge, jwt_parts, logged_request_ids
from travel_platform.settings import BaseServiceSettings

pytestmark = pytest.mark.stack


def call(gateway: str, path: str, token: str | None = None, method: str = "GET", **kwargs):
    return api(gateway, method, path, token, **kwargs)


@pytest.mark.parametrize("path", ["/api/agents/me", "/api/packages", "/api/bookings"])
def test_agent_token_is_let_through_where_agents_belong(gateway, agent_token, path):
    response = call(gateway, path, agent_token)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("path", ["/api/operators/me", "/api/packages", "/api/bookings"])
def test_operator_token_is_let_through_where_operators_belong(gateway, operator_token, path):
    response = call(gateway, path, operator_token)
    assert response.status_code == 200, response.text


def test_agent_me_shows_the_verified_cognito_identity(gateway, agent_token, stack_env):
    body = call(gateway, "/api/agents/me", agent_token).json()
    assert body["identity"]["source"] == "cognito"
    assert body["profile"]["email"] == stack_env["DEMO_AGENT_EMAIL"]
    assert body["profile"]["status"] == "active"


def test_operator_me_shows_the_verified_supabase_identity(gateway, operator_token, stack_env):
    body = call(gateway, "/api/operators/me", operator_token).json()
    assert body["identity"] == {**body["identity"], "source": "supabase",
                                "email": stack_env["DEMO_OPERATOR_EMAIL"], "role": "authenticated"}
    assert body["profile"]["company_name"] == "Demo Tours"


def test_both_sides_see_the_published_catalogue(gateway, agent_token, operator_token):
    for token in (agent_token, operator_token):
        titles = [p["title"] for p in call(gateway, "/api/packages", token).json()["data"]]
        assert "Lisbon, Porto and Seville" in titles


@pytest.mark.parametrize("path, token_name", [("/api/operators/me", "agent_token"),
                                              ("/api/agents/me", "operator_token")])
def test_wrong_issuer_is_403_and_never_reaches_the_service(
        gateway, test_layout, request, path, token_name):
    response = call(gateway, path, request.getfixturevalue(token_name))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "wrong_token_issuer"
    service = "operator-service" if "operators" in path else "agent-service"
    rid = response.headers["X-Request-ID"]
    assert rid in logged_request_ids(test_layout.logs, "gateway")
    assert rid not in logged_request_ids(test_layout.logs, service)


def _bad_tokens(stack_env, test_layout, agent_tokens, operator_token) -> dict[str, tuple[str, str]]:
    """Kind: (token, the code it must be refused with). Each token breaks the one rule its
    kind names; the signed ones use the issuers' real keys (tests/e2e/tokens.py)."""
    header, payload, signature = jwt_parts(operator_token)
    tampered = forge(header, {**payload, "sub": str(uuid.uuid4())}, signature)
    now = int(time.time())
    expired = supabase_token(stack_env, test_layout, iat=now - 7200, exp=now - 3600)
    stranger = ec.generate_private_key(ec.SECP256R1())
    unknown_kid = jwt.encode({**payload, "exp": now + 600}, stranger, algorithm="ES256",
                             headers={"kid": "not-a-published-key"})
    # Cognito's ID token, with the app client named as an access token names it: only its
    # token_use is wrong.
    id_claims = jwt_parts(agent_tokens["IdToken"])[1]
    id_token = cognito_token(agent_tokens["AccessToken"], **{
        **id_claims, "client_id": stack_env["AWS_COGNITO_CLIENT_ID"], "token_use": "id"})
    # The API keys' roles in user tokens signed with the project's secret: only the role is
    # wrong. (The keys as issued name issuer "supabase": `api_key_as_issued`.)
    return {
        "garbage": ("not-a-jwt", "token_malformed"),
        "tampered": (tampered, "token_invalid_signature"),
        "expired": (expired, "token_expired"),
        "alg_none": (forge({"alg": "none", "typ": "JWT"}, payload), "token_algorithm_not_allowed"),
        "unknown_kid": (unknown_kid, "token_unknown_key"),
        "cognito_id_token": (id_token, "token_not_access_token"),
        "anon_role": (supabase_secret_token(stack_env, role="anon"), "token_not_a_user"),
        "service_role_role": (supabase_secret_token(stack_env, role="service_role"),
                              "token_not_a_user"),
        "api_key_as_issued": (stack_env["SUPABASE_ANON_KEY"], "token_unknown_issuer"),
        "unknown_issuer": (jwt.encode({"iss": "https://evil.example", "sub": "x", "exp": now + 60},
                                      "an-unrelated-secret-of-32-bytes!", algorithm="HS256"),
                           "token_unknown_issuer"),
    }


@pytest.mark.parametrize("kind", ["garbage", "tampered", "expired", "alg_none", "unknown_kid",
                                  "cognito_id_token", "anon_role", "service_role_role",
                                  "api_key_as_issued", "unknown_issuer"])
def test_bad_tokens_are_401_and_never_reach_a_service(
        gateway, stack_env, test_layout, agent_tokens, operator_token, kind):
    token, code = _bad_tokens(stack_env, test_layout, agent_tokens, operator_token)[kind]
    response = call(gateway, "/api/packages", token)
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    rid = response.headers["X-Request-ID"]
    assert error["request_id"] == rid
    assert rid in logged_request_ids(test_layout.logs, "gateway")
    assert rid not in logged_request_ids(test_layout.logs, "operator-service")


def test_an_expired_token_is_refused_at_the_gateway_within_the_revocation_bound(
        gateway, stack_env, test_layout, operator_token):
    # A token of the demo operator's live session that expires in 2 s. Its issuer judges
    # expiry by its own clock, without our 60 s skew allowance, and every part asks it again
    # at most AUTH_LIVENESS_SECONDS after its last answer; gateway-auth keeps no verdict past
    # the token's expiry nor past that answer. So from expiry + that bound on, every answer
    # is a refusal made at the gateway, whichever of its workers answers.
    now = int(time.time())
    token = supabase_token(stack_env, test_layout, iat=now, exp=now + 2,
                           **session_of(operator_token))
    for _ in range(12):
        assert call(gateway, "/api/packages", token).status_code == 200
    bound = BaseServiceSettings.model_fields["auth_liveness_seconds"].default
    time.sleep(max(0.0, now + 2 + bound + 0.5 - time.time()))
    for _ in range(6):
        response = call(gateway, "/api/packages", token)
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "token_expired"
        assert response.headers["X-Request-ID"] not in logged_request_ids(
            test_layout.logs, "operator-service", settle=0)


def test_missing_token_is_401_with_a_bearer_challenge(gateway):
    response = call(gateway, "/api/bookings")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="travel-platform"'
    assert response.json()["error"]["code"] == "token_missing"


def test_public_route_needs_no_token(gateway, stack_env):
    response = call(gateway, "/api/agents/login", method="POST",
                    json={"email": stack_env["DEMO_AGENT_EMAIL"],
                          "password": stack_env["DEMO_AGENT_PASSWORD"]})
    assert response.status_code == 200, response.text
    assert call(gateway, "/api/agents/me", response.json()["access_token"]).status_code == 200


def test_login_gives_one_answer_for_wrong_password_and_unknown_user(gateway, stack_env):
    answers = [call(gateway, "/api/agents/login", method="POST", json={"email": email,
                                                                       "password": "Wrong-pass-1"})
               for email in (stack_env["DEMO_AGENT_EMAIL"], "nobody@example.com")]
    assert [a.status_code for a in answers] == [401, 401]
    assert answers[0].json()["error"]["message"] == answers[1].json()["error"]["message"]


def test_forged_identity_headers_are_replaced_by_the_verified_ones(
        gateway, test_layout, operator_token, operator_session):
    forged = {"X-Auth-Subject": "someone-else", "X-Auth-Source": "cognito"}
    response = call(gateway, "/api/packages", operator_token, headers=forged)
    assert response.status_code == 200
    rid = response.headers["X-Request-ID"]
    time.sleep(0.3)
    [line] = [e for e in access_log(test_layout.logs, "operator-service") if e["request_id"] == rid]
    assert line["gateway_subject"] == operator_session.user.id
    assert line["gateway_source"] == "supabase"


def test_forged_identity_headers_are_dropped_on_public_routes(gateway, test_layout):
    response = call(gateway, "/api/agents/login", method="POST",
                    headers={"X-Auth-Subject": "admin", "X-Auth-Source": "cognito"},
                    json={"email": "nobody@example.com", "password": "x"})
    rid = response.headers["X-Request-ID"]
    time.sleep(0.3)
    [line] = [e for e in access_log(test_layout.logs, "agent-service") if e["request_id"] == rid]
    assert line["gateway_subject"] == "-" and line["gateway_source"] == "-"


def test_request_id_reaches_the_service_and_comes_back(gateway, test_layout, agent_token):
    response = call(gateway, "/api/agents/me", agent_token,
                    headers={"X-Request-ID": "client-id-123"})
    rid = response.headers["X-Request-ID"]
    assert rid and rid != "client-id-123"  # the gateway makes its own
    assert rid in logged_request_ids(test_layout.logs, "agent-service")


@pytest.mark.parametrize("path", ["/nope", "/api", "/api/agentsX"])
def test_unknown_routes_are_json_404(gateway, path):
    response = call(gateway, path)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "not_found"


def test_service_404_and_405_are_json(gateway, agent_token):
    missing = call(gateway, "/api/agents/no-such-thing", agent_token)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong_method = call(gateway, "/api/agents/me", agent_token, method="DELETE")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


def test_oversized_body_is_json_413(gateway):
    response = call(gateway, "/api/agents/login", method="POST", data=b"x" * (2 * 1024 * 1024),
                    headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_invalid_login_body_lists_the_bad_fields(gateway):
    response = call(gateway, "/api/agents/login", method="POST", json={"email": "x", "extra": 1})
    assert response.status_code == 400
    fields = {d["field"] for d in response.json()["error"]["details"]}
    assert {"email", "password", "extra"} <= fields


@pytest.mark.devstack  # a service's own port, or its process
def test_every_service_is_ready(stack_env, test_layout):
    for part in ("agent-service", "operator-service", "booking-service", "gateway-auth"):
        response = requests.get(f"{test_layout.url(part)}/ready", timeout=5)
        assert response.status_code == 200, (part, response.text)
        assert set(response.json()["checks"].values()) <= {"ok"}


def test_gateway_serves_the_docs_of_all_three_services(gateway):
    page = requests.get(f"{gateway}/docs/", timeout=10)
    assert page.status_code == 200 and "swagger-ui-bundle.js" in page.text
    bundle = requests.get(f"{gateway}/docs/vendor/swagger-ui-bundle.js", timeout=10)
    assert bundle.status_code == 200
    families = {"agent-service": "/api/agents", "operator-service": "/api/packages",
                "booking-service": "/api/bookings"}
    for service, prefix in families.items():
        doc = requests.get(f"{gateway}/docs/{service}.json", timeout=10).json()
        assert doc["openapi"].startswith("3.") and doc["info"]["title"] == service
        assert any(path.startswith(prefix) for path in doc["paths"])
    # The page's list of documents (Swagger UI's configUrl) names each of them.
    config = requests.get(f"{gateway}/docs/swagger-config.json", timeout=10).json()
    assert {link["url"] for link in config["urls"]} == {f"{s}.json" for s in families}


def test_access_logs_stay_json_whatever_the_path(gateway, test_layout, agent_token):
    response = call(gateway, '/api/agents/me%01"},{"forged":"1', agent_token)
    rid = response.headers["X-Request-ID"]
    time.sleep(0.3)
    [line] = [e for e in access_log(test_layout.logs, "agent-service") if e["request_id"] == rid]
    assert line["path"] == '/api/agents/me\x01"},{"forged":"1' and "forged" not in line


def test_verdicts_are_reused_but_no_token_is_ever_written_to_disk(gateway, stack_env,
                                                                   test_layout, operator_token):
    token = supabase_token(stack_env, test_layout, **session_of(operator_token))
    ids = []
    for _ in range(4):
        response = call(gateway, "/api/packages", token)
        assert response.status_code == 200, response.text
        ids.append(response.headers["X-Request-ID"])
    time.sleep(0.3)  # the gateway's access log is buffered
    verdicts = [(e["gateway_cache"], e["auth_cache"])
                for e in access_log(test_layout.logs, "gateway") if e["request_id"] in ids]
    # Reused by nginx (gateway_cache HIT) or by one of gateway-auth's two workers, each with
    # its own cache (auth_cache HIT): at most two verdicts made.
    reused = [v for v in verdicts if "HIT" in v]
    assert len(verdicts) == 4 and len(reused) >= 2, verdicts
    secret = jwt_parts(token)[2].encode()  # the signature: what makes the token usable
    written = [path for folder in (test_layout.state / "gateway", test_layout.logs)
               for path in folder.rglob("*")
               if path.is_file() and secret in path.read_bytes()]
    assert written == []


def test_a_burst_with_one_token_asks_gateway_auth_about_once_a_second(gateway, stack_env,
                                                                        test_layout,
                                                                        operator_token):
    # However the token is spelled (the scheme's case, the spaces), it is one token: one
    # entry in nginx's verdict cache, one call into gateway-auth per second at most.
    token = supabase_token(stack_env, test_layout, **session_of(operator_token))
    spellings = [f"Bearer {token}", f"bearer {token}", f"BEARER  {token}"]
    ids, started = [], time.time()
    with requests.Session() as session:
        for i in range(60):
            response = session.get(f"{gateway}/api/packages", timeout=10,
                                   headers={"Authorization": spellings[i % 3]})
            assert response.status_code == 200, response.text
            ids.append(response.headers["X-Request-ID"])
    seconds = time.time() - started
    asked = set(ids) & logged_request_ids(test_layout.logs, "gateway-auth")
    # One per second the burst touched (the requests are sequential: no two ask at once),
    # and a few more at worst where an entry's second ended mid-request.
    assert 1 <= len(asked) <= seconds + 3, (len(asked), seconds)
    entries = [e for e in access_log(test_layout.logs, "gateway") if e["request_id"] in ids]
    assert sum(e["gateway_cache"] == "HIT" for e in entries) >= len(ids) - seconds - 3


def test_each_token_has_a_verdict_of_its_own_at_the_gateway(gateway, test_layout, agent_token,
                                                            operator_token, operator_session):
    # An agent's and an operator's token, alternating within the same second on a route
    # both may use: each request reaches the service as its own caller, never as the other.
    subjects = {agent_token: jwt_parts(agent_token)[1]["sub"],
                operator_token: operator_session.user.id}
    sent = {}
    for _ in range(5):
        for token, subject in subjects.items():
            response = call(gateway, "/api/packages", token)
            assert response.status_code == 200, response.text
            sent[response.headers["X-Request-ID"]] = subject
    time.sleep(0.3)
    seen = {e["request_id"]: e["gateway_subject"]
            for e in access_log(test_layout.logs, "operator-service") if e["request_id"] in sent}
    assert seen == sent


def test_a_refusal_is_never_reused_by_the_gateway(gateway, test_layout):
    # The same bad token, again and again: each time gateway-auth is asked, so a token that
    # becomes valid (a clock skew fixed, a key rotated in) is not refused for longer.
    ids = []
    for _ in range(5):
        response = call(gateway, "/api/packages", "not-a-token")
        assert response.status_code == 401, response.text
        ids.append(response.headers["X-Request-ID"])
    assert set(ids) <= logged_request_ids(test_layout.logs, "gateway-auth")


def _raw(gateway: str, request: bytes) -> tuple[str, dict]:
    """Send bytes no HTTP client would; the status line and the JSON body of the answer."""
    host, port = gateway.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), json.loads(body)


@pytest.mark.parametrize("request_bytes, status, code", [
    (b"GET /api/x% HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 400, "bad_request"),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 414,
     "uri_too_long"),
    (b"GET /health HTTP/1.1\r\nHost: a\r\nConnection: close\r\nX-Big: " + b"a" * 20000
     + b"\r\n\r\n", 400, "header_too_large"),
    # Over gunicorn's request line (4094) and under nginx's old limit (8 KiB): was
    # gunicorn's HTML 414, passed through.
    (b"GET /api/agents/me?q=" + b"a" * 5000 + b" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
     414, "uri_too_long"),
    (b"POST /api/agents/login HTTP/1.1\r\nHost: a\r\nConnection: close\r\nX-Big: " + b"a" * 6000
     + b"\r\nContent-Length: 2\r\n\r\n{}", 400, "header_too_large"),
    (b"GET /health HTTP/2.0\r\nHost: a\r\nConnection: close\r\n\r\n", 505,
     "http_version_not_supported"),
    (b"POST /api/agents/login HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n"
     b"Connection: close\r\n\r\n", 501, "not_implemented"),
    # Over a hundred header fields: gunicorn's own 431 page (or, on a public route, a 503
    # when gateway-auth's gunicorn refused the token check's copy of them).
    (b"POST /api/agents/login HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
     + b"".join(b"X-H%d: 1\r\n" % i for i in range(100)) + b"Content-Length: 2\r\n\r\n{}",
     431, "too_many_headers"),
])
def test_requests_nginx_cannot_read_get_the_one_json_error_shape(
        gateway, request_bytes, status, code):
    status_line, body = _raw(gateway, request_bytes)
    assert status_line.split()[1] == str(status), status_line
    assert body["error"]["status"] == status and body["error"]["code"] == code
    assert body["error"]["request_id"]


@pytest.mark.devstack  # a service's own port, or its process
def test_a_stalled_service_is_a_json_504_after_its_familys_read_timeout(
        gateway, test_layout, agent_token):
    """A service that accepts connections but never answers (SIGSTOP) held the client for
    nginx's 30 s; now the route family's own timeout (the table: 5 s for the catalogue),
    then a 504 in the one error shape. (The client gives up at 20 s: before, it would.)"""
    pid = main_pid(test_layout, "operator-service")
    assert pid, "operator-service is not running"
    os.killpg(pid, signal.SIGSTOP)
    try:
        response = call(gateway, "/api/packages", agent_token)
    finally:
        os.killpg(pid, signal.SIGCONT)
    assert response.status_code == 504, response.text
    error = response.json()["error"]
    assert error["code"] == "gateway_timeout" and error["request_id"]
    assert int(response.headers["Retry-After"]) >= 1
    deadline = time.monotonic() + 30
    while call(gateway, "/api/packages", agent_token).status_code != 200:
        assert time.monotonic() < deadline, "operator-service did not come back"
        time.sleep(0.5)

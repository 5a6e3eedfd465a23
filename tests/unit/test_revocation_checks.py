"""The revocation bound: an issuer's answer about a token is reused for a bounded time, the
last one served a bounded time more while the issuer cannot answer, never longer; and
gateway-auth reuses a verdict no longer than the answer it was made from."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from gateway_auth.verdicts import MAX_CACHE_SECONDS, cache_seconds

from travel_platform.auth import Identity
from travel_platform.auth.revocation import (
    DELETED,
    DISABLED,
    SIGNED_OUT,
    CognitoCheck,
    IssuerUnreachable,
    RevocationCheck,
    SupabaseAccountCheck,
    _supabase_user_refusal,
    account_key,
    token_key,
)
from travel_platform.errors import ServiceUnavailable, Unauthorized
from travel_platform.settings import BaseServiceSettings, SettingsError, load_settings

LATER = time.time() + 3600      # an `exp` an hour away
SETTINGS = {"AWS_REGION": "eu-west-1", "AWS_COGNITO_USER_POOL_ID": "eu-west-1_abc",
            "AWS_COGNITO_CLIENT_ID": "app", "AWS_COGNITO_OPERATOR_POOL_ID": "eu-west-1_ops",
            "AWS_COGNITO_OPERATOR_CLIENT_ID": "console",
            "SUPABASE_URL": "https://proj.supabase.co", "SUPABASE_ANON_KEY": "anon-key",
            "SUPABASE_SERVICE_ROLE_KEY": "service-key"}


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Issuer:
    """An issuer whose answer the test sets: None (live), a Refusal, or down."""

    name = "issuer"

    def __init__(self):
        self.answer = None
        self.down = False
        self.asked = 0

    def __call__(self, token: str):
        self.asked += 1
        if self.down:
            raise IssuerUnreachable("down")
        return self.answer


def revocation_check(issuer: Issuer, clock: Clock, *, fresh: float = 10,
                     stale: float = 20) -> RevocationCheck:
    return RevocationCheck({"cognito": issuer}, fresh_seconds=fresh, stale_seconds=stale,
                           breaker_failures=1000, clock=clock)


def check(live: RevocationCheck, token: str = "a.b.c", expires_at: float = LATER) -> float:
    return live.check(token, "cognito", expires_at=expires_at)


def refused_code(live: RevocationCheck, token: str = "a.b.c", expires_at: float = LATER) -> str:
    with pytest.raises(Unauthorized) as refused:
        check(live, token, expires_at)
    assert refused.value.code, "refused without a code"
    return refused.value.code


def test_an_answer_is_reused_while_fresh_then_the_issuer_is_asked_again():
    issuer, clock = Issuer(), Clock()
    live = revocation_check(issuer, clock)
    assert check(live) == 10
    clock.now += 9.5
    assert check(live) == pytest.approx(0.5)
    assert issuer.asked == 1
    issuer.answer = SIGNED_OUT          # signed out meanwhile
    clock.now += 0.5
    assert refused_code(live) == "token_revoked"
    assert issuer.asked == 2


def test_each_refusal_has_its_own_code_and_is_remembered_too():
    issuer, clock = Issuer(), Clock()
    live = revocation_check(issuer, clock)
    for token, refusal in (("t1", SIGNED_OUT), ("t2", DISABLED), ("t3", DELETED)):
        issuer.answer = refusal
        assert refused_code(live, token) == refusal.code
    issuer.answer = None
    assert refused_code(live, "t2") == "account_disabled"
    assert issuer.asked == 3


def test_a_refusal_after_the_tokens_expiry_says_expired():
    issuer, clock = Issuer(), Clock()
    issuer.answer = SIGNED_OUT
    refused = refused_code(revocation_check(issuer, clock), expires_at=time.time() - 1)
    assert refused == "token_expired"


def test_while_the_issuer_is_down_the_last_answer_serves_until_the_bound_then_503():
    issuer, clock = Issuer(), Clock()
    live = revocation_check(issuer, clock, fresh=10, stale=20)
    check(live)
    issuer.down = True
    clock.now += 10
    assert check(live) == 0          # stale: served, but gateway-auth must not keep it
    clock.now += 19.9
    assert check(live) == 0
    clock.now += 0.1                 # 30 s after the issuer last answered: the bound
    with pytest.raises(ServiceUnavailable) as unavailable:
        check(live)
    assert unavailable.value.code == "auth_unavailable"


def test_while_the_issuer_is_down_a_token_is_retried_at_most_once_a_second():
    issuer, clock = Issuer(), Clock()
    live = revocation_check(issuer, clock)
    check(live)
    issuer.down = True
    clock.now += 10
    for _ in range(5):
        check(live)
    assert issuer.asked == 2
    clock.now += 1
    check(live)
    assert issuer.asked == 3
    issuer.down = False
    clock.now += 1
    assert check(live) == 10         # back: a fresh answer again


def test_a_token_never_seen_while_the_issuer_is_down_is_refused_with_503():
    issuer, clock = Issuer(), Clock()
    issuer.down = True
    with pytest.raises(ServiceUnavailable):
        check(revocation_check(issuer, clock))


def test_a_refusal_stays_a_refusal_while_the_issuer_is_down():
    issuer, clock = Issuer(), Clock()
    live = revocation_check(issuer, clock)
    issuer.answer = DELETED
    refused_code(live)
    issuer.down = True
    clock.now += 15
    assert refused_code(live) == "account_deleted"


def test_tokens_are_kept_apart_and_by_digest_only():
    issuer, clock = Issuer(), Clock()
    live = revocation_check(issuer, clock)
    check(live, "one")
    check(live, "two")
    assert issuer.asked == 2
    assert token_key("one") != token_key("two") and b"one" not in token_key("one")


def test_the_bound_is_at_most_30_seconds_in_settings_and_in_code():
    with pytest.raises(ValueError):
        RevocationCheck({}, fresh_seconds=15, stale_seconds=15.5)
    with pytest.raises(SettingsError) as error:
        load_settings(BaseServiceSettings, {**SETTINGS, "AUTH_LIVENESS_SECONDS": "20",
                                            "AUTH_LIVENESS_STALE_SECONDS": "15"})
    assert "at most 30" in str(error.value)
    settings = load_settings(BaseServiceSettings, SETTINGS)
    assert settings.auth_liveness_seconds + settings.auth_liveness_stale_seconds <= 30


def _identity(expires_at: float) -> Identity:
    return Identity(source="cognito", subject="s", email=None, groups=(), role=None,
                    expires_at=int(expires_at), claims={})


def test_gateway_verdicts_live_no_longer_than_the_answer_the_token_and_30_s():
    now = time.time()
    assert cache_seconds(_identity(now + 3600), fresh_for=4.5, now=now) == 4.5
    assert cache_seconds(_identity(now + 3), fresh_for=10, now=now) == pytest.approx(3, abs=1)
    assert cache_seconds(_identity(now + 3600), fresh_for=60, now=now) == MAX_CACHE_SECONDS
    assert cache_seconds(_identity(now + 3600), fresh_for=0, now=now) == 0
    assert cache_seconds(_identity(now - 5), fresh_for=10, now=now) == 0


class CognitoClient:
    """boto3's cognito-idp client as GetUser answers: nothing, or an error code."""

    def __init__(self, error: Exception | None):
        self.error = error

    def get_user(self, AccessToken: str):   # noqa: N803 (boto3's parameter name)
        if self.error:
            raise self.error
        return {"Username": "u", "UserAttributes": []}


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}}, "GetUser")


@pytest.mark.parametrize("error, refusal", [
    (None, None),
    (_client_error("NotAuthorizedException"), SIGNED_OUT),
    (_client_error("UserNotFoundException"), DELETED),
])
def test_cognito_getuser_answers_become_refusals(error, refusal):
    assert CognitoCheck(CognitoClient(error))("token") == refusal


@pytest.mark.parametrize("error", [_client_error("TooManyRequestsException"),
                                   _client_error("InternalErrorException"),
                                   EndpointConnectionError(endpoint_url="https://x")])
def test_cognito_throttling_or_outage_is_unreachable_not_a_refusal(error):
    with pytest.raises(IssuerUnreachable):
        CognitoCheck(CognitoClient(error))("token")


def test_a_supabase_user_banned_until_later_or_deleted_is_refused():
    soon = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    past = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert _supabase_user_refusal({"id": "u", "banned_until": soon}) == DISABLED
    assert _supabase_user_refusal({"id": "u", "banned_until": past}) is None
    assert _supabase_user_refusal({"id": "u", "deleted_at": past}) == DELETED
    assert _supabase_user_refusal({"id": "u"}) is None


@pytest.fixture
def admin_api():
    """A one-route stand-in of Supabase Auth's admin API: answers[id] = (status, body)."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    answers: dict[str, tuple[int, dict]] = {}
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            seen.append({"path": self.path, "apikey": self.headers.get("apikey"),
                         "authorization": self.headers.get("Authorization")})
            status, body = answers.get(self.path.rsplit("/", 1)[-1], (500, {}))
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", answers, seen
    server.shutdown()


def test_the_supabase_account_behind_a_pool_token_is_asked_with_the_service_role_key(admin_api):
    url, answers, seen = admin_api
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    answers.update({"fine": (200, {"id": "fine"}), "banned": (200, {"banned_until": soon}),
                    "gone": (404, {"error_code": "user_not_found"}), "down": (503, {})})
    check = SupabaseAccountCheck(url=url, service_role_key="service", timeout=(1.0, 1.0))
    assert check(account_key("fine")) is None
    assert check(account_key("banned")) == DISABLED
    assert check(account_key("gone")) == DELETED
    with pytest.raises(IssuerUnreachable):
        check(account_key("down"))
    assert seen[0] == {"path": "/auth/v1/admin/users/fine", "apikey": "service",
                       "authorization": "Bearer service"}

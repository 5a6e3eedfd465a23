"""travel_platform.auth: Cognito and Supabase token verification against a real local JWKS
server."""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from travel_platform.auth import (
    CognitoVerifier,
    Identity,
    JwksCache,
    SupabaseVerifier,
    TokenVerifier,
    bearer_token,
)
from travel_platform.errors import ServiceUnavailable, Unauthorized, status_and_code

COGNITO_ISS = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc"
SUPABASE_ISS = "http://127.0.0.1:54321/auth/v1"
CLIENT_ID = "agent-app-client"
SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"


# --- keys, JWKS server, clock ---------------------------------------------------------------

@pytest.fixture(scope="session")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def rsa_key2():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def jwk(private_key, kid: str, alg: str | None = None) -> dict:
    """The public JWK of a key, as an issuer publishes it."""
    algorithm = RSAAlgorithm if isinstance(private_key, rsa.RSAPrivateKey) else ECAlgorithm
    data = algorithm.to_jwk(private_key.public_key(), as_dict=True)
    data.update(kid=kid, use="sig")
    if alg:
        data["alg"] = alg
    return data


class JwksServer:
    """A real HTTP server on 127.0.0.1 serving a mutable JWKS and counting the fetches."""

    def __init__(self):
        self.keys: list[dict] = []
        self.fetches = 0
        self.status = 200
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.fetches += 1
                body = json.dumps({"keys": server.keys}).encode()
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.01,),
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = JwksServer()
    yield s
    s.close()


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def cognito(server, rsa_key, clock):
    server.keys = [jwk(rsa_key, "rsa-1", "RS256")]
    return CognitoVerifier(issuer=COGNITO_ISS, jwks_url=server.url, client_ids=[CLIENT_ID],
                           jwks=JwksCache(server.url, clock=clock))


@pytest.fixture
def supabase(server, rsa_key, ec_key, clock):
    # Supabase publishes ES256 keys without `alg`: the verifier must infer it from kty/crv.
    server.keys = [jwk(ec_key, "ec-1"), jwk(rsa_key, "rsa-1", "RS256")]
    return SupabaseVerifier(issuer=SUPABASE_ISS, jwks_url=server.url, jwt_secret=SECRET,
                            jwks=JwksCache(server.url, clock=clock))


# --- token builders -------------------------------------------------------------------------

def cognito_claims(**overrides) -> dict:
    now = int(time.time())
    claims = {"sub": "agent-1", "iss": COGNITO_ISS, "client_id": CLIENT_ID, "token_use": "access",
              "scope": "aws.cognito.signin.user.admin", "cognito:groups": ["agents", "admins"],
              "username": "alice", "iat": now, "exp": now + 3600}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def supabase_claims(**overrides) -> dict:
    now = int(time.time())
    claims = {"sub": "op-1", "iss": SUPABASE_ISS, "aud": "authenticated", "role": "authenticated",
              "email": "op@example.com", "iat": now, "exp": now + 3600}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def sign(claims: dict, key, kid: str | None = "rsa-1", alg: str = "RS256") -> str:
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid} if kid else None)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_token(header: dict, claims: dict, secret: bytes | None = None) -> str:
    """Build a token by hand, for the forgeries PyJWT refuses to produce."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest() if secret else b""
    return f"{signing_input}.{b64(signature)}"


def public_pem(private_key) -> bytes:
    return private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)


def refused(verifier, token: str) -> str:
    """Verify a token that must be refused; return the 401 error code."""
    with pytest.raises(Unauthorized) as caught:
        verifier.verify(token)
    status, code = status_and_code(caught.value)
    assert status == 401
    return code


# --- Cognito --------------------------------------------------------------------------------

def test_cognito_access_token_accepted(cognito, rsa_key):
    claims = cognito_claims()
    identity = cognito.verify(sign(claims, rsa_key))
    assert identity == Identity(source="cognito", subject="agent-1", email=None,
                                groups=("agents", "admins"), role=None,
                                expires_at=claims["exp"], claims={})
    assert identity.claims["username"] == "alice"
    assert identity.is_agent and not identity.is_operator


def test_cognito_token_without_groups_has_no_groups(cognito, rsa_key):
    assert cognito.verify(sign(cognito_claims(**{"cognito:groups": None}), rsa_key)).groups == ()


def test_cognito_id_token_refused(cognito, rsa_key):
    token = sign(cognito_claims(token_use="id", aud=CLIENT_ID, email="a@example.com"), rsa_key)
    assert refused(cognito, token) == "token_not_access_token"


def test_cognito_wrong_client_id_refused(cognito, rsa_key):
    assert refused(cognito, sign(cognito_claims(client_id="other"), rsa_key)) == \
        "token_unknown_client"


@pytest.mark.parametrize("claim", ["exp", "iat", "sub"])
def test_cognito_missing_required_claim_refused(cognito, rsa_key, claim):
    assert refused(cognito, sign(cognito_claims(**{claim: None}), rsa_key)) == \
        "token_invalid_claims"


def test_cognito_wrong_issuer_refused(cognito, rsa_key):
    token = sign(cognito_claims(iss=COGNITO_ISS.replace("abc", "evil")), rsa_key)
    assert refused(cognito, token) == "token_unknown_issuer"


def test_expired_within_leeway_accepted(cognito, rsa_key):
    now = int(time.time())
    assert cognito.verify(sign(cognito_claims(iat=now - 3600, exp=now - 30), rsa_key))


def test_expired_beyond_leeway_refused(cognito, rsa_key):
    now = int(time.time())
    token = sign(cognito_claims(iat=now - 3600, exp=now - 90), rsa_key)
    assert refused(cognito, token) == "token_expired"


def test_nbf_within_leeway_accepted(cognito, rsa_key):
    assert cognito.verify(sign(cognito_claims(nbf=int(time.time()) + 30), rsa_key))


def test_nbf_beyond_leeway_refused(cognito, rsa_key):
    token = sign(cognito_claims(nbf=int(time.time()) + 90), rsa_key)
    assert refused(cognito, token) == "token_not_yet_valid"


def test_tampered_payload_refused(cognito, rsa_key):
    header, _, signature = sign(cognito_claims(), rsa_key).split(".")
    forged = b64(json.dumps(cognito_claims(sub="someone-else")).encode())
    assert refused(cognito, f"{header}.{forged}.{signature}") == "token_invalid_signature"


def test_signature_by_another_key_with_same_kid_refused(cognito, rsa_key2):
    assert refused(cognito, sign(cognito_claims(), rsa_key2, kid="rsa-1")) == \
        "token_invalid_signature"


def test_alg_none_refused(cognito):
    token = raw_token({"alg": "none", "typ": "JWT", "kid": "rsa-1"}, cognito_claims())
    assert refused(cognito, token) == "token_algorithm_not_allowed"


def test_cognito_refuses_hs256_signed_with_rsa_public_key(cognito, server, rsa_key):
    token = raw_token({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, cognito_claims(),
                      secret=public_pem(rsa_key))
    assert refused(cognito, token) == "token_algorithm_not_allowed"
    assert server.fetches == 0       # refused before any key lookup


def test_cognito_refuses_es256_even_with_a_published_ec_key(cognito, server, ec_key):
    server.keys.append(jwk(ec_key, "ec-1"))
    assert refused(cognito, sign(cognito_claims(), ec_key, kid="ec-1", alg="ES256")) == \
        "token_algorithm_not_allowed"


def test_token_alg_must_match_the_keys_alg(cognito, rsa_key):
    # The key says RS256; a token claiming RS384 with that kid is refused, not tried.
    assert refused(cognito, sign(cognito_claims(), rsa_key, alg="RS384")) == \
        "token_algorithm_not_allowed"


def test_token_without_kid_refused(cognito, rsa_key):
    assert refused(cognito, sign(cognito_claims(), rsa_key, kid=None)) == "token_unknown_key"


# --- JWKS cache: unknown kid, throttle, rotation, outage --------------------------------------

def test_unknown_kid_refetches_at_most_once_per_interval(cognito, server, clock, rsa_key,
                                                         rsa_key2):
    assert cognito.verify(sign(cognito_claims(), rsa_key))
    assert server.fetches == 1
    bogus = sign(cognito_claims(), rsa_key2, kid="bogus")

    clock.now += 11
    assert refused(cognito, bogus) == "token_unknown_key"
    assert server.fetches == 2                  # one refetch for the unknown kid

    for _ in range(20):
        clock.now += 0.4                        # still within 10 s of the refetch
        assert refused(cognito, bogus) == "token_unknown_key"
    assert server.fetches == 2

    clock.now += 10
    assert refused(cognito, bogus) == "token_unknown_key"
    assert server.fetches == 3                  # the interval has passed: one more


def test_known_kid_served_from_cache(cognito, server, clock, rsa_key):
    for _ in range(5):
        cognito.verify(sign(cognito_claims(), rsa_key))
        clock.now += 50
    assert server.fetches == 1
    clock.now += 100                            # past the 300 s lifespan
    cognito.verify(sign(cognito_claims(), rsa_key))
    assert server.fetches == 2


def test_key_rotation_picked_up_without_restart(cognito, server, clock, rsa_key, rsa_key2):
    assert cognito.verify(sign(cognito_claims(), rsa_key))
    server.keys = [jwk(rsa_key2, "rsa-2", "RS256"), jwk(rsa_key, "rsa-1", "RS256")]
    rotated = sign(cognito_claims(), rsa_key2, kid="rsa-2")
    clock.now += 10
    assert cognito.verify(rotated).subject == "agent-1"
    assert server.fetches == 2


def test_concurrent_cold_start_fetches_once(server, rsa_key):
    server.keys = [jwk(rsa_key, "rsa-1", "RS256")]
    verifier = CognitoVerifier(issuer=COGNITO_ISS, jwks_url=server.url, client_ids=[CLIENT_ID])
    token = sign(cognito_claims(), rsa_key)
    results, errors = [], []

    def work():
        try:
            results.append(verifier.verify(token))
        except Exception as error:              # noqa: BLE001 - collected for the assert
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(results) == 16
    assert server.fetches == 1


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/jwks.json"


def test_jwks_endpoint_down_is_503(rsa_key):
    url = closed_port_url()
    verifier = CognitoVerifier(issuer=COGNITO_ISS, jwks_url=url, client_ids=[CLIENT_ID])
    with pytest.raises(ServiceUnavailable) as caught:
        verifier.verify(sign(cognito_claims(), rsa_key))
    assert status_and_code(caught.value)[0] == 503


def test_jwks_endpoint_error_is_503_and_not_retried_within_interval(server, clock, rsa_key):
    server.keys, server.status = [jwk(rsa_key, "rsa-1", "RS256")], 500
    verifier = CognitoVerifier(issuer=COGNITO_ISS, jwks_url=server.url, client_ids=[CLIENT_ID],
                               jwks=JwksCache(server.url, clock=clock))
    token = sign(cognito_claims(), rsa_key)
    for _ in range(3):
        with pytest.raises(ServiceUnavailable):
            verifier.verify(token)
    assert server.fetches == 1
    server.status = 200
    clock.now += 10
    assert verifier.verify(token).subject == "agent-1"
    assert server.fetches == 2


def test_known_keys_kept_when_refresh_fails(cognito, server, clock, rsa_key, rsa_key2):
    token = sign(cognito_claims(), rsa_key)
    cognito.verify(token)
    server.status = 500
    clock.now += 400                            # cache expired, refresh fails
    assert cognito.verify(token).subject == "agent-1"
    with pytest.raises(ServiceUnavailable):     # can't tell a rotated kid from a bogus one
        cognito.verify(sign(cognito_claims(), rsa_key2, kid="rsa-2"))


def test_jwks_cache_timeout_is_short(server, rsa_key):
    server.keys = [jwk(rsa_key, "rsa-1", "RS256")]
    cache = JwksCache(server.url)
    assert cache._client.timeout == 2.0
    assert cache.get_key("rsa-1").algorithm_name == "RS256"


# --- Supabase -------------------------------------------------------------------------------

def test_supabase_es256_accepted(supabase, ec_key):
    claims = supabase_claims()
    identity = supabase.verify(sign(claims, ec_key, kid="ec-1", alg="ES256"))
    assert (identity.source, identity.subject, identity.email, identity.role, identity.groups,
            identity.expires_at) == ("supabase", "op-1", "op@example.com", "authenticated", (),
                                     claims["exp"])
    assert identity.is_operator and not identity.is_agent


def test_supabase_rs256_accepted(supabase, rsa_key):
    assert supabase.verify(sign(supabase_claims(), rsa_key)).subject == "op-1"


def test_supabase_legacy_hs256_with_secret_accepted(supabase, server):
    assert supabase.verify(sign(supabase_claims(), SECRET, kid=None, alg="HS256")).role == \
        "authenticated"
    assert server.fetches == 0


def test_supabase_hs256_refused_without_secret(server):
    verifier = SupabaseVerifier(issuer=SUPABASE_ISS, jwks_url=server.url)
    assert refused(verifier, sign(supabase_claims(), SECRET, kid=None, alg="HS256")) == \
        "token_algorithm_not_allowed"


def test_supabase_hs256_with_wrong_secret_refused(supabase):
    token = sign(supabase_claims(), "another-secret-of-at-least-32-characters!!", kid=None,
                 alg="HS256")
    assert refused(supabase, token) == "token_invalid_signature"


def test_supabase_refuses_hs256_signed_with_rsa_public_key(supabase, server, rsa_key):
    token = raw_token({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, supabase_claims(),
                      secret=public_pem(rsa_key))
    assert refused(supabase, token) == "token_invalid_signature"
    no_secret = SupabaseVerifier(issuer=SUPABASE_ISS, jwks_url=server.url)
    assert refused(no_secret, token) == "token_algorithm_not_allowed"


def test_supabase_token_alg_must_match_the_keys_alg(supabase):
    # `ec-1` is an ES256 key: a token naming it with RS256 is refused before any crypto.
    token = raw_token({"alg": "RS256", "typ": "JWT", "kid": "ec-1"}, supabase_claims())
    assert refused(supabase, token) == "token_algorithm_not_allowed"


def api_key_claims(role: str) -> dict:
    """The shape of a Supabase anon / service_role API key."""
    now = int(time.time())
    return {"iss": "supabase", "ref": "localproject", "role": role, "iat": now, "exp": now + 3600}


@pytest.mark.parametrize("role", ["anon", "service_role"])
def test_supabase_api_keys_as_issued_are_refused_by_their_issuer(supabase, cognito, role):
    token = sign(api_key_claims(role), SECRET, kid=None, alg="HS256")
    assert refused(TokenVerifier(cognito, supabase), token) == "token_unknown_issuer"
    assert refused(supabase, token) == "token_invalid_claims"     # and they name no subject


@pytest.mark.parametrize("role", ["anon", "service_role"])
def test_supabase_api_key_roles_are_refused_by_the_role_rule(supabase, role):
    # The API key's role in an otherwise valid user token (project issuer, audience, subject,
    # signed with the project's secret): only the role rule can refuse it.
    claims = {**api_key_claims(role), "iss": SUPABASE_ISS, "aud": "authenticated", "sub": "op-1"}
    assert supabase.verify(sign({**claims, "role": "authenticated"}, SECRET, kid=None,
                                alg="HS256")).subject == "op-1"
    assert refused(supabase, sign(claims, SECRET, kid=None, alg="HS256")) == "token_not_a_user"


@pytest.mark.parametrize("role", ["anon", "service_role", "admin", None])
def test_supabase_role_other_than_authenticated_refused(supabase, ec_key, role):
    token = sign(supabase_claims(role=role), ec_key, kid="ec-1", alg="ES256")
    assert refused(supabase, token) == "token_not_a_user"


def test_supabase_wrong_audience_refused(supabase, ec_key):
    token = sign(supabase_claims(aud="anon"), ec_key, kid="ec-1", alg="ES256")
    assert refused(supabase, token) == "token_wrong_audience"


def test_supabase_missing_audience_refused(supabase, ec_key):
    token = sign(supabase_claims(aud=None), ec_key, kid="ec-1", alg="ES256")
    assert refused(supabase, token) == "token_wrong_audience"


def test_supabase_expired_refused(supabase):
    now = int(time.time())
    token = sign(supabase_claims(iat=now - 7200, exp=now - 61 - 30), SECRET, kid=None,
                 alg="HS256")
    assert refused(supabase, token) == "token_expired"


# --- dispatch, malformed tokens, Identity ----------------------------------------------------

def test_dispatch_by_issuer(cognito, supabase, rsa_key, ec_key):
    verifier = TokenVerifier(cognito, supabase)
    assert verifier.verify(sign(cognito_claims(), rsa_key)).source == "cognito"
    assert verifier.verify(sign(supabase_claims(), ec_key, kid="ec-1", alg="ES256")).source == \
        "supabase"


def test_cognito_token_with_unknown_issuer_refused(cognito, supabase, rsa_key):
    token = sign(cognito_claims(iss="https://cognito-idp.us-east-1.amazonaws.com/other"), rsa_key)
    assert refused(TokenVerifier(cognito, supabase), token) == "token_unknown_issuer"


def test_supabase_verifier_does_not_accept_cognito_tokens(supabase, rsa_key):
    # Supabase trusts `rsa-1` here too; the issuer check keeps a Cognito token out of Supabase.
    assert refused(supabase, sign(cognito_claims(aud="authenticated", role="authenticated"),
                                  rsa_key)) == "token_unknown_issuer"


def test_token_without_issuer_refused(cognito, rsa_key):
    assert refused(TokenVerifier(cognito), sign(cognito_claims(iss=None), rsa_key)) == \
        "token_unknown_issuer"


@pytest.mark.parametrize("token", [
    "not-a-jwt",
    "a.b.c",
    "a.b",
    f"{b64(b'not json')}.{b64(b'{}')}.{b64(b'sig')}",
    f"{b64(json.dumps({'alg': 'RS256'}).encode())}.{b64(b'not json')}.{b64(b'sig')}",
    f"{b64(json.dumps({'alg': 'RS256'}).encode())}.{b64(b'[1, 2]')}.{b64(b'sig')}",
    f"{b64(b'[1]')}.{b64(b'{}')}.{b64(b'sig')}",
])
def test_malformed_token_refused(cognito, supabase, token):
    assert refused(TokenVerifier(cognito, supabase), token) == "token_malformed"


def test_malformed_token_refused_by_single_verifier(cognito):
    assert refused(cognito, "a.b.c") == "token_malformed"


def test_empty_token_is_missing(cognito):
    assert refused(TokenVerifier(cognito), "") == "token_missing"


def test_two_verifiers_for_one_issuer_is_a_config_error(cognito):
    with pytest.raises(ValueError):
        TokenVerifier(cognito, cognito)


def test_identity_is_frozen(cognito, rsa_key):
    identity = cognito.verify(sign(cognito_claims(), rsa_key))
    with pytest.raises(dataclasses.FrozenInstanceError):
        identity.subject = "someone-else"
    assert json.loads(json.dumps(identity.claims))["sub"] == "agent-1"
    assert "claims" not in repr(identity)


# --- bearer_token -----------------------------------------------------------------------------

@pytest.mark.parametrize("header", ["Bearer abc.def.ghi", "bearer abc.def.ghi",
                                    "BEARER  abc.def.ghi ", "  Bearer abc.def.ghi"])
def test_bearer_token_extracted(header):
    assert bearer_token(header) == "abc.def.ghi"


@pytest.mark.parametrize("header, code", [
    (None, "token_missing"), ("", "token_missing"), ("   ", "token_missing"),
    ("Bearer", "token_malformed"), ("Basic dXNlcjpwYXNz", "token_malformed"),
    ("Bearer a b", "token_malformed"), ("abc.def.ghi", "token_malformed"),
])
def test_bearer_token_refused(header, code):
    with pytest.raises(Unauthorized) as caught:
        bearer_token(header)
    assert status_and_code(caught.value) == (401, code)


# --- a verified token reused for a few seconds -----------------------------------------------

@pytest.fixture
def short_reuse(monkeypatch):
    """Verified tokens reused for 1 s instead of 30, so a test can outlive the reuse."""
    from travel_platform.auth import tokens
    monkeypatch.setattr(tokens, "VERIFIED_REUSE_SECONDS", 1)


def _withdraw_keys(server, clock, replacement) -> None:
    """The issuer stops publishing every key the tokens were signed with, and the JWKS cache's
    lifespan passes, so a token checked again now is refused."""
    server.keys = [jwk(replacement, "rsa-2", "RS256")]
    clock.now += 400


def test_a_verified_token_is_reused_for_its_seconds_then_checked_again(
        cognito, server, clock, rsa_key, rsa_key2, short_reuse):
    verifier = TokenVerifier(cognito)
    token = sign(cognito_claims(), rsa_key)
    assert verifier.verify(token).subject == "agent-1"
    _withdraw_keys(server, clock, rsa_key2)
    assert verifier.verify(token).subject == "agent-1"      # reused: not checked again
    assert server.fetches == 1
    time.sleep(1.1)
    assert refused(verifier, token) == "token_unknown_key"


def test_a_verified_token_is_never_reused_past_its_expiry(cognito, server, clock, rsa_key,
                                                          rsa_key2):
    verifier = TokenVerifier(cognito)
    token = sign(cognito_claims(exp=int(time.time()) + 1), rsa_key)
    assert verifier.verify(token)
    _withdraw_keys(server, clock, rsa_key2)
    time.sleep(1.1)      # within 30 s of the check, past the token's expiry: checked again
    assert refused(verifier, token) == "token_unknown_key"


def test_a_refused_token_is_checked_again_each_time(cognito, server, clock, rsa_key, rsa_key2):
    verifier = TokenVerifier(cognito)
    token = sign(cognito_claims(), rsa_key2, kid="rsa-2")
    assert refused(verifier, token) == "token_unknown_key"
    server.keys = [jwk(rsa_key, "rsa-1", "RS256"), jwk(rsa_key2, "rsa-2", "RS256")]
    clock.now += 11      # the JWKS cache may ask for unknown keys again
    assert verifier.verify(token).subject == "agent-1"


def test_a_token_reused_is_the_very_same_token(cognito, supabase, rsa_key, ec_key):
    verifier = TokenVerifier(cognito, supabase)
    token = sign(cognito_claims(), rsa_key)
    assert verifier.verify(token).source == "cognito"
    head, claims, _signature = token.split(".")
    forged_claims = b64(json.dumps(cognito_claims(sub="someone-else")).encode())
    assert refused(verifier, f"{head}.{forged_claims}.{_signature}") == \
        "token_invalid_signature"
    assert refused(verifier, token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB")) == \
        "token_invalid_signature"

"""Verification of access tokens into an Identity: travel agents' from the agents' Cognito
pool; tour operators' from Supabase Auth or, as their logins move (docs/operator-logins.md),
from the operators' own Cognito pool."""
from __future__ import annotations

import hashlib
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from jwt.types import Options

from travel_platform.auth.jwks import JwksCache
from travel_platform.auth.reuse import Reused
from travel_platform.errors import Unauthorized
from travel_platform.metrics import count_refused_token

# Who issued a token (its `source`)...
SOURCE_COGNITO = "cognito"                        # the agents' pool, travel-agents-pool
SOURCE_SUPABASE = "supabase"                      # Supabase Auth: operators, until they move
SOURCE_COGNITO_OPERATORS = "cognito-operators"    # the operators' pool, tour-operators-pool
# ...and what kind of user that makes the caller, which is what routes decide on.
AGENT = "agent"
OPERATOR = "operator"
KIND_OF_SOURCE = {SOURCE_COGNITO: AGENT, SOURCE_SUPABASE: OPERATOR,
                  SOURCE_COGNITO_OPERATORS: OPERATOR}
# Administrators are agents' pool users in this Cognito group: they approve agents and operators.
ADMIN_GROUP = "admins"
REQUIRED_CLAIMS = ["exp", "iat", "sub"]
# A verified token is reused this long at most, never past its expiry (TokenVerifier).
VERIFIED_REUSE_SECONDS = 30
MAX_REUSED_TOKENS = 10_000


@dataclass(frozen=True)
class Identity:
    """Who a verified token says the caller is."""

    source: str                     # one of KIND_OF_SOURCE's keys
    # The id the caller's rows are owned by: the agent's Cognito sub, or the operator's id
    # (their Supabase user id, whichever pool they sign in with; see OperatorLogins).
    subject: str
    email: str | None
    groups: tuple[str, ...]
    role: str | None
    expires_at: int
    # A plain dict, not a read-only proxy, so callers can json.dumps it (request.jwt.claims).
    claims: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def kind(self) -> str:
        """AGENT or OPERATOR."""
        return KIND_OF_SOURCE[self.source]

    @property
    def is_agent(self) -> bool:
        """True for travel agents, who sign in through the agents' pool."""
        return self.kind == AGENT

    @property
    def is_admin(self) -> bool:
        """True for members of the agents' pool's group of administrators."""
        return self.is_agent and ADMIN_GROUP in self.groups

    @property
    def is_operator(self) -> bool:
        """True for tour operators, whichever of their two issuers signed the token."""
        return self.kind == OPERATOR


# Each claim rule refuses with its own code (token_not_access_token, token_unknown_client,
# token_wrong_audience, token_not_a_user), so a client, a log reader and a test can tell
# which rule refused a token; token_invalid_claims is left for missing or ill-typed claims.
def _fail(code: str, message: str) -> Unauthorized:
    return Unauthorized(message, code=code)


def bearer_token(authorization_header: str | None) -> str:
    """Extract the token from an `Authorization: Bearer <token>` header."""
    if not authorization_header or not authorization_header.strip():
        raise _fail("token_missing", "a bearer token is required")
    parts = authorization_header.split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        raise _fail("token_malformed", "the Authorization header must be 'Bearer <token>'")
    return parts[1]


def _unverified_header(token: str) -> dict[str, Any]:
    if not token:
        raise _fail("token_missing", "a bearer token is required")
    try:
        return jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise _fail("token_malformed", "the token is not a well-formed JWT") from None


def _decode(token: str, key: Any, algorithm: str, *, issuer: str, audience: str | None,
            leeway: float) -> dict[str, Any]:
    # The one algorithm passed here comes from our key or config, never from the token.
    options: Options = {"require": REQUIRED_CLAIMS, "verify_aud": audience is not None}
    try:
        return jwt.decode(token, key, algorithms=[algorithm], issuer=issuer, audience=audience,
                          leeway=leeway, options=options)
    except jwt.ExpiredSignatureError:
        raise _fail("token_expired", "the token has expired") from None
    except jwt.ImmatureSignatureError:
        raise _fail("token_not_yet_valid", "the token is not valid yet") from None
    except jwt.InvalidSignatureError:
        raise _fail("token_invalid_signature", "the token signature is invalid") from None
    except jwt.InvalidIssuerError:
        raise _fail("token_unknown_issuer", "the token was issued by an unknown issuer") from None
    except jwt.InvalidAlgorithmError:
        raise _fail("token_algorithm_not_allowed", "the token algorithm is not allowed") from None
    except jwt.InvalidAudienceError:
        raise _fail("token_wrong_audience", "the token is not meant for this API") from None
    except jwt.MissingRequiredClaimError as error:
        if error.claim == "aud":
            raise _fail("token_wrong_audience", "the token is not meant for this API") from None
        raise _fail("token_invalid_claims", f"the token claims are invalid: {error}") from None
    except jwt.DecodeError:
        raise _fail("token_malformed", "the token is not a well-formed JWT") from None
    except jwt.InvalidTokenError as error:   # missing claim, wrong aud, bad sub type...
        raise _fail("token_invalid_claims", f"the token claims are invalid: {error}") from None


class _JwksVerifier:
    """Shared steps: pick the key for the token, check signature, times and issuer."""

    source = ""
    key_algorithms: Collection[str] = ()     # what a JWKS key may sign with, for this issuer

    def __init__(self, *, issuer: str, jwks_url: str, leeway: float, jwks: JwksCache | None,
                 audience: str | None = None, jwt_secret: str | None = None):
        self.issuer = issuer
        self._jwks = jwks if jwks is not None else JwksCache(jwks_url)
        self._leeway = leeway
        self._audience = audience
        self._secret = jwt_secret

    def _verified_claims(self, token: str) -> dict[str, Any]:
        header = _unverified_header(token)
        alg = header.get("alg")
        if alg == "HS256" and self._secret:
            key, key_alg = self._secret, "HS256"
        elif alg in self.key_algorithms:
            kid = header.get("kid")
            if not kid:
                raise _fail("token_unknown_key", "the token names no signing key")
            jwk = self._jwks.get_key(kid)
            key, key_alg = jwk.key, jwk.algorithm_name
            if key_alg != alg:     # the key's own algorithm is the only one it may verify
                raise _fail("token_algorithm_not_allowed", "the token algorithm is not allowed")
        else:
            raise _fail("token_algorithm_not_allowed", "the token algorithm is not allowed")
        return _decode(token, key, key_alg, issuer=self.issuer, audience=self._audience,
                       leeway=self._leeway)


class CognitoVerifier(_JwksVerifier):
    """Cognito user pool access tokens, checked as aws-jwt-verify checks them."""

    key_algorithms = ("RS256",)

    def __init__(self, *, issuer: str, jwks_url: str, client_ids: Iterable[str],
                 source: str = SOURCE_COGNITO, leeway: float = 60,
                 jwks: JwksCache | None = None):
        # Access tokens carry no `aud`; the app client is in `client_id` instead.
        super().__init__(issuer=issuer, jwks_url=jwks_url, leeway=leeway, jwks=jwks)
        self.source = source
        self._client_ids = frozenset(client_ids)

    def verify(self, token: str) -> Identity:
        """Verify a Cognito access token and return who it identifies."""
        claims = self._verified_claims(token)
        if claims.get("token_use") != "access":
            raise _fail("token_not_access_token", "an access token is required")
        if claims.get("client_id") not in self._client_ids:
            raise _fail("token_unknown_client", "the token was issued to an unknown app client")
        groups = claims.get("cognito:groups", [])
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise _fail("token_invalid_claims", "the token groups are invalid")
        return _identity(self.source, claims, groups=tuple(groups), role=None)


class SupabaseVerifier(_JwksVerifier):
    """Supabase Auth user tokens: asymmetric keys from the JWKS, or the legacy HS256 secret."""

    source = SOURCE_SUPABASE
    key_algorithms = ("ES256", "RS256")

    def __init__(self, *, issuer: str, jwks_url: str, jwt_secret: str | None = None,
                 audience: str = "authenticated", leeway: float = 60,
                 jwks: JwksCache | None = None):
        super().__init__(issuer=issuer, jwks_url=jwks_url, leeway=leeway, jwks=jwks,
                         audience=audience, jwt_secret=jwt_secret)

    def verify(self, token: str) -> Identity:
        """Verify a Supabase user access token and return who it identifies."""
        claims = self._verified_claims(token)
        # The anon and service_role API keys are signed by the same secret: not users.
        if claims.get("role") != "authenticated":
            raise _fail("token_not_a_user", "a signed-in user's token is required")
        return _identity(self.source, claims, groups=(), role=claims["role"])


def _identity(source: str, claims: dict[str, Any], *, groups: tuple[str, ...],
              role: str | None) -> Identity:
    email = claims.get("email")
    return Identity(source=source, subject=claims["sub"],
                    email=email if isinstance(email, str) and email else None,
                    groups=groups, role=role, expires_at=int(claims["exp"]),
                    claims=claims)


class TokenVerifier:
    """Route each token to the verifier of its issuer; that verifier does all the checking.

    A token verified here is reused for up to VERIFIED_REUSE_SECONDS, never past its `exp`,
    under its SHA-256 (never the token itself): a signature check and PyJWT's two decodes
    are about 0.5 ms of Python, a third of operator-service's CPU per write
    (docs/benchmarks.md, 3c), and a client sends the same token for its whole hour. Only
    what a token's bytes decide is reused (signature, issuer, times, client, claims);
    refusals are not, and whether its session still stands is asked per request
    (revocation.py). A signing key withdrawn from the JWKS stops a token it signed within
    VERIFIED_REUSE_SECONDS, in each process."""

    def __init__(self, *verifiers: CognitoVerifier | SupabaseVerifier):
        self._by_issuer = {v.issuer: v for v in verifiers}
        if len(self._by_issuer) != len(verifiers):
            raise ValueError("two verifiers share an issuer")
        self._verified = Reused(maxsize=MAX_REUSED_TOKENS)

    def verify(self, token: str) -> Identity:
        """Verify a token from any configured issuer; each refusal is counted by its code,
        so a spike of one rule (expired tokens, forged signatures) shows on a graph."""
        key = hashlib.sha256(token.encode()).digest()
        if (reused := self._verified.get(key)) is not None:
            return reused[0]
        try:
            identity = self._verify(token)
        except Unauthorized as refusal:
            count_refused_token(refusal.code)
            raise
        now = time.time()
        self._verified.put(key, identity, now=now,
                           seconds=min(VERIFIED_REUSE_SECONDS, identity.expires_at - now))
        return identity

    def _verify(self, token: str) -> Identity:
        _unverified_header(token)
        try:
            # Unverified, so only used to choose the verifier, which checks `iss` again.
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            raise _fail("token_malformed", "the token is not a well-formed JWT") from None
        verifier = self._by_issuer.get(issuer) if isinstance(issuer, str) else None
        if verifier is None:
            raise _fail("token_unknown_issuer", "the token was issued by an unknown issuer")
        return verifier.verify(token)

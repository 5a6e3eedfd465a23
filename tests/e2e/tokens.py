"""Tokens for the token-rule tests, signed with the test stack's real keys.

Each builder starts from a token that every part accepts (the claims Cognito or the Auth
stand-in really issue, signed by the key the issuer publishes) and changes only what the
caller names, so a refused token is refused by exactly the rule the test is about."""
from __future__ import annotations

import time
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.helpers import jwt_parts

# moto signs every user pool's tokens with this key; its public half is the pool's JWKS.
MOTO_POOL_KEY = "cognitoidp/resources/jwks-private.json"
MOTO_POOL_KID = "dummy"


def cognito_signing_key():
    """The private key the local Cognito (moto) signs access tokens with."""
    from moto.utilities.utils import load_resource

    return jwt.PyJWK(load_resource(MOTO_POOL_KEY), algorithm="RS256").key


def cognito_token(access_token: str, *, key=None, alg: str = "RS256", kid: str = MOTO_POOL_KID,
                  **overrides) -> str:
    """A Cognito access token with the claims of a real one (`access_token`), fresh times and
    `overrides` (None removes a claim), signed by the pool's key unless `key` is given."""
    now = int(time.time())
    claims = {**jwt_parts(access_token)[1], "iat": now, "exp": now + 600, **overrides}
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key if key is not None else cognito_signing_key(), algorithm=alg,
                      headers={"kid": kid})


def supabase_token(stack_env, test_layout, *, key=None, **overrides) -> str:
    """A Supabase user token as the Auth stand-in issues it, with `overrides`, signed with the
    stand-in's ES256 key (or `key`, under the stand-in's kid)."""
    from devstack.api import auth_signing_key

    signing = auth_signing_key(test_layout)
    now = int(time.time())
    claims = {"iss": f"{stack_env['SUPABASE_URL']}/auth/v1", "aud": "authenticated",
              "sub": str(uuid.uuid4()), "role": "authenticated", "email": "op@example.com",
              "iat": now, "exp": now + 600, **overrides}
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key if key is not None else signing.private_key, algorithm="ES256",
                      headers={"kid": signing.kid})


def session_of(supabase_access_token: str) -> dict:
    """The claims that tie a Supabase token to its user and live session (`sub`,
    `session_id`): a token built with them is one Supabase Auth still vouches for."""
    claims = jwt_parts(supabase_access_token)[1]
    return {"sub": claims["sub"], "session_id": claims["session_id"], "email": claims["email"]}


def supabase_secret_token(stack_env, **overrides) -> str:
    """A Supabase user token signed with the project's legacy HS256 JWT secret."""
    now = int(time.time())
    claims = {"iss": f"{stack_env['SUPABASE_URL']}/auth/v1", "aud": "authenticated",
              "sub": str(uuid.uuid4()), "role": "authenticated", "iat": now, "exp": now + 600,
              **overrides}
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, stack_env["SUPABASE_JWT_SECRET"], algorithm="HS256")


def another_rsa_key():
    """An RSA key nobody publishes: a forger's."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def another_ec_key():
    """A P-256 key nobody publishes: a forger's."""
    return ec.generate_private_key(ec.SECP256R1())

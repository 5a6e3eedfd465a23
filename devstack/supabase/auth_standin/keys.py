"""Keys and tokens: the ES256 key that signs user access tokens, and the HS256 API keys.

    python -m devstack.supabase.auth_standin signing-key PATH  # a P-256 key, unless one exists
    python -m devstack.supabase.auth_standin api-keys  # anon/service_role, $SUPABASE_JWT_SECRET
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

API_KEY_ROLES = ("anon", "service_role")
# Supabase's own API keys live about ten years; they are revoked by rotating the secret.
API_KEY_LIFETIME = 10 * 365 * 24 * 3600
USER_AUDIENCE = "authenticated"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class SigningKey:
    """The private key for user access tokens, with its public JWK and `kid`."""

    private_key: ec.EllipticCurvePrivateKey
    kid: str
    public_jwk: dict[str, Any]

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        """The verifying half."""
        return self.private_key.public_key()


def generate_signing_key(path: str | os.PathLike) -> bool:
    """Write a new EC P-256 private key (PKCS#8 PEM, mode 0600) to `path`; False if one exists."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: never overwrite a key, or every token issued with it stops verifying.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return True


def load_signing_key(path: str | os.PathLike) -> SigningKey:
    """Read a PEM EC P-256 private key; ValueError with a readable reason otherwise."""
    try:
        pem = Path(path).read_bytes()
    except FileNotFoundError:
        raise ValueError(f"{path} does not exist (create one with "
                         f"`python -m auth_standin signing-key {path}`)") from None
    except OSError as error:
        raise ValueError(f"{path} cannot be read: {error.strerror}") from None
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{path} is not an unencrypted PEM private key ({error})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError(f"{path} is not an EC P-256 key, which ES256 needs")
    jwk = public_jwk(key.public_key())
    kid = jwk_thumbprint(jwk)
    return SigningKey(private_key=key, kid=kid,
                      public_jwk={**jwk, "kid": kid, "alg": "ES256", "use": "sig",
                                  "key_ops": ["verify"], "ext": True})


def public_jwk(public_key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    """The RFC 7517 members of a P-256 public key."""
    numbers = public_key.public_numbers()
    # Coordinates are fixed-length (32 bytes for P-256), leading zeros kept, per RFC 7518 6.2.1.
    return {"kty": "EC", "crv": "P-256",
            "x": _b64url(numbers.x.to_bytes(32, "big")),
            "y": _b64url(numbers.y.to_bytes(32, "big"))}


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint of an EC public JWK."""
    required = {name: jwk[name] for name in ("crv", "kty", "x", "y")}
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def issue_access_token(claims: dict[str, Any], *, key: SigningKey) -> str:
    """Sign user access token claims with ES256, naming the key by `kid`."""
    return jwt.encode(claims, key.private_key, algorithm="ES256",
                      headers={"kid": key.kid, "typ": "JWT"})


def verify_access_token(token: str, *, key: SigningKey, issuer: str,
                        secret: str | None = None) -> dict[str, Any]:
    """Claims of a user access token we issued; raises jwt.PyJWTError otherwise. With
    `secret`, a token signed with the project's legacy HS256 JWT secret and naming no `kid`
    is ours too, as GoTrue keeps accepting those (a token naming a kid is verified with
    that key only)."""
    # ES256 with our own key, or HS256 with the secret: never a public key used as an HMAC
    # secret, so an HS256 token made with the published key fails.
    verify_with: str | ec.EllipticCurvePublicKey
    header = jwt.get_unverified_header(token)
    if secret is not None and header.get("alg") == "HS256" and "kid" not in header:
        verify_with, algorithm = secret, "HS256"
    else:
        verify_with, algorithm = key.public_key, "ES256"
    return jwt.decode(token, verify_with, algorithms=[algorithm], audience=USER_AUDIENCE,
                      issuer=issuer, options={"require": ["exp", "iat", "sub", "session_id"]})


def make_api_key(secret: str, role: str, *, ref: str = "local", issued_at: int | None = None,
                 lifetime: int = API_KEY_LIFETIME) -> str:
    """An HS256 API key for `role` ("anon" or "service_role"), shaped like Supabase's."""
    if role not in API_KEY_ROLES:
        raise ValueError(f"role must be one of {', '.join(API_KEY_ROLES)}")
    iat = int(time.time()) if issued_at is None else issued_at
    payload = {"iss": "supabase", "ref": ref, "role": role, "iat": iat, "exp": iat + lifetime}
    return jwt.encode(payload, secret, algorithm="HS256")


def hs256_role(token: str, *, secret: str) -> str | None:
    """The `role` of a valid HS256 token signed with `secret`, or None."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"],
                            options={"require": ["role"], "verify_aud": False})
    except jwt.PyJWTError:
        return None
    role = claims.get("role")
    return role if isinstance(role, str) else None


def api_key_role(token: str, *, secret: str) -> str | None:
    """"anon" or "service_role" for a valid API key, else None."""
    role = hs256_role(token, secret=secret)
    return role if role in API_KEY_ROLES else None


def main(argv: list[str] | None = None) -> int:
    """Command line: create a signing key file, or print API keys."""
    parser = argparse.ArgumentParser(prog="python -m devstack.supabase.auth_standin",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    signing = commands.add_parser("signing-key", help="create the ES256 signing key if missing")
    signing.add_argument("path")
    api = commands.add_parser("api-keys", help="print API keys signed with $SUPABASE_JWT_SECRET")
    api.add_argument("--role", choices=API_KEY_ROLES, help="print only this role's key, bare")
    args = parser.parse_args(argv)

    if args.command == "signing-key":
        created = generate_signing_key(args.path)
        key = load_signing_key(args.path)
        print(f"{'created' if created else 'kept existing'} {args.path} (kid {key.kid})",
              file=sys.stderr)
        return 0
    # The secret comes from the environment, not argv, so that it stays out of `ps`.
    secret = os.environ.get("SUPABASE_JWT_SECRET")
    if not secret:
        print("SUPABASE_JWT_SECRET is not set", file=sys.stderr)
        return 2
    if args.role:
        print(make_api_key(secret, args.role))
    else:
        print(f"SUPABASE_ANON_KEY={make_api_key(secret, 'anon')}")
        print(f"SUPABASE_SERVICE_ROLE_KEY={make_api_key(secret, 'service_role')}")
    return 0

"""Typed settings, read once from the environment; a missing value fails at start-up."""
from __future__ import annotations

from functools import cached_property
from typing import TypeVar

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(RuntimeError):
    """Raised at start-up when the environment does not configure the process."""


class BaseServiceSettings(BaseSettings):
    """What every service needs: where tokens come from and how to verify them."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    aws_region: str
    aws_cognito_user_pool_id: str
    # Comma-separated app client ids whose access tokens are accepted.
    aws_cognito_client_id: str
    # Defaults to the real AWS issuer; set the JWKS URL separately where an emulator
    # serves the keys at another address than the issuer.
    aws_cognito_issuer: str | None = None
    aws_cognito_jwks_url: str | None = None

    supabase_url: str
    supabase_jwt_secret: SecretStr | None = None
    supabase_jwks_url: str | None = None

    # Outbound HTTP to other services: seconds.
    http_connect_timeout: float = 1.0
    http_read_timeout: float = 2.0

    @cached_property
    def cognito_issuer(self) -> str:
        """The `iss` of the pool's tokens."""
        return self.aws_cognito_issuer or (
            f"https://cognito-idp.{self.aws_region}.amazonaws.com/{self.aws_cognito_user_pool_id}")

    @cached_property
    def cognito_jwks_url(self) -> str:
        """Where the pool publishes its signing keys."""
        return self.aws_cognito_jwks_url or f"{self.cognito_issuer}/.well-known/jwks.json"

    @cached_property
    def cognito_client_ids(self) -> tuple[str, ...]:
        """App clients whose access tokens are accepted."""
        return tuple(c.strip() for c in self.aws_cognito_client_id.split(",") if c.strip())

    @cached_property
    def supabase_issuer(self) -> str:
        """The `iss` of Supabase Auth's user tokens."""
        return f"{self.supabase_url.rstrip('/')}/auth/v1"

    @cached_property
    def supabase_jwks(self) -> str:
        """Where Supabase Auth publishes its asymmetric signing keys."""
        return self.supabase_jwks_url or f"{self.supabase_issuer}/.well-known/jwks.json"


class RdsSettings(BaseSettings):
    """Connection to RDS `travel_agent_db`; credentials live in Secrets Manager."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    aws_rds_host: str
    aws_rds_port: int = 5432
    aws_rds_database: str = "travel_agent_db"
    # The secret holds {"username": ..., "password": ...}, as RDS-managed secrets do.
    aws_rds_secret_id: str
    # verify-full by default: a production config must check the server's certificate.
    aws_rds_sslmode: str = "verify-full"
    aws_rds_sslrootcert: str | None = None


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S], overrides: dict | None = None) -> S:
    """Build settings from the environment plus overrides, naming every missing variable."""
    try:
        return cls(**{k.lower(): v for k, v in (overrides or {}).items()})
    except ValidationError as exc:
        problems = ", ".join(
            f"{'_'.join(str(p) for p in err['loc']).upper()} ({err['msg'].lower()})"
            for err in exc.errors())
        raise SettingsError(f"{cls.__name__}: bad or missing environment: {problems}") from None

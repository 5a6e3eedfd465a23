"""Settings, read once at start-up from the environment (or a dict that overrides it), with
pydantic-settings like every service of the platform; a bad or missing value fails at once
with ConfigError naming the variable."""
from __future__ import annotations

from collections.abc import Mapping
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Any

from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from .keys import SigningKey, load_signing_key

# Supabase refuses shorter project secrets; an HS256 secret much shorter is guessable offline.
MIN_SECRET_LENGTH = 32
MAX_JWT_EXPIRY = 7 * 24 * 3600   # GoTrue's upper bound for GOTRUE_JWT_EXP
# Supabase's default rate limits, per client address per 5 minutes (config.toml
# [auth.rate_limit]: sign_in_sign_ups = 30, token_refresh = 150).
RATE_LIMIT_WINDOW = 300
DEFAULT_SIGN_IN_SIGN_UPS = 30
DEFAULT_TOKEN_REFRESH = 150
# Seconds a used refresh token may still be presented and get the session's current one
# (GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL; Supabase's default is 10).
DEFAULT_REFRESH_TOKEN_REUSE_INTERVAL = 10


class ConfigError(RuntimeError):
    """The environment (or the config passed in) does not configure the stand-in."""


class AuthStandinSettings(BaseSettings):
    """What the stand-in needs to run; secrets stay out of repr()."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    supabase_url: str
    supabase_jwt_secret: SecretStr
    auth_db_url: SecretStr
    # A PEM EC P-256 private key (`python -m auth_standin signing-key FILE` makes one).
    auth_signing_key_file: str
    auth_jwt_expiry: int = Field(3600, ge=1, le=MAX_JWT_EXPIRY)
    auth_autoconfirm: bool = True
    auth_disable_signup: bool = False
    # Where the e-mails GoTrue would send (codes to confirm a sign-up or reset a password)
    # are written, one JSON line each, like Supabase's local Inbucket; None: the log only.
    auth_mail_file: str | None = None
    auth_refresh_token_reuse_interval: int = Field(DEFAULT_REFRESH_TOKEN_REUSE_INTERVAL, ge=0,
                                                   le=3600)
    # Requests per client address per RATE_LIMIT_WINDOW: password sign-ins and sign-ups
    # together, and refreshes.
    auth_rate_limit_sign_in_sign_ups: int = Field(DEFAULT_SIGN_IN_SIGN_UPS, ge=1, le=1_000_000)
    auth_rate_limit_token_refresh: int = Field(DEFAULT_TOKEN_REFRESH, ge=1, le=1_000_000)
    # The header that carries the client's address behind a proxy (GoTrue's
    # GOTRUE_RATE_LIMIT_HEADER); unset, the connection's own address counts.
    auth_rate_limit_header: str | None = None
    # Client addresses no limit applies to (comma-separated networks).
    auth_rate_limit_exempt: str = ""
    _signing_key: SigningKey = PrivateAttr()

    @field_validator("auth_rate_limit_exempt")
    @classmethod
    def _networks(cls, value: str) -> str:
        cls.exempt_networks_of(value)
        return value

    @staticmethod
    def exempt_networks_of(value: str) -> tuple[IPv4Network | IPv6Network, ...]:
        """The networks of a comma-separated list (ValueError naming a bad one)."""
        return tuple(ip_network(v.strip()) for v in value.split(",") if v.strip())

    @property
    def rate_limit_exempt(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """Client networks no limit applies to."""
        return self.exempt_networks_of(self.auth_rate_limit_exempt)

    @model_validator(mode="before")
    @classmethod
    def _blank_is_missing(cls, values: Any) -> Any:
        # An empty variable is as good as none: it must fail as missing, not as a bad value.
        if isinstance(values, dict):
            return {k: v for k, v in values.items()
                    if v is not None and not (isinstance(v, str) and not v.strip())}
        return values

    @field_validator("supabase_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return url

    @field_validator("supabase_jwt_secret")
    @classmethod
    def _long_secret(cls, secret: SecretStr) -> SecretStr:
        if len(secret.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(f"must be at least {MIN_SECRET_LENGTH} characters")
        return secret

    @model_validator(mode="after")
    def _load_signing_key(self):
        try:
            self._signing_key = load_signing_key(self.auth_signing_key_file)
        except ValueError as error:
            raise ValueError(f"AUTH_SIGNING_KEY_FILE: {error}") from None
        return self

    @property
    def signing_key(self) -> SigningKey:
        """The key user access tokens are signed with (ES256)."""
        return self._signing_key

    @property
    def issuer(self) -> str:
        """The `iss` of user access tokens, as Supabase sets it."""
        return f"{self.supabase_url.rstrip('/')}/auth/v1"


def load_settings(config: Mapping[str, Any] | None = None) -> AuthStandinSettings:
    """Settings from the environment overridden by `config` (keys are variable names);
    ConfigError names every variable that is missing or wrong."""
    overrides = {k.lower(): v for k, v in (config or {}).items() if v is not None}
    try:
        return AuthStandinSettings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_explain(exc)) from None


def _explain(exc: ValidationError) -> str:
    missing = [str(e["loc"][0]).upper() for e in exc.errors() if e["type"] == "missing"]
    wrong = [(f"{str(e['loc'][0]).upper()}: " if e["loc"] else "")
             + e["msg"].removeprefix("Value error, ")
             for e in exc.errors() if e["type"] != "missing"]
    if missing:
        return (f"auth stand-in: missing setting(s) {', '.join(missing)}; "
                "set them in the environment")
    return "auth stand-in: " + "; ".join(wrong)

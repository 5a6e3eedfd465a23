"""Settings, read once at start-up from the environment, or from a dict that overrides it."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Any

from .keys import SigningKey, load_signing_key

REQUIRED = ("SUPABASE_URL", "SUPABASE_JWT_SECRET", "AUTH_DB_URL", "AUTH_SIGNING_KEY_FILE")
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
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


class ConfigError(RuntimeError):
    """The environment (or the config passed in) does not configure the stand-in."""


@dataclass(frozen=True)
class Settings:
    """What the stand-in needs to run; secrets stay out of repr()."""

    supabase_url: str
    jwt_secret: str = field(repr=False)
    db_url: str = field(repr=False)
    signing_key: SigningKey = field(repr=False)
    jwt_expiry: int
    autoconfirm: bool
    disable_signup: bool
    # Requests per client address per RATE_LIMIT_WINDOW: password sign-ins and sign-ups
    # together, and refreshes.
    refresh_token_reuse_interval: int = DEFAULT_REFRESH_TOKEN_REUSE_INTERVAL
    rate_limit_sign_in_sign_ups: int = DEFAULT_SIGN_IN_SIGN_UPS
    rate_limit_token_refresh: int = DEFAULT_TOKEN_REFRESH
    # The header that carries the client's address behind a proxy (GoTrue's
    # GOTRUE_RATE_LIMIT_HEADER); unset, the connection's own address counts.
    rate_limit_header: str | None = None
    # Client addresses no limit applies to (comma-separated networks).
    rate_limit_exempt: tuple[IPv4Network | IPv6Network, ...] = ()

    @property
    def issuer(self) -> str:
        """The `iss` of user access tokens, as Supabase sets it."""
        return f"{self.supabase_url.rstrip('/')}/auth/v1"


def load_settings(config: Mapping[str, Any] | None = None) -> Settings:
    """Build Settings from os.environ overridden by `config`; ConfigError names what is wrong."""
    values = {**os.environ, **{k: v for k, v in (config or {}).items() if v is not None}}

    def get(name: str) -> str | None:
        value = values.get(name)
        return None if value is None or str(value).strip() == "" else str(value).strip()

    missing = [name for name in REQUIRED if get(name) is None]
    if missing:
        raise ConfigError(f"auth stand-in: missing setting(s) {', '.join(missing)}; "
                          "set them in the environment")
    def need(name: str) -> str:
        value = get(name)
        if value is None:   # checked above; says so to the type checker too
            raise ConfigError(f"auth stand-in: missing setting {name}")
        return value

    url, secret = need("SUPABASE_URL"), need("SUPABASE_JWT_SECRET")
    if not url.startswith(("http://", "https://")):
        raise ConfigError("auth stand-in: SUPABASE_URL must be an http(s) URL")
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(f"auth stand-in: SUPABASE_JWT_SECRET must be at least "
                          f"{MIN_SECRET_LENGTH} characters")
    try:
        signing_key = load_signing_key(need("AUTH_SIGNING_KEY_FILE"))
    except ValueError as error:
        raise ConfigError(f"auth stand-in: AUTH_SIGNING_KEY_FILE: {error}") from None
    return Settings(supabase_url=url, jwt_secret=secret, db_url=need("AUTH_DB_URL"),
                    signing_key=signing_key,
                    jwt_expiry=_int(get("AUTH_JWT_EXPIRY"), "AUTH_JWT_EXPIRY", default=3600,
                                    low=1, high=MAX_JWT_EXPIRY),
                    autoconfirm=_bool(get("AUTH_AUTOCONFIRM"), "AUTH_AUTOCONFIRM", default=True),
                    disable_signup=_bool(get("AUTH_DISABLE_SIGNUP"), "AUTH_DISABLE_SIGNUP",
                                         default=False),
                    refresh_token_reuse_interval=_int(
                        get("AUTH_REFRESH_TOKEN_REUSE_INTERVAL"),
                        "AUTH_REFRESH_TOKEN_REUSE_INTERVAL",
                        default=DEFAULT_REFRESH_TOKEN_REUSE_INTERVAL, low=0, high=3600),
                    rate_limit_sign_in_sign_ups=_int(
                        get("AUTH_RATE_LIMIT_SIGN_IN_SIGN_UPS"), "AUTH_RATE_LIMIT_SIGN_IN_SIGN_UPS",
                        default=DEFAULT_SIGN_IN_SIGN_UPS, low=1, high=1_000_000, unit="requests"),
                    rate_limit_token_refresh=_int(
                        get("AUTH_RATE_LIMIT_TOKEN_REFRESH"), "AUTH_RATE_LIMIT_TOKEN_REFRESH",
                        default=DEFAULT_TOKEN_REFRESH, low=1, high=1_000_000, unit="requests"),
                    rate_limit_header=get("AUTH_RATE_LIMIT_HEADER"),
                    rate_limit_exempt=_networks(get("AUTH_RATE_LIMIT_EXEMPT")))


def _int(value: str | None, name: str, *, default: int, low: int, high: int,
         unit: str = "seconds") -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"auth stand-in: {name} must be a whole number of {unit}") from None
    if not low <= number <= high:
        raise ConfigError(f"auth stand-in: {name} must be between {low} and {high}")
    return number


def _bool(value: str | None, name: str, *, default: bool) -> bool:
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ConfigError(f"auth stand-in: {name} must be true or false")


def _networks(value: str | None) -> tuple[IPv4Network | IPv6Network, ...]:
    try:
        return tuple(ip_network(v.strip()) for v in (value or "").split(",") if v.strip())
    except ValueError as error:
        raise ConfigError(f"auth stand-in: AUTH_RATE_LIMIT_EXEMPT: {error}") from None

"""Typed settings, read once from the environment; a missing value fails at start-up."""
from __future__ import annotations

from functools import cached_property
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import ClassVar, Literal, TypeVar
from urllib.parse import parse_qs, urlsplit

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# A revoked token is refused everywhere within this many seconds, issuer outages included
# (shared/travel_platform/auth/revocation.py).
REVOCATION_BOUND_SECONDS = 30


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
    # The operators' own pool, `tour-operators-pool`, where their logins move from Supabase
    # Auth (docs/operator-logins.md); its issuer is always the real AWS one.
    aws_cognito_operator_pool_id: str
    aws_cognito_operator_client_id: str
    aws_cognito_operator_jwks_url: str | None = None

    # The Supabase project: all of SUPABASE_GROUP or none of it (see _supabase_all_or_none).
    # None is "Supabase off" (docs/deployment.md): once every unit of the move and the
    # operators' logins are finalized, the platform runs with no Supabase at all.
    supabase_url: str | None = None
    # The `iss` of the project's user tokens (GoTrue's GOTRUE_JWT_ISSUER): by default
    # SUPABASE_URL/auth/v1. Set where this service reaches Auth at another address than its
    # public one, the one clients use and tokens name (inside a container network).
    supabase_jwt_issuer: str | None = None
    supabase_jwt_secret: SecretStr | None = None
    supabase_jwks_url: str | None = None
    # The project's public anon key: Supabase's API gateway asks it of every call, here
    # GET /auth/v1/user, which tells whether a token's session and user still stand.
    supabase_anon_key: SecretStr | None = None
    # The service role key, for Supabase Auth's admin API: while operators' logins move
    # (docs/operator-logins.md) Supabase Auth is still the authority over an operator's
    # account, so a token of the operators' pool is refused once the Supabase user it stands
    # for is banned or deleted (GET /auth/v1/admin/users/{id},
    # shared/travel_platform/auth/revocation.py).
    supabase_service_role_key: SecretStr | None = None

    # The settings that together say where the Supabase project is: a part is either given
    # all of them or none (a subclass adds its own, as operator-service its database's URL).
    SUPABASE_GROUP: ClassVar[tuple[str, ...]] = ("supabase_url", "supabase_anon_key",
                                                 "supabase_service_role_key")

    # Revocation (shared/travel_platform/auth/revocation.py): each issuer's answer on whether a
    # token's session and user still stand is reused for AUTH_LIVENESS_SECONDS, and, while
    # the issuer cannot be asked, served up to AUTH_LIVENESS_STALE_SECONDS more, then 503.
    # So a signed-out, banned or deleted user's token is refused everywhere within the
    # first number, and never later than their sum (at most REVOCATION_BOUND_SECONDS, 30).
    auth_liveness_seconds: float = Field(default=10.0, gt=0)
    auth_liveness_stale_seconds: float = Field(default=20.0, ge=0)

    # Outbound HTTP to other services: seconds.
    http_connect_timeout: float = 1.0
    http_read_timeout: float = 2.0

    # `production` refuses what only a local stack may use (see refuse_dev_defaults).
    environment: Literal["local", "production"] = "local"
    # Set only for an AWS emulator (moto); boto3 reads it from the environment too.
    aws_endpoint_url: str | None = None

    @model_validator(mode="after")
    def _revocation_bounded(self):
        total = self.auth_liveness_seconds + self.auth_liveness_stale_seconds
        if total > REVOCATION_BOUND_SECONDS:
            raise ValueError(f"AUTH_LIVENESS_SECONDS + AUTH_LIVENESS_STALE_SECONDS is {total:g}: "
                             f"at most {REVOCATION_BOUND_SECONDS} (the revocation bound)")
        return self

    @model_validator(mode="after")
    def _supabase_all_or_none(self):
        # A partial set is a typo or a half-removed secret, not a decision: refuse it at start
        # rather than run with Supabase half on (or silently off).
        missing = [name.upper() for name in self.SUPABASE_GROUP if getattr(self, name) is None]
        if missing and len(missing) < len(self.SUPABASE_GROUP):
            group = ", ".join(name.upper() for name in self.SUPABASE_GROUP)
            raise ValueError(f"the Supabase settings go together: set all of {group} or none "
                             f"(Supabase off); missing: {', '.join(missing)}")
        return self

    @property
    def supabase_on(self) -> bool:
        """Whether this part is configured with a Supabase project (else Supabase is off)."""
        return self.supabase_url is not None

    @model_validator(mode="after")
    def _production_refuses_dev_defaults(self):
        if self.environment == "production":
            problems = refuse_dev_defaults(self)
            if problems:
                raise ValueError("production refuses local settings: " + "; ".join(problems))
        return self

    @cached_property
    def cognito_issuer(self) -> str:
        """The `iss` of the agents' pool's tokens."""
        return self.aws_cognito_issuer or self._pool_issuer(self.aws_cognito_user_pool_id)

    def _pool_issuer(self, pool_id: str) -> str:
        return f"https://cognito-idp.{self.aws_region}.amazonaws.com/{pool_id}"

    @cached_property
    def cognito_operator_issuer(self) -> str:
        """The `iss` of the operators' pool's tokens."""
        return self._pool_issuer(self.aws_cognito_operator_pool_id)

    @cached_property
    def cognito_operator_jwks_url(self) -> str:
        """Where the operators' pool publishes its signing keys."""
        return (self.aws_cognito_operator_jwks_url
                or f"{self.cognito_operator_issuer}/.well-known/jwks.json")

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
        return self.supabase_jwt_issuer or f"{self._supabase_url.rstrip('/')}/auth/v1"

    @cached_property
    def supabase_jwks(self) -> str:
        """Where Supabase Auth publishes its asymmetric signing keys."""
        return (self.supabase_jwks_url
                or f"{self._supabase_url.rstrip('/')}/auth/v1/.well-known/jwks.json")

    @property
    def _supabase_url(self) -> str:
        if self.supabase_url is None:
            raise SettingsError("Supabase is off here (no SUPABASE_URL): nothing may ask it")
        return self.supabase_url


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


class AccountAttemptSettings(BaseSettings):
    """Failed attempts at an account's password (agents' and operators' logins, operators'
    password changes), counted per account AND client address, with a ceiling per account
    across all addresses (shared/travel_platform/rate_limits.py; docs/security.md, "Limits and
    timeouts"): a guesser at one address locks out only that address, never the owner at
    theirs."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    # Per account (e-mail, any case) and client address, per window; then a 429 for that
    # address until the window ends. Other flows (sign-up, confirmation, refresh) count per
    # account alone, with the same number.
    account_attempts_per_window: int = Field(default=10, ge=1)
    # Per account across every address: high enough that reaching it takes a distributed
    # guesser (this many addresses' worth of failures), low enough to stop one.
    account_attempts_per_window_all_addresses: int = Field(default=100, ge=1)
    account_attempt_window_seconds: int = Field(default=300, ge=1)
    # Comma-separated networks of the proxies in front of this service (the gateway, and
    # on AWS the Service Connect proxy): only a request from one of them has its
    # X-Forwarded-For believed (shared/travel_platform/client_address.py). Empty: none, the
    # connection's own address is the client's.
    client_address_proxies: str = ""

    @model_validator(mode="after")
    def _proxies_are_networks(self):
        self.proxy_networks  # noqa: B018 -- fails at start-up on a malformed network
        return self

    @cached_property
    def proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """CLIENT_ADDRESS_PROXIES as networks."""
        return tuple(ip_network(part.strip(), strict=False)
                     for part in self.client_address_proxies.split(",") if part.strip())


S = TypeVar("S", bound=BaseSettings)


# The example secret of .env.example and devstack's placeholders: never in production.
_DEV_MARKERS = ("change-me", "changethis", "dev-only", "dev-password")


def is_local_url(url: str | None) -> bool:
    """Whether a URL names this machine (localhost or a loopback address)."""
    host = urlsplit(url or "").hostname or ""
    try:
        return host == "localhost" or ip_address(host).is_loopback
    except ValueError:
        return False


def refuse_dev_defaults(settings: BaseSettings) -> list[str]:
    """What in `settings` only a local stack may use, one problem per variable: an AWS
    emulator, plain HTTP or loopback addresses for token issuers, unverified TLS to a
    database, and example secrets."""
    problems = []
    if getattr(settings, "aws_endpoint_url", None):
        problems.append("AWS_ENDPOINT_URL is set (an emulator): real AWS needs none")
    for name in ("supabase_url", "aws_cognito_jwks_url", "aws_cognito_operator_jwks_url",
                 "supabase_jwks_url", "supabase_jwt_issuer", "aws_s3_public_endpoint_url"):
        url = getattr(settings, name, None)
        if url and (not url.startswith("https://") or is_local_url(url)):
            problems.append(f"{name.upper()} must be a public https:// address")
    if getattr(settings, "aws_rds_sslmode", "verify-full") != "verify-full":
        problems.append("AWS_RDS_SSLMODE must be verify-full")
    for name in ("supabase_jwt_secret", "supabase_db_url"):
        secret = getattr(settings, name, None)
        value = secret.get_secret_value() if secret is not None else ""
        if any(marker in value for marker in _DEV_MARKERS):
            problems.append(f"{name.upper()} holds an example value")
    db_url = getattr(settings, "supabase_db_url", None)
    if db_url is not None:
        url = db_url.get_secret_value()
        modes = parse_qs(urlsplit(url).query).get("sslmode", ["verify-full"])
        if modes != ["verify-full"] or is_local_url(url):
            problems.append("SUPABASE_DB_URL must reach the project with sslmode=verify-full")
    return problems


def load_settings(cls: type[S], overrides: dict | None = None) -> S:
    """Build settings from the environment plus overrides, naming every missing variable."""
    try:
        return cls(**{k.lower(): v for k, v in (overrides or {}).items()})
    except ValidationError as exc:
        problems = ", ".join(_problem(err) for err in exc.errors())
        raise SettingsError(f"{cls.__name__}: bad or missing environment: {problems}") from None


def _problem(err) -> str:
    # A variable's own problem names the variable; a check across several says its own.
    message = err["msg"].removeprefix("Value error, ")
    message = message[:1].lower() + message[1:]
    if not err["loc"]:
        return message
    return f"{'_'.join(str(p) for p in err['loc']).upper()} ({message})"

"""What makes a Flask app one of ours: JSON errors, request ids, token checks, health."""
from __future__ import annotations

import decimal
from collections.abc import Callable
from functools import wraps
from typing import Any

import boto3
import orjson
from botocore.config import Config
from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask.json.provider import DefaultJSONProvider

from travel_platform import call_context
from travel_platform.api import api_meta
from travel_platform.auth import (
    CognitoVerifier,
    Identity,
    SupabaseVerifier,
    TokenVerifier,
    bearer_token,
)
from travel_platform.auth.operator_logins import OperatorLogins, require_logins_finalized
from travel_platform.auth.revocation import (
    SUPABASE_ACCOUNT,
    CognitoCheck,
    IssuerCheck,
    RevocationCheck,
    SupabaseAccountCheck,
    SupabaseCheck,
    account_key,
)
from travel_platform.auth.tokens import (
    AGENT,
    OPERATOR,
    SOURCE_COGNITO,
    SOURCE_COGNITO_OPERATORS,
    SOURCE_SUPABASE,
)
from travel_platform.errors import APIError, Forbidden, register_error_handlers
from travel_platform.metrics import register_metrics
from travel_platform.observability import configure_logging, register_request_id
from travel_platform.openapi import register_openapi
from travel_platform.settings import BaseServiceSettings

__all__ = ["AGENT", "HEALTH_PATH", "OPERATOR", "READY_PATH", "admit_operators",
           "authenticate", "configure_service", "current_identity", "identity_view",
           "register_health", "require_admin", "require_identity", "verdict_fresh_for"]
MAX_BODY_BYTES = 1024 * 1024


def _encodable(value: Any) -> Any:
    """What orjson does not encode itself: exact decimals, as strings (never a float)."""
    if isinstance(value, decimal.Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class ApiJSONProvider(DefaultJSONProvider):
    """Every answer's JSON: ISO 8601 dates, UUIDs as strings, exact decimals as strings; keys
    keep their order. Encoded by orjson: a 50-row bookings page takes 0.13 ms instead of the
    standard library's 1.7 ms (which calls back into Python for each date, UUID and decimal),
    and that was half of the page's own time (docs/benchmarks.md, section 2). Parsing
    request bodies stays with the standard library, as Flask does it."""

    _OPTIONS = orjson.OPT_NON_STR_KEYS

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return orjson.dumps(obj, default=_encodable, option=self._OPTIONS).decode()

    def response(self, *args: Any, **kwargs: Any) -> Response:
        body = orjson.dumps(self._prepare_response_obj(args, kwargs), default=_encodable,
                            option=self._OPTIONS | orjson.OPT_APPEND_NEWLINE)
        return Response(body, mimetype=self.mimetype)


def build_token_verifier(settings: BaseServiceSettings) -> TokenVerifier:
    """The verifier for the three issuers (agents' pool, Supabase Auth, operators' pool); with
    Supabase off, for the two pools only, so a Supabase token is one of an unknown issuer."""
    verifiers: list[CognitoVerifier | SupabaseVerifier] = [
        CognitoVerifier(issuer=settings.cognito_issuer, jwks_url=settings.cognito_jwks_url,
                        client_ids=settings.cognito_client_ids),
        CognitoVerifier(issuer=settings.cognito_operator_issuer,
                        jwks_url=settings.cognito_operator_jwks_url,
                        client_ids=[settings.aws_cognito_operator_client_id],
                        source=SOURCE_COGNITO_OPERATORS)]
    if settings.supabase_on:
        secret = (settings.supabase_jwt_secret.get_secret_value()
                  if settings.supabase_jwt_secret else None)
        verifiers.append(SupabaseVerifier(issuer=settings.supabase_issuer,
                                          jwks_url=settings.supabase_jwks, jwt_secret=secret))
    return TokenVerifier(*verifiers)


def build_revocation_check(settings: BaseServiceSettings) -> RevocationCheck:
    """Each issuer asked whether a verified token's session and user still stand: Cognito's
    GetUser for both pools (one client: it needs the token only), Supabase Auth's /user
    unless Supabase is off."""
    # One attempt each, within gateway-auth's 5 s under nginx: a failed answer is replaced
    # by the last one (or a 503), not retried while the caller waits.
    timeout = (settings.http_connect_timeout, settings.http_read_timeout)
    cognito = CognitoCheck(boto3.client("cognito-idp", region_name=settings.aws_region,
                                        config=Config(connect_timeout=timeout[0],
                                                      read_timeout=timeout[1],
                                                      retries={"max_attempts": 1,
                                                               "mode": "standard"})))
    checks: dict[str, IssuerCheck] = {SOURCE_COGNITO: cognito, SOURCE_COGNITO_OPERATORS: cognito}
    if (settings.supabase_url is not None and settings.supabase_anon_key is not None
            and settings.supabase_service_role_key is not None):
        checks[SOURCE_SUPABASE] = SupabaseCheck(
            url=settings.supabase_url, anon_key=settings.supabase_anon_key.get_secret_value(),
            timeout=timeout)
        checks[SUPABASE_ACCOUNT] = SupabaseAccountCheck(
            url=settings.supabase_url,
            service_role_key=settings.supabase_service_role_key.get_secret_value(),
            timeout=timeout)
    return RevocationCheck(checks, fresh_seconds=settings.auth_liveness_seconds,
                           stale_seconds=settings.auth_liveness_stale_seconds)


def configure_service(app: Flask, *, name: str, settings: BaseServiceSettings) -> None:
    """Logging, request ids, JSON errors, body limit, token verification and the OpenAPI
    document for one service."""
    configure_logging(name)
    app.config["SERVICE_NAME"] = name
    app.config["SETTINGS"] = settings
    # Not setdefault: Flask's defaults already hold MAX_CONTENT_LENGTH = None (no limit).
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json = ApiJSONProvider(app)
    app.extensions["token_verifier"] = build_token_verifier(settings)
    app.extensions["revocation"] = build_revocation_check(settings)
    register_request_id(app)
    forward_caller_context(app)
    register_error_handlers(app)
    register_openapi(app, title=name)
    register_metrics(app, name=name)


def forward_caller_context(app: Flask) -> None:
    """Every call this service makes to another one while serving a request carries the
    caller's token and the request id (see travel_platform.call_context): set here, once, for
    every request, and nowhere else."""

    @app.before_request
    def enter_caller_context():
        g.call_context_token = call_context.enter(call_context.CallContext(
            authorization=request.headers.get("Authorization"),
            request_id=g.get("request_id")))

    @app.teardown_request
    def leave_caller_context(_exc):
        token = g.pop("call_context_token", None)
        if token is not None:
            call_context.leave(token)


def admit_operators(app: Flask, logins: OperatorLogins) -> None:
    """Operators' tokens are admitted by the phase of their move to Cognito, and a token of
    the operators' pool stands for the operator it is linked to (see OperatorLogins): every
    service and gateway-auth sets this up, on its RDS pool.

    With Supabase off, the part refuses to start unless the operators' logins are finalized:
    before that, operators still sign in with Supabase Auth, whose tokens it could not check."""
    settings: BaseServiceSettings = app.config["SETTINGS"]
    if not settings.supabase_on:
        require_logins_finalized(logins)
    app.extensions["operator_logins"] = logins


def authenticate() -> Identity:
    """Verify the request's bearer token (never the gateway's identity headers), admit it as
    an agent or as the operator it stands for, then ask its issuer (at most every few
    seconds per token, see travel_platform.auth.revocation) whether its session and user
    still stand: a signed-out, banned or deleted user's token is refused everywhere within
    the bound stated there."""
    verifier: TokenVerifier = current_app.extensions["token_verifier"]
    logins: OperatorLogins = current_app.extensions["operator_logins"]
    revocation: RevocationCheck = current_app.extensions["revocation"]
    token = bearer_token(request.headers.get("Authorization"))
    identity = logins.admit(verifier.verify(token))
    fresh_for = revocation.check(token, identity.source, expires_at=identity.expires_at)
    if identity.source == SOURCE_COGNITO_OPERATORS and SOURCE_SUPABASE in logins.issuers():
        # The window: Supabase Auth still rules the account a pool token stands for.
        fresh_for = min(fresh_for, revocation.check(account_key(identity.subject),
                                                  SUPABASE_ACCOUNT,
                                                  expires_at=identity.expires_at))
    g.verdict_fresh_for = fresh_for
    g.identity = identity
    return identity


def verdict_fresh_for() -> float:
    """For how many more seconds this request's `authenticate` verdict may be reused
    without asking the issuer again (gateway-auth caps its verdict cache by it)."""
    return g.get("verdict_fresh_for", 0.0)


# Issuers each kind of caller's tokens come from, for the OpenAPI document.
_ISSUERS = {AGENT: (SOURCE_COGNITO,), OPERATOR: (SOURCE_SUPABASE, SOURCE_COGNITO_OPERATORS)}


def require_identity(*kinds: str) -> Callable:
    """Route decorator: a verified token of one of `kinds` of caller, AGENT or OPERATOR (any
    kind if none given)."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            identity = authenticate()
            if kinds and identity.kind not in kinds:
                raise Forbidden(f"this route is not for {identity.kind}s' tokens",
                                code="wrong_token_issuer")
            return view(*args, **kwargs)
        api_meta(wrapper)["security"] = tuple(
            source for kind in (kinds or (AGENT, OPERATOR)) for source in _ISSUERS[kind])
        return wrapper
    return decorate


def require_admin(view: Callable) -> Callable:
    """Route decorator: a token of the agents' pool whose user is in the `admins` group (403
    `admin_required` otherwise)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_identity().is_admin:
            raise Forbidden("only administrators may do this", code="admin_required")
        return view(*args, **kwargs)
    return require_identity(AGENT)(wrapper)


def current_identity() -> Identity:
    """The identity verified for this request by `require_identity`."""
    return g.identity


def identity_view(identity: Identity) -> dict:
    """What a caller may see of their own verified identity."""
    return {"source": identity.source, "kind": identity.kind, "subject": identity.subject,
            "email": identity.email,
            "groups": list(identity.groups), "role": identity.role}


# Health paths of every service: container health checks and load balancers probe HEALTH_PATH
# (aws/infrastructure/ecs.tf), a stack's start waits on READY_PATH.
HEALTH_PATH = "/health"
READY_PATH = "/ready"


def register_health(app: Flask, checks: dict[str, Callable[[], None]]) -> None:
    """`/health`: the process is alive. `/ready`: every named dependency answers."""
    bp = Blueprint("health", __name__)

    @bp.get(HEALTH_PATH)
    def health():
        """The process is alive (no dependency is checked)."""
        return jsonify(status="ok", service=app.config["SERVICE_NAME"])

    @bp.get(READY_PATH)
    def ready():
        """Every dependency answers; 503 naming the failing ones otherwise."""
        results, failing = {}, []
        for part, check in checks.items():
            try:
                check()
                results[part] = "ok"
            except Exception as exc:  # a readiness probe reports, it does not raise
                message = exc.message if isinstance(exc, APIError) else type(exc).__name__
                results[part] = f"failing: {message}"
                failing.append(part)
        status = 503 if failing else 200
        body = {"status": "ready" if not failing else "not_ready",
                "service": app.config["SERVICE_NAME"], "checks": results}
        if failing:
            body["error"] = {"status": 503, "code": "not_ready",
                             "message": f"not ready: {', '.join(failing)} failing",
                             "request_id": g.get("request_id")}
        return jsonify(body), status

    app.register_blueprint(bp)

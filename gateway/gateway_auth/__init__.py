"""gateway-auth: nginx's `auth_request` target. It verifies the bearer token with the
shared code and tells nginx who the caller is, or why they are refused."""
import time

from flask import Blueprint, Flask, current_app, request

from shared.auth import Identity, bearer_token
from shared.errors import APIError, NotFound, status_and_code
from shared.settings import BaseServiceSettings, load_settings
from shared.web import configure_service, register_health

SERVICE_NAME = "gateway-auth"
# Which token issuer a route family accepts; gateway/routes.conf names the policy.
POLICIES = {"cognito": {"cognito"}, "supabase": {"supabase"}, "any": {"cognito", "supabase"}}
PUBLIC = "public"
# nginx caches a verdict for at most this long, and never past the token's expiry.
MAX_CACHE_SECONDS = 30

blueprint = Blueprint("verify", __name__)


class GatewayAuthSettings(BaseServiceSettings):
    """Token issuers only: the verifier holds no data."""


def create_app(config: dict | None = None) -> Flask:
    """Build the verifier app; `config` overrides environment settings."""
    settings = load_settings(GatewayAuthSettings, config)
    app = Flask(__name__)
    configure_service(app, name=SERVICE_NAME, settings=settings)
    register_health(app, checks={})
    app.register_blueprint(blueprint)
    return app


def _header_safe(text: str) -> str:
    # nginx pastes these into a JSON body and a header: keep them plain.
    return "".join(c for c in text if c.isprintable() and c not in '"\\')[:200]


def _refusal(error: APIError):
    status, code = status_and_code(error)
    return "", status, {"X-Auth-Error-Code": code,
                        "X-Auth-Error-Message": _header_safe(error.message),
                        "X-Accel-Expires": "0"}


def _cache_seconds(identity: Identity) -> str:
    return str(max(0, min(MAX_CACHE_SECONDS, identity.expires_at - int(time.time()))))


def _verdict(identity: Identity):
    return "", 200, {"X-Auth-Source": identity.source, "X-Auth-Subject": identity.subject,
                     "X-Auth-Email": identity.email or "",
                     "X-Auth-Groups": ",".join(identity.groups),
                     "X-Auth-Role": identity.role or "",
                     "X-Accel-Expires": _cache_seconds(identity)}


@blueprint.get("/verify/<policy>")
def verify(policy: str):
    """200 with identity headers if the token may use routes of `policy`; 401/403 otherwise."""
    if policy == PUBLIC:
        return "", 200, {"X-Accel-Expires": "0"}
    allowed = POLICIES.get(policy)
    if allowed is None:
        return _refusal(NotFound("no such route"))
    try:
        identity = current_app.extensions["token_verifier"].verify(
            bearer_token(request.headers.get("Authorization")))
    except APIError as error:
        return _refusal(error)
    if identity.source not in allowed:
        wanted = " or ".join(sorted(allowed))
        return "", 403, {"X-Auth-Error-Code": "wrong_token_issuer",
                         "X-Auth-Error-Message": f"this route needs a {wanted} token",
                         "X-Accel-Expires": _cache_seconds(identity)}
    return _verdict(identity)

"""gateway-auth: nginx's `auth_request` target. It verifies the bearer token with the
shared code and tells nginx who the caller is, or why they are refused.

Verdicts are cached here, in memory, keyed by a SHA-256 of (policy, Authorization header):
nginx's own `proxy_cache` would write its key, the raw bearer token, into every cache file
on disk, and nginx without extra modules has no hash function to key it by a digest
instead. So nothing of a token is ever stored, on disk or as a readable key."""
import hashlib
import threading
import time

from cachetools import TLRUCache
from flask import Blueprint, Flask, current_app, request

from travel_platform.auth import Identity, bearer_token
from travel_platform.errors import APIError, NotFound, status_and_code
from travel_platform.settings import BaseServiceSettings, load_settings
from travel_platform.web import configure_service, register_health

SERVICE_NAME = "gateway-auth"
# Which token issuer a route family accepts; gateway/gateway_config names each family's policy.
POLICIES = {"cognito": {"cognito"}, "supabase": {"supabase"}, "any": {"cognito", "supabase"}}
PUBLIC = "public"
# A verdict is reused for at most this long, and never past the token's expiry.
MAX_CACHE_SECONDS = 30
MAX_CACHED_VERDICTS = 100_000

blueprint = Blueprint("verify", __name__)


class GatewayAuthSettings(BaseServiceSettings):
    """Token issuers only: the verifier holds no data."""


class VerdictCache:
    """Verdicts by a digest of (policy, Authorization header), each kept for the seconds it
    was given; bounded, thread-safe, per worker."""

    def __init__(self, *, maxsize: int = MAX_CACHED_VERDICTS):
        self._entries: TLRUCache = TLRUCache(
            maxsize=maxsize, ttu=lambda _key, entry, now: now + entry[0], timer=time.monotonic)
        self._lock = threading.Lock()

    @staticmethod
    def key(policy: str, authorization: str) -> bytes:
        """The digest a verdict is kept under: the token itself is never a key."""
        return hashlib.sha256(f"{policy}\n{authorization}".encode()).digest()

    def get(self, key: bytes):
        """The cached answer, or None."""
        with self._lock:
            entry = self._entries.get(key)
        return entry[1] if entry else None

    def put(self, key: bytes, answer, *, seconds: int) -> None:
        """Keep `answer` for `seconds` (not at all if 0)."""
        if seconds > 0:
            with self._lock:
                self._entries[key] = (seconds, answer)


def create_app(config: dict | None = None) -> Flask:
    """Build the verifier app; `config` overrides environment settings."""
    settings = load_settings(GatewayAuthSettings, config)
    app = Flask(__name__)
    configure_service(app, name=SERVICE_NAME, settings=settings)
    app.extensions["verdicts"] = VerdictCache()
    register_health(app, checks={})
    app.register_blueprint(blueprint)
    return app


def _header_safe(text: str) -> str:
    # nginx pastes these into a JSON body and a header: keep them plain.
    return "".join(c for c in text if c.isprintable() and c not in '"\\')[:200]


def _refusal(error: APIError):
    status, code = status_and_code(error)
    return "", status, {"X-Auth-Error-Code": code,
                        "X-Auth-Error-Message": _header_safe(error.message)}


def _cache_seconds(identity: Identity) -> int:
    return max(0, min(MAX_CACHE_SECONDS, identity.expires_at - int(time.time())))


def _decide(policy: str, allowed: set[str], authorization: str | None):
    """(seconds the answer may be reused, answer) for a token under `policy`."""
    try:
        identity = current_app.extensions["token_verifier"].verify(bearer_token(authorization))
    except APIError as error:
        return 0, _refusal(error)  # a refusal is never reused: the next token may be fixed
    if identity.source not in allowed:
        wanted = " or ".join(sorted(allowed))
        return _cache_seconds(identity), ("", 403, {
            "X-Auth-Error-Code": "wrong_token_issuer",
            "X-Auth-Error-Message": f"this route needs a {wanted} token"})
    return _cache_seconds(identity), ("", 200, {
        "X-Auth-Source": identity.source, "X-Auth-Subject": identity.subject,
        "X-Auth-Email": identity.email or "", "X-Auth-Groups": ",".join(identity.groups),
        "X-Auth-Role": identity.role or ""})


@blueprint.get("/verify/<policy>")
def verify(policy: str):
    """200 with identity headers if the token may use routes of `policy`; 401/403 otherwise.
    `X-Auth-Cache` says whether the verdict was reused (HIT) or made now (MISS)."""
    if policy == PUBLIC:
        return "", 200
    allowed = POLICIES.get(policy)
    if allowed is None:
        return _refusal(NotFound("no such route"))
    authorization = request.headers.get("Authorization")
    verdicts: VerdictCache = current_app.extensions["verdicts"]
    key = VerdictCache.key(policy, authorization or "")
    answer = verdicts.get(key) if authorization else None
    if answer is not None:
        body, status, headers = answer
        return body, status, {**headers, "X-Auth-Cache": "HIT"}
    seconds, answer = _decide(policy, allowed, authorization)
    verdicts.put(key, answer, seconds=seconds)
    body, status, headers = answer
    return body, status, {**headers, "X-Auth-Cache": "MISS"}

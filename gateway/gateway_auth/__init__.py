"""gateway-auth: nginx's `auth_request` target. It verifies the bearer token with the
shared code and tells nginx who the caller is, or why they are refused.

Verdicts are reused at two levels, each keyed by a SHA-256 (the token is never a key):
- here, in memory, per worker, keyed by (policy, operators' phase, Authorization header),
  for as long as the issuer's answer they were made from stays fresh (at most 30 s);
- in nginx's `proxy_cache` (gateway/nginx.conf.template), keyed by (policy, token digest),
  until the end of the current second at most (`X-Accel-Expires`), so a burst of requests
  with one token makes one call into Python per second instead of one per request. nginx's
  key cannot include the operators' phase, hence the short reuse: a phase change reaches
  the gateway at most a second later than it reaches this process."""
import hashlib
import math
import threading
import time

from cachetools import TLRUCache
from flask import Blueprint, Flask, current_app, request

from travel_platform.auth import Identity
from travel_platform.auth.operator_logins import OperatorLogins
from travel_platform.auth.tokens import AGENT, OPERATOR
from travel_platform.db import create_rds_pool, ping
from travel_platform.errors import APIError, NotFound, status_and_code
from travel_platform.settings import BaseServiceSettings, RdsSettings, load_settings
from travel_platform.web import (
    admit_operators,
    authenticate,
    configure_service,
    register_health,
    verdict_fresh_for,
)

SERVICE_NAME = "gateway-auth"
# Which kinds of caller a route family admits; gateway/gateway_config names each family's
# policy. Which issuers an operator's token may come from follows their move to Cognito
# (OperatorLogins).
POLICIES = {"agent": {AGENT}, "operator": {OPERATOR}, "any": {AGENT, OPERATOR}}
PUBLIC = "public"
# A verdict is reused for at most this long, never past the token's expiry, and never longer
# than the issuer's answer it was made from stays fresh (travel_platform.auth.revocation): so
# the gateway adds nothing to the time a signed-out or deleted user's token keeps working.
MAX_CACHE_SECONDS = 30
# nginx reuses a verdict at most this long (and never past the verdict's own end).
NGINX_REUSE_SECONDS = 1
MAX_CACHED_VERDICTS = 100_000

blueprint = Blueprint("verify", __name__)


class GatewayAuthSettings(BaseServiceSettings, RdsSettings):
    """Token issuers, and RDS, where it reads which issuers operators use now and which
    operator a sign-in of the operators' pool is (a role that may read only those)."""


class VerdictCache:
    """Verdicts by a digest of (policy, Authorization header), each kept for the seconds it
    was given; bounded, thread-safe, per worker."""

    def __init__(self, *, maxsize: int = MAX_CACHED_VERDICTS):
        self._entries: TLRUCache = TLRUCache(
            maxsize=maxsize, ttu=lambda _key, entry, now: now + entry[0], timer=time.monotonic)
        self._lock = threading.Lock()

    @staticmethod
    def key(policy: str, authorization: str, *, phase: str = "") -> bytes:
        """The digest a verdict is kept under: the token itself is never a key. `phase` (the
        operators' move) is part of it, so `finalize operators` makes no stale verdict."""
        return hashlib.sha256(f"{policy}\n{phase}\n{authorization}".encode()).digest()

    def get(self, key: bytes):
        """(the cached answer, the wall-clock time it may be reused until), or None."""
        with self._lock:
            entry = self._entries.get(key)
        return entry[1:] if entry else None

    def put(self, key: bytes, answer, *, seconds: float, now: float) -> None:
        """Keep `answer` for `seconds` from `now` (wall clock; not at all if 0)."""
        if seconds > 0:
            with self._lock:
                self._entries[key] = (seconds, answer, now + seconds)


def create_app(config: dict | None = None) -> Flask:
    """Build the verifier app; `config` overrides environment settings."""
    settings = load_settings(GatewayAuthSettings, config)
    app = Flask(__name__)
    configure_service(app, name=SERVICE_NAME, settings=settings)
    rds = create_rds_pool(settings, name=SERVICE_NAME)
    admit_operators(app, OperatorLogins(rds))
    app.extensions["verdicts"] = VerdictCache()
    register_health(app, checks={"rds": lambda: ping(rds)})
    app.register_blueprint(blueprint)
    return app


def _header_safe(text: str) -> str:
    # nginx pastes these into a JSON body and a header: keep them plain.
    return "".join(c for c in text if c.isprintable() and c not in '"\\')[:200]


def _refusal(error: APIError):
    status, code = status_and_code(error)
    return "", status, {"X-Auth-Error-Code": code,
                        "X-Auth-Error-Message": _header_safe(error.message)}


def cache_seconds(identity: Identity, *, fresh_for: float, now: float) -> float:
    """How long a verdict on `identity` may be reused: at most MAX_CACHE_SECONDS, not past
    the token's expiry, not past the freshness of the issuer's answer (`fresh_for`)."""
    return max(0.0, min(MAX_CACHE_SECONDS, identity.expires_at - now, fresh_for))


def nginx_expires(until: float, *, now: float) -> str:
    """The `X-Accel-Expires` that lets nginx reuse a verdict good until `until`: an absolute
    time ("@seconds"), since nginx counts in whole seconds and keeps an entry while its
    clock's second is <= that value. So "@s" means "until s + 1", and s is chosen to make
    that no later than `until` nor NGINX_REUSE_SECONDS from now. "0" (not at all) when
    less than that is left."""
    last_second = math.floor(min(until, now + NGINX_REUSE_SECONDS)) - 1
    return f"@{last_second}" if last_second >= math.floor(now) else "0"


def _decide(policy: str, allowed: set[str]):
    """(seconds the answer may be reused, answer) for the request's token under `policy`."""
    try:
        identity = authenticate()
    except APIError as error:
        return 0, _refusal(error)  # a refusal is never reused: the next token may be fixed
    seconds = cache_seconds(identity, fresh_for=verdict_fresh_for(), now=time.time())
    if identity.kind not in allowed:
        wanted = " or ".join(f"an {kind}'s" for kind in sorted(allowed))
        return seconds, ("", 403, {
            "X-Auth-Error-Code": "wrong_token_issuer",
            "X-Auth-Error-Message": f"this route needs {wanted} token"})
    return seconds, ("", 200, {"X-Auth-Source": identity.source,
                               "X-Auth-Subject": identity.subject})


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
    try:
        phase = current_app.extensions["operator_logins"].state() if authorization else ""
    except APIError as error:
        return _refusal(error)
    key = VerdictCache.key(policy, authorization or "", phase=phase)
    now = time.time()
    cached = verdicts.get(key) if authorization else None
    if cached is not None:
        (body, status, headers), until = cached
        return body, status, {**headers, "X-Auth-Cache": "HIT",
                              "X-Accel-Expires": nginx_expires(until, now=now)}
    seconds, answer = _decide(policy, allowed)
    verdicts.put(key, answer, seconds=seconds, now=now)
    body, status, headers = answer
    return body, status, {**headers, "X-Auth-Cache": "MISS",
                          "X-Accel-Expires": nginx_expires(now + seconds, now=now)}

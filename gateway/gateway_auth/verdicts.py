"""Verdicts reused at two levels, each keyed by a SHA-256 (the token is never a key):
- here, in memory, per worker, keyed by (policy, operators' phase, Authorization header),
  for as long as the issuer's answer they were made from stays fresh (at most 30 s);
- in nginx's `proxy_cache` (gateway/nginx.conf.template), keyed by (policy, token digest),
  until the end of the current second at most (`X-Accel-Expires`), so a burst of requests
  with one token makes one call into Python per second instead of one per request. nginx's
  key cannot include the operators' phase, hence the short reuse: a phase change reaches
  the gateway at most a second later than it reaches this process."""
import hashlib
import math

from travel_platform.auth import Identity
from travel_platform.auth.reuse import Reused

# A verdict is reused for at most this long, never past the token's expiry, and never longer
# than the issuer's answer it was made from stays fresh (travel_platform.auth.revocation): so
# the gateway adds nothing to the time a signed-out or deleted user's token keeps working.
MAX_CACHE_SECONDS = 30
# nginx reuses a verdict at most this long (and never past the verdict's own end).
NGINX_REUSE_SECONDS = 1
MAX_CACHED_VERDICTS = 100_000


class VerdictCache(Reused):
    """Verdicts by a digest of (policy, Authorization header), each kept for the seconds it
    was given; bounded, thread-safe, per worker."""

    def __init__(self, *, maxsize: int = MAX_CACHED_VERDICTS):
        super().__init__(maxsize=maxsize)

    @staticmethod
    def key(policy: str, authorization: str, *, phase: str = "") -> bytes:
        """The digest a verdict is kept under: the token itself is never a key. `phase` (the
        operators' move) is part of it, so `finalize operators` makes no stale verdict."""
        return hashlib.sha256(f"{policy}\n{phase}\n{authorization}".encode()).digest()


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

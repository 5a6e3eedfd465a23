"""A cached, rate-limited JWKS client: one per issuer, shared by all threads of a worker."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import jwt
from jwt import PyJWK, PyJWKClient

from travel_platform.errors import ServiceUnavailable, Unauthorized
from travel_platform.metrics import count_jwks_fetch

log = logging.getLogger(__name__)


class JwksCache:
    """Signing keys of one JWKS endpoint, refetched on expiry or on an unknown `kid`."""

    def __init__(self, url: str, *, min_refresh_interval: float = 10.0, timeout: float = 2.0,
                 lifespan: float = 300, clock: Callable[[], float] = time.monotonic):
        # PyJWKClient does the HTTP and parsing (http(s) only, no redirects); the caching
        # and the refetch throttle are ours so that tests can drive them with `clock`.
        self.url = url
        self._client = PyJWKClient(url, cache_jwk_set=False, timeout=timeout)
        self._min_refresh_interval = min_refresh_interval
        self._lifespan = lifespan
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None      # last successful fetch
        self._attempted_at: float | None = None    # last fetch, successful or not
        self._failed = False

    def get_key(self, kid: str) -> PyJWK:
        """Return the signing key with this `kid`; 401 token_unknown_key, 503 if unreachable."""
        keys, now = self._keys, self._clock()
        if kid in keys and not self._expired(now):
            return keys[kid]          # fast path: no lock while the cache is fresh
        with self._lock:
            now = self._clock()
            if self._expired(now) or kid not in self._keys:
                self._refresh(now)
            key, failed = self._keys.get(kid), self._failed
        if key is None and failed:
            # We could not ask the issuer, so we cannot tell a rotated key from a bogus one.
            raise ServiceUnavailable("the token signing keys are unavailable, try again shortly")
        if key is None:
            raise Unauthorized("the token was signed with an unknown key", code="token_unknown_key")
        return key

    def _expired(self, now: float) -> bool:
        return self._fetched_at is None or now - self._fetched_at >= self._lifespan

    def _refresh(self, now: float) -> None:
        # Whatever the outcome, fetch at most once per interval: a flood of bogus kids, or of
        # requests during an outage, must not become a flood of requests to the endpoint.
        if self._attempted_at is not None and now - self._attempted_at < self._min_refresh_interval:
            return
        self._attempted_at = now
        try:
            jwk_set = self._client.get_jwk_set(refresh=True)
        except (jwt.PyJWTError, OSError, ValueError) as error:   # ValueError: body not JSON
            # Known keys stay usable: an outage of the issuer must not log everyone out.
            self._failed = True
            count_jwks_fetch(self.url, "failed")
            log.warning("JWKS fetch from %s failed: %s", self.url, error)
            return
        self._failed = False
        self._fetched_at = now
        count_jwks_fetch(self.url, "ok")
        self._keys = {k.key_id: k for k in jwk_set.keys
                      if k.key_id and k.public_key_use in ("sig", None)}

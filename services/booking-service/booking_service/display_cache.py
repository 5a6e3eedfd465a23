"""Package and agent details recently fetched for a caller, kept for a few seconds, so a
dashboard that reloads its bookings does not ask the other services again each time.

Only what a page *shows* (titles, stops, agency names) is cached; what a booking is
checked and priced against is always fetched fresh. Entries are per caller, because what
a caller may see of a package depends on who they are. A request with
`Cache-Control: no-cache` skips the cache (and refills it)."""
from __future__ import annotations

import threading
from collections.abc import Hashable, Iterable

from cachetools import TTLCache


class DisplayCache:
    """A bounded, thread-safe cache of display details per (caller, kind, key)."""

    def __init__(self, *, ttl: float, maxsize: int = 50_000):
        self.enabled = ttl > 0
        self._entries: TTLCache = TTLCache(maxsize=maxsize, ttl=max(ttl, 0.001))
        self._lock = threading.Lock()

    def get_many(self, caller: str, kind: str, keys: Iterable[Hashable]) -> tuple[dict, set]:
        """(found entries by key, keys that must be fetched)."""
        found, missing = {}, set()
        with self._lock:
            for key in keys:
                value = self._entries.get((caller, kind, key)) if self.enabled else None
                if value is None:
                    missing.add(key)
                else:
                    found[key] = value
        return found, missing

    def put_many(self, caller: str, kind: str, values: dict) -> None:
        """Remember freshly fetched entries."""
        if not self.enabled:
            return
        with self._lock:
            for key, value in values.items():
                self._entries[(caller, kind, key)] = value

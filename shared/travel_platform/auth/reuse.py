"""Answers about a token kept for a few seconds each, under a digest (never the token itself):
gateway-auth's verdicts (gateway_auth/verdicts.py) and each service's verified tokens
(tokens.TokenVerifier)."""
from __future__ import annotations

import threading
import time
from typing import Any

from cachetools import TLRUCache


class Reused:
    """Values by key, each kept for the seconds it was given and then forgotten; bounded
    (least recently used first out), thread-safe, one per process."""

    def __init__(self, *, maxsize: int):
        self._entries: TLRUCache = TLRUCache(
            maxsize=maxsize, ttu=lambda _key, entry, now: now + entry[0], timer=time.monotonic)
        self._lock = threading.Lock()

    def get(self, key: bytes) -> tuple[Any, float] | None:
        """(the value, the wall-clock time it may be reused until), or None."""
        with self._lock:
            entry = self._entries.get(key)
        return entry[1:] if entry else None

    def put(self, key: bytes, value: Any, *, seconds: float, now: float) -> None:
        """Keep `value` for `seconds` from `now` (wall clock; not at all if 0 or less)."""
        if seconds > 0:
            with self._lock:
                self._entries[key] = (seconds, value, now + seconds)

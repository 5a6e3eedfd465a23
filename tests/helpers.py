"""Small helpers for integration tests."""
from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path

import requests

# The checkout the tests run from.
REPO = Path(__file__).resolve().parent.parent
# Text that must never be stored for display (shared/travel_platform/text.py and the databases'
# is_display_text), and names in many scripts that must always be accepted.
HOSTILE_TEXT = {
    "carriage return": "Ana\rSilva", "line feed": "Ana\nSilva", "tab": "Ana\tSilva",
    "escape code": "\x1b[31mAna\x1b[0m", "bell": "Ana\x07", "delete": "Ana\x7f",
    "C1 control": "Ana\x85Silva", "right-to-left override": "licence\u202efdp.exe",
    "left-to-right embedding": "\u202aAna", "isolate": "Ana\u2067x\u2069",
    "right-to-left mark": "Ana\u200f", "arabic letter mark": "Ana\u061c",
    "line separator": "Ana\u2028Silva", "paragraph separator": "Ana\u2029Silva",
}
DISPLAYABLE_TEXT = ["Ana Silva", "Zoë Ångström-Øre", "José da Conceição", "محمد علي", "李小龙",
                    "Ana 👩‍👩‍👧", "O'Brien & Sons, Lda."]



def bearer(token: str) -> dict[str, str]:
    """Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


def api(gateway: str, method: str, path: str, token: str | None = None, **kwargs):
    """One request (through the gateway, or to any base URL), with an optional token."""
    headers = {**(bearer(token) if token else {}), **kwargs.pop("headers", {})}
    return requests.request(method, f"{gateway}{path}", headers=headers,
                            timeout=kwargs.pop("timeout", 15), **kwargs)


class _SourceAddress(requests.adapters.HTTPAdapter):
    def __init__(self, address: str):
        self._address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, source_address=(self._address, 0), **kwargs)


def clear_of_window_edge(window_seconds: int, *, margin: float = 10) -> None:
    """Wait, if need be, until at least `margin` seconds are left in the current fixed
    window (windows start at multiples of `window_seconds` since the epoch, as the limits
    count them), so a burst a test counts falls in one window, not across two."""
    left = window_seconds - time.time() % window_seconds
    if left < margin:
        time.sleep(left + 0.1)


def client_at(address: str) -> requests.Session:
    """A session whose requests come from `address` (any of 127.0.0.0/8 on this machine):
    another client address, as far as the gateway's per-address limits can tell."""
    session = requests.Session()
    session.mount("http://", _SourceAddress(address))
    return session


def access_log(logs: Path, part: str) -> list[dict]:
    """The JSON lines of a part's access log (gunicorn's or nginx's)."""
    name = "gateway.access.log" if part == "gateway" else f"{part}.access.log"
    path = logs / name
    if not path.exists():
        return []
    # The text after the last newline may be a line still being written: not yet a line.
    complete = path.read_text().split("\n")[:-1]
    return [json.loads(line) for line in complete if line.strip()]


def logged_request_ids(logs: Path, part: str, *, settle: float = 0.3) -> set[str]:
    """Request ids a part has logged (after giving buffered log lines a moment)."""
    time.sleep(settle)
    return {entry["request_id"] for entry in access_log(logs, part) if "request_id" in entry}


def b64url(data: bytes) -> str:
    """Unpadded base64url, as in JWTs."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_parts(token: str) -> tuple[dict, dict, str]:
    """Header and payload of a JWT (unverified) and its signature segment."""
    header, payload, signature = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (json.loads(base64.urlsafe_b64decode(pad(header))),
            json.loads(base64.urlsafe_b64decode(pad(payload))), signature)


def forge(header: dict, payload: dict, signature: str = "") -> str:
    """A JWT from parts, with whatever signature segment is given."""
    return ".".join([b64url(json.dumps(header).encode()), b64url(json.dumps(payload).encode()),
                     signature])


class Loops:
    """`body()` called again and again in `threads` threads, from the `with` block's start
    until its end (a client load running while a test does something else)."""

    def __init__(self, body, *, threads: int):
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, args=(body,))
                         for _ in range(threads)]

    def _loop(self, body) -> None:
        while not self._stop.is_set():
            body()

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join()

"""gunicorn's own error answers in the one JSON error shape, instead of its HTML page.

gunicorn answers by itself the requests it cannot parse, before any app sees them: too
many headers (431), a header or request line too long (431, 414), a malformed request
line (400), an unsupported transfer coding (501). It has no hook for these answers: it
writes every one with `gunicorn.util.write_error`, which `install` replaces in each worker
(`post_worker_init` in shared/travel_platform/gunicorn/config.py)."""
from __future__ import annotations

import json

from gunicorn import util

from travel_platform.errors import code_for_status


def error_response(status: int, reason: str, message: str) -> bytes:
    """A whole HTTP/1.1 answer carrying the shared error shape (no request id: gunicorn
    could not read the request that would carry one)."""
    body = json.dumps({"error": {"status": status, "code": code_for_status(status),
                                 "message": message or reason, "request_id": None}}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """Drop-in for `gunicorn.util.write_error` (same arguments)."""
    util.write_nonblock(sock, error_response(status_int, reason, mesg))


def install() -> None:
    """Make this process's gunicorn write its own errors as JSON."""
    util.write_error = write_json_error

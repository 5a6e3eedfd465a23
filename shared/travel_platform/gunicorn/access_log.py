"""gunicorn's access log as one JSON object per line, whatever a client puts in its path
or headers (a format string would let a crafted path break or forge log lines)."""
from __future__ import annotations

import json
import traceback
from datetime import UTC, datetime

from gunicorn.glogging import Logger


class JsonAccessLogger(Logger):
    """Access lines carry the gateway's request id and the identity it claimed (for audit;
    services verify the token themselves)."""

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "request_id": environ.get("HTTP_X_REQUEST_ID", "-"),
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "status": int(status),
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 3),
            "gateway_source": environ.get("HTTP_X_AUTH_SOURCE", "-"),
            "gateway_subject": environ.get("HTTP_X_AUTH_SUBJECT", "-"),
        }
        try:
            self.access_log.info(json.dumps(entry))
        except Exception:
            self.error(traceback.format_exc())

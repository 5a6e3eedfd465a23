"""JSON logs that carry the request id, and the request id itself."""
from __future__ import annotations

import json
import logging
import re
import sys
import uuid

from flask import Flask, g, has_request_context, request

from travel_platform import call_context

REQUEST_ID_HEADER = "X-Request-ID"
# Accept the caller's id only if it looks like one: it ends up in every log line.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the service name and the current request id."""

    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"), "level": record.levelname,
                 "service": self.service, "logger": record.name, "message": record.getMessage()}
        request_id = current_request_id()
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every log record to stderr as JSON."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def current_request_id() -> str | None:
    """The id of the request being served (also in threads it started), if any."""
    return call_context.current().request_id or (
        g.get("request_id") if has_request_context() else None)


def register_request_id(app: Flask) -> None:
    """Take the gateway's X-Request-ID (or make one) and echo it on the response."""

    @app.before_request
    def assign_request_id():
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex

    @app.after_request
    def echo_request_id(response):
        response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
        return response

"""One error shape for every service: exceptions map to (status, code) in one table.

Every failure a client sees is a JSON body of this form, whatever produced it
(a rule in a service, Flask's own 404/405, an unhandled exception, or nginx):

    {"error": {"status": 404, "code": "not_found", "message": "...",
               "request_id": "...", "details": [...]}}
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class APIError(Exception):
    """Base for errors a client may see; subclasses are listed in ERROR_TABLE."""

    default_message = "request failed"

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 details: list[Any] | None = None, headers: dict[str, str] | None = None):
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.code = code
        self.details = details
        self.headers = headers or {}


class BadRequest(APIError):
    default_message = "the request is malformed"


class Unauthorized(APIError):
    default_message = "a valid bearer token is required"


class Forbidden(APIError):
    default_message = "you may not do this"


class NotFound(APIError):
    default_message = "not found"


class Conflict(APIError):
    default_message = "the request conflicts with the current state"


class InvalidTransition(Conflict):
    """A status change the resource's current status does not allow. Every service answers
    it alike (409, `invalid_status_transition`, the current status in `details`), so a
    client handles an illegal approve, publish or cancel with one piece of code."""

    def __init__(self, message: str, *, current_status: str, **details: Any):
        super().__init__(message, code="invalid_status_transition",
                         details=[{"current_status": current_status, **details}])


class PayloadTooLarge(APIError):
    default_message = "the request body is too large"


class Unprocessable(APIError):
    default_message = "the request is well-formed but breaks a rule"


class TooManyRequests(APIError):
    """A rate limit refused the request; `Retry-After` says when to try again."""

    default_message = "too many requests, try again later"

    def __init__(self, message: str | None = None, *, retry_after: int, **kwargs: Any):
        super().__init__(message, headers={"Retry-After": str(max(1, retry_after))}, **kwargs)


class ServiceUnavailable(APIError):
    default_message = "a dependency is unavailable, try again shortly"


# The one table: exception class -> (HTTP status, default error code).
ERROR_TABLE: dict[type[APIError], tuple[int, str]] = {
    BadRequest: (400, "bad_request"),
    Unauthorized: (401, "unauthorized"),
    Forbidden: (403, "forbidden"),
    NotFound: (404, "not_found"),
    Conflict: (409, "conflict"),
    PayloadTooLarge: (413, "payload_too_large"),
    Unprocessable: (422, "unprocessable"),
    TooManyRequests: (429, "too_many_requests"),
    ServiceUnavailable: (503, "service_unavailable"),
}

# Werkzeug's own HTTP errors (routing 404, 405, 413 from MAX_CONTENT_LENGTH...) keep
# their status and get a code in the same style.
_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
               414: "uri_too_long", 415: "unsupported_media_type", 417: "expectation_failed",
               422: "unprocessable", 429: "too_many_requests", 431: "header_too_large",
               500: "internal_error", 501: "not_implemented"}


def code_for_status(status: int) -> str:
    """The error code of an HTTP status that no rule of ours named (Werkzeug's, gunicorn's)."""
    return _HTTP_CODES.get(status, "http_error")


def status_and_code(error: APIError) -> tuple[int, str]:
    """Look up the (status, code) of an APIError, walking up its class hierarchy."""
    for cls in type(error).__mro__:
        if cls in ERROR_TABLE:
            status, code = ERROR_TABLE[cls]
            return status, error.code or code
    return 500, "internal_error"


def error_body(status: int, code: str, message: str, details: list[Any] | None = None) -> dict:
    """Build the JSON error document shared by all services."""
    body: dict[str, Any] = {"status": status, "code": code, "message": message,
                            "request_id": g.get("request_id")}
    if details:
        body["details"] = details
    return {"error": body}


def error_response(status: int, code: str, message: str, details: list[Any] | None = None,
                   headers: dict[str, str] | None = None):
    """A Flask response carrying the shared error shape."""
    response = jsonify(error_body(status, code, message, details))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register_error_handlers(app: Flask) -> None:
    """Make every failure of the app answer in the shared JSON shape, never HTML."""

    @app.errorhandler(APIError)
    def handle_api_error(error: APIError):
        status, code = status_and_code(error)
        return error_response(status, code, error.message, error.details, error.headers)

    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException):
        status = error.code or 500
        code = code_for_status(status)
        methods = getattr(error, "valid_methods", None)
        headers = {"Allow": ", ".join(methods)} if methods else {}
        return error_response(status, code, error.description or code, headers=headers)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        log.exception("unhandled error")
        return error_response(500, "internal_error", "an unexpected error occurred")

"""Every failure of a service is the shared JSON error shape, never HTML."""
from __future__ import annotations

import io
import json

import pytest
from flask import Flask
from pydantic import BaseModel, ConfigDict

from travel_platform.api import body
from travel_platform.errors import Conflict, NotFound, ServiceUnavailable, register_error_handlers
from travel_platform.gunicorn.errors import error_response
from travel_platform.observability import register_request_id


class Thing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


@pytest.fixture
def client():
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 100
    register_request_id(app)
    register_error_handlers(app)

    @app.get("/missing")
    def missing():
        raise NotFound("no such package", code="package_not_found")

    @app.get("/conflict")
    def conflict():
        raise Conflict()

    @app.get("/down")
    def down():
        raise ServiceUnavailable("operator-service is unavailable")

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail")

    @app.post("/things")
    @body(Thing)
    def things(body):
        return {"name": body.name}

    return app.test_client()


@pytest.mark.parametrize("path, status, code", [
    ("/missing", 404, "package_not_found"), ("/conflict", 409, "conflict"),
    ("/down", 503, "service_unavailable"), ("/boom", 500, "internal_error"),
    ("/no-route", 404, "not_found")])
def test_errors_have_one_json_shape(client, path, status, code):
    response = client.get(path, headers={"X-Request-ID": "req-12345678"})
    assert response.status_code == status
    assert response.is_json
    error = response.get_json()["error"]
    assert error["status"] == status and error["code"] == code
    assert error["request_id"] == "req-12345678"


def test_unhandled_exception_does_not_leak_details(client):
    assert "secret detail" not in client.get("/boom").get_data(as_text=True)


def test_wrong_method_is_json_405_with_allow(client):
    response = client.delete("/missing")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_oversized_body_is_json_413(client):
    response = client.post("/things", data="x" * 500, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


def test_oversized_body_of_another_type_is_413_not_400(client):
    response = client.post("/things", data="x" * 500, content_type="text/plain")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


def test_oversized_chunked_body_is_413_not_truncated_json(client):
    # No Content-Length (chunked): the server terminates the stream (gunicorn sets
    # wsgi.input_terminated), and Werkzeug stops reading at the limit.
    response = client.post("/things", input_stream=io.BytesIO(b'{"name": "' + b"x" * 500),
                           content_type="application/json",
                           headers={"Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


def test_gunicorns_own_errors_are_the_json_shape():
    head, body = error_response(431, "Request Header Fields Too Large",
                                "Error parsing headers: 'limit request headers fields'"
                                ).split(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 ") and b"Content-Type: application/json" in head
    assert f"Content-Length: {len(body)}".encode() in head
    assert json.loads(body)["error"] == {
        "status": 431, "code": "header_too_large", "request_id": None,
        "message": "Error parsing headers: 'limit request headers fields'"}


@pytest.mark.parametrize("body, fields", [({"name": 3}, {"name"}), ({}, {"name"}),
                                          ({"name": "a", "extra": 1}, {"extra"})])
def test_invalid_bodies_list_each_bad_field(client, body, fields):
    response = client.post("/things", json=body)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert {d["field"] for d in error["details"]} == fields


def test_non_json_body_is_400(client):
    response = client.post("/things", data="not json", content_type="text/plain")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_json"


def test_a_bad_request_id_is_replaced(client):
    response = client.get("/missing", headers={"X-Request-ID": "bad id with spaces"})
    assert response.headers["X-Request-ID"] != "bad id with spaces"
    assert len(response.headers["X-Request-ID"]) == 32


def test_nul_characters_are_refused_with_the_field_named(client):
    response = client.post("/things", json={"name": "a\x00b"})
    assert response.status_code == 400
    assert response.get_json()["error"]["details"] == [
        {"field": "name", "problem": "must not contain NUL characters"}]


@pytest.mark.parametrize("levels", [33, 1000, 100_000])
def test_deeply_nested_json_is_400_not_500(client, levels):
    # 1000 levels is 2 KB: Python's JSON parser raises RecursionError; fewer levels would
    # reach the recursive walks after it.
    client.application.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    response = client.post("/things", data="[" * levels + "]" * levels,
                           content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "too_deeply_nested"


def test_json_nested_as_deep_as_allowed_is_validated_as_usual(client):
    nested: object = "x"
    for _ in range(31):
        nested = [nested]
    response = client.post("/things", json={"name": nested})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "validation_failed"

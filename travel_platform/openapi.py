"""The OpenAPI 3 document of a service, generated from its routes and the pydantic models
that validate them (recorded by `travel_platform.api`), served at GET /openapi.json."""
from __future__ import annotations

import inspect
import re
from typing import Any

from flask import Blueprint, Flask, jsonify
from pydantic import BaseModel

from travel_platform.api import API_ATTR

_REF = "#/components/schemas/{model}"
_CONVERTERS = {"uuid": {"type": "string", "format": "uuid"}, "int": {"type": "integer"},
               "string": {"type": "string"}, "default": {"type": "string"},
               "path": {"type": "string"}}
ERROR_SCHEMA = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["status", "code", "message"],
                             "properties": {"status": {"type": "integer"},
                                            "code": {"type": "string"},
                                            "message": {"type": "string"},
                                            "request_id": {"type": ["string", "null"]},
                                            "details": {"type": "array", "items": {}}}}}}
_ERROR_TEXT = {400: "Invalid input", 401: "Missing or invalid bearer token",
               403: "Not allowed for this caller", 404: "Not found",
               409: "Conflicts with the current state", 503: "A dependency is unavailable"}


class _Document:
    def __init__(self):
        self.schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}

    def ref(self, model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template=_REF)
        self.schemas.update(schema.pop("$defs", {}))
        self.schemas[model.__name__] = schema
        return {"$ref": _REF.format(model=model.__name__)}

    def query_parameters(self, model: type[BaseModel]) -> list[dict]:
        schema = model.model_json_schema(ref_template=_REF)
        self.schemas.update(schema.pop("$defs", {}))
        required = set(schema.get("required", []))
        return [{"name": name, "in": "query", "required": name in required, "schema": prop,
                 **({"description": prop["description"]} if "description" in prop else {})}
                for name, prop in schema.get("properties", {}).items()]


def _path_and_parameters(rule) -> tuple[str, list[dict]]:
    params = []
    for converter, args, name in re.findall(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>", rule.rule):
        schema: dict[str, Any] = _CONVERTERS.get(converter or "default", {"type": "string"})
        if converter == "any":  # <any(a, b):name> takes one of the listed words
            schema = {"type": "string", "enum": [a.strip() for a in args.split(",")]}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule.rule), params


def _operation(doc: _Document, endpoint: str, view, path_params: list[dict]) -> dict:
    meta = getattr(view, API_ATTR, {})
    # The docstring's first paragraph is the summary, the rest the description.
    summary, _, rest = inspect.cleandoc(view.__doc__ or endpoint).partition("\n\n")
    # Operations are grouped by blueprint: agents, packages, internal, health...
    op: dict[str, Any] = {"operationId": endpoint.replace(".", "_"),
                          "summary": " ".join(summary.split()),
                          "tags": [endpoint.split(".")[0]], "parameters": list(path_params)}
    if rest.strip():
        op["description"] = rest.strip()
    errors = set()
    if "query" in meta:
        op["parameters"] += doc.query_parameters(meta["query"])
        errors.add(400)
    if "body" in meta:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": doc.ref(meta["body"])}}}
        errors.add(400)
    if "security" in meta:
        op["security"] = [{"bearerAuth": []}]
        op["x-token-issuers"] = list(meta["security"])
        errors.update({401, 403})
    if path_params:
        errors.add(404)
    responses = {}
    for status, (model, description) in sorted(meta.get("responses", {}).items()):
        response = {"description": description or "OK"}
        if model is not None:
            response["content"] = {"application/json": {"schema": doc.ref(model)}}
        responses[str(status)] = response
    if not any(s.startswith("2") for s in responses):
        responses["200"] = {"description": "OK", "content": {"application/json": {"schema": {}}}}
    for status in sorted(errors | {503}):
        responses.setdefault(str(status), {
            "description": _ERROR_TEXT[status],
            "content": {"application/json": {"schema": {"$ref": _REF.format(model="Error")}}}})
    if not op["parameters"]:
        del op["parameters"]
    op["responses"] = responses
    return op


def build_openapi(app: Flask, *, title: str, version: str, description: str = "") -> dict:
    """The OpenAPI 3.1 document of every route of `app`."""
    doc = _Document()
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        path, path_params = _path_and_parameters(rule)
        view = app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(
                doc, rule.endpoint, view, path_params)
    return {"openapi": "3.1.0",
            "info": {"title": title, "version": version, "description": description},
            "paths": paths,
            "components": {"schemas": doc.schemas, "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}}}


def register_openapi(app: Flask, *, title: str, version: str = "1.0.0",
                     description: str = "") -> None:
    """Serve the service's OpenAPI document at GET /openapi.json (public)."""
    bp = Blueprint("openapi", __name__)
    cache: dict[str, dict] = {}

    @bp.get("/openapi.json")
    def openapi_document():
        """This service's OpenAPI 3 document."""
        if "doc" not in cache:
            cache["doc"] = build_openapi(app, title=title, version=version,
                                         description=description)
        return jsonify(cache["doc"])

    app.register_blueprint(bp)

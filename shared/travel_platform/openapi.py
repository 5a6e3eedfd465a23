"""The OpenAPI 3 document of a service, generated from its routes and the pydantic models
that validate them (recorded by `travel_platform.api`), served at GET /openapi.json."""
from __future__ import annotations

import inspect
import re
from typing import Any

from flask import Blueprint, Flask, jsonify, request
from pydantic import BaseModel

from travel_platform.api import API_ATTR
from travel_platform.auth.tokens import (
    SOURCE_COGNITO,
    SOURCE_COGNITO_OPERATORS,
    SOURCE_SUPABASE,
)

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
# One bearer scheme per token issuer, each saying how a frontend gets its token.
SECURITY_SCHEMES = {
    SOURCE_COGNITO: ("agentToken", {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "Travel agents: a Cognito access token. Get one with POST "
                       "/api/agents/login {email, password} (its `access_token`; renew it "
                       "with POST /api/agents/refresh {refresh_token}); new agents sign up "
                       "with POST /api/agents/signup and confirm with the e-mailed code. Not "
                       "the id token."}),
    SOURCE_COGNITO_OPERATORS: ("operatorToken", {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "Tour operators, once their move to Cognito has started "
                       "(docs/operator-logins.md): an access token of the operators' pool from "
                       "POST /api/operators/login {email, password}, their Supabase Auth "
                       "password (its `access_token`; renew with POST /api/operators/refresh "
                       "{refresh_token}). Before the move, 401 `operator_login_closed`: use "
                       "operatorSupabaseToken."}),
    SOURCE_SUPABASE: ("operatorSupabaseToken", {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "Tour operators, until their move to Cognito is finalized: a "
                       "Supabase Auth access token of the project. With "
                       "supabase-js: createClient(SUPABASE_URL, SUPABASE_ANON_KEY).auth."
                       "signInWithPassword({email, password}), then session.access_token "
                       "(the dashboard's /config.json names both values); over HTTP: POST "
                       "<SUPABASE_URL>/auth/v1/token?grant_type=password with the anon key in "
                       "the `apikey` header. The anon and service-role keys themselves are "
                       "refused."}),
}
# The gateway routes /api/* only: its docs leave out /internal, /ready, /metrics and the like.
GATEWAY_PREFIX = "/api/"
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
            schema = {"type": "string", "enum": [a.strip().strip("'\"") for a in args.split(",")]}
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
    op["parameters"] += meta.get("headers", [])
    if "body" in meta:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": doc.ref(meta["body"])}}}
        errors.add(400)
    if "security" in meta:
        # Any one of the schemes listed will do.
        op["security"] = [{SECURITY_SCHEMES[source][0]: []} for source in meta["security"]]
        op["x-token-issuers"] = list(meta["security"])
        errors.update({401, 403})
    if path_params:
        errors.add(404)
    responses = {}
    for status, (model, description) in sorted(meta.get("responses", {}).items()):
        response: dict[str, Any] = {"description": description or "OK"}
        if model is not None:
            response["content"] = {"application/json": {"schema": doc.ref(model)}}
        elif status >= 400:   # every error has the one error shape
            response["content"] = {"application/json": {"schema": {"$ref": _REF.format(
                model="Error")}}}
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


def build_openapi(app: Flask, *, title: str, version: str, description: str = "",
                  prefix: str = "/") -> dict:
    """The OpenAPI 3.1 document of the routes of `app` under `prefix` (all by default)."""
    doc = _Document()
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static" or not rule.rule.startswith(prefix):
            continue
        path, path_params = _path_and_parameters(rule)
        view = app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(
                doc, rule.endpoint, view, path_params)
    return {"openapi": "3.1.0",
            "info": {"title": title, "version": version, "description": description},
            "paths": paths,
            "components": {"schemas": doc.schemas,
                           "securitySchemes": dict(SECURITY_SCHEMES.values())}}


def register_openapi(app: Flask, *, title: str, version: str = "1.0.0",
                     description: str = "") -> None:
    """Serve the service's OpenAPI document at GET /openapi.json (public); with
    ?scope=gateway only the routes the gateway serves (what its /docs/ shows)."""
    bp = Blueprint("openapi", __name__)
    cache: dict[str, dict] = {}

    @bp.get("/openapi.json")
    def openapi_document():
        """This service's OpenAPI 3 document."""
        scope = "gateway" if request.args.get("scope") == "gateway" else "all"
        if scope not in cache:
            cache[scope] = build_openapi(app, title=title, version=version,
                                         description=description,
                                         prefix=GATEWAY_PREFIX if scope == "gateway" else "/")
        return jsonify(cache[scope])

    app.register_blueprint(bp)

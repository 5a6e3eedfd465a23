"""What a frontend (or a generated client, or Swagger's "Try it out") needs from the
OpenAPI document: how to get each issuer's token, the headers to send, and only the
routes the gateway serves."""
from flask import Blueprint, Flask

from travel_platform.api import header, responds
from travel_platform.openapi import GATEWAY_PREFIX, build_openapi, register_openapi
from travel_platform.web import AGENT, require_identity


def make_app() -> Flask:
    app = Flask(__name__)
    bp = Blueprint("things", __name__, url_prefix="/api/things")

    @bp.post("")
    @responds(201, None, "Made")
    @responds(409, None, "Taken")
    @header("Idempotency-Key", max_length=200, description="one per thing")
    @require_identity(AGENT)
    def make():
        """Make a thing (agents)."""
        return {}, 201

    @bp.get("")
    @require_identity()
    def things():
        """Things (anyone signed in)."""
        return {}

    app.register_blueprint(bp)

    @app.get("/internal/things")
    def internal():
        """For other services."""
        return {}

    return app


def test_each_issuer_has_a_bearer_scheme_saying_how_to_get_its_token():
    doc = build_openapi(make_app(), title="t", version="1")
    schemes = doc["components"]["securitySchemes"]
    assert "/api/agents/login" in schemes["agentToken"]["description"]
    assert "/api/operators/login" in schemes["operatorToken"]["description"]
    assert "signInWithPassword" in schemes["operatorSupabaseToken"]["description"]
    assert doc["paths"]["/api/things"]["post"]["security"] == [{"agentToken": []}]
    assert doc["paths"]["/api/things"]["get"]["security"] == [
        {"agentToken": []}, {"operatorSupabaseToken": []}, {"operatorToken": []}]


def test_a_header_the_route_needs_is_a_declared_parameter():
    op = build_openapi(make_app(), title="t", version="1")["paths"]["/api/things"]["post"]
    [key] = [p for p in op["parameters"] if p["in"] == "header"]
    assert key["name"] == "Idempotency-Key" and key["required"] is True
    assert key["schema"] == {"type": "string", "minLength": 1, "maxLength": 200}


def test_a_documented_error_has_the_one_error_shape():
    op = build_openapi(make_app(), title="t", version="1")["paths"]["/api/things"]["post"]
    assert op["responses"]["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"}
    assert "content" not in op["responses"]["201"]


def test_the_gateways_document_lists_only_what_the_gateway_routes():
    app = make_app()
    assert "/internal/things" in build_openapi(app, title="t", version="1")["paths"]
    public = build_openapi(app, title="t", version="1", prefix=GATEWAY_PREFIX)["paths"]
    assert set(public) == {"/api/things"}
    register_openapi(app, title="t")
    client = app.test_client()
    assert set(client.get("/openapi.json?scope=gateway").get_json()["paths"]) == {"/api/things"}
    assert "/openapi.json" in client.get("/openapi.json").get_json()["paths"]


def test_quoted_choices_in_the_path_are_a_plain_enum():
    app = Flask(__name__)

    @app.post("/api/codes/<any('resend-code', 'forgot-password'):purpose>")
    def send(purpose):
        """Send a code."""
        return {}

    op = build_openapi(app, title="t", version="1")["paths"]["/api/codes/{purpose}"]["post"]
    assert op["parameters"][0]["schema"]["enum"] == ["resend-code", "forgot-password"]

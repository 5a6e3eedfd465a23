"""The OpenAPI document comes from the same models that validate requests."""
from flask import Blueprint, Flask
from pydantic import BaseModel, ConfigDict, Field

from travel_platform.api import body, query, responds
from travel_platform.errors import register_error_handlers
from travel_platform.openapi import build_openapi


class NewThing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=20)


class ThingFilter(BaseModel):
    limit: int = Field(20, ge=1, le=100, description="page size")


class Thing(BaseModel):
    id: int
    name: str


def make_app():
    app = Flask(__name__)
    register_error_handlers(app)
    bp = Blueprint("things", __name__, url_prefix="/api/things")

    @bp.post("")
    @responds(201, Thing, "Created")
    @body(NewThing)
    def create(body):
        """Create a thing.

        Longer words about it."""
        return {"id": 1, "name": body.name}, 201

    @bp.get("/<uuid:thing_id>")
    @query(ThingFilter)
    def show(thing_id, query):
        """One thing."""
        return {"id": 1, "name": str(query.limit)}

    app.register_blueprint(bp)
    return app


def test_request_body_schema_is_the_validating_model():
    doc = build_openapi(make_app(), title="t", version="1")
    op = doc["paths"]["/api/things"]["post"]
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert schema["properties"]["name"]["maxLength"] == 20
    assert schema["additionalProperties"] is False
    assert op["summary"] == "Create a thing." and "Longer words" in op["description"]
    assert set(op["responses"]) == {"201", "400", "503"}


def test_path_and_query_parameters_are_documented():
    op = build_openapi(make_app(), title="t", version="1")["paths"]["/api/things/{thing_id}"]["get"]
    params = {p["name"]: p for p in op["parameters"]}
    assert params["thing_id"]["in"] == "path" and params["thing_id"]["schema"]["format"] == "uuid"
    assert params["limit"]["in"] == "query" and params["limit"]["schema"]["maximum"] == 100


def test_query_validation_uses_the_same_model():
    client = make_app().test_client()
    response = client.get("/api/things/8d0fd2b3-9ca7-4d9e-a95f-9e13dded323e?limit=1000")
    assert response.status_code == 400
    assert response.get_json()["error"]["details"][0]["field"] == "limit"
    ok = client.get("/api/things/8d0fd2b3-9ca7-4d9e-a95f-9e13dded323e?limit=5")
    assert ok.get_json()["name"] == "5"


def test_a_choice_in_the_path_is_an_enum():
    app = make_app()

    @app.post("/api/things/<uuid:thing_id>/<any(open, close):action>")
    def act(thing_id, action):
        """Open or close a thing."""
        return {}

    op = build_openapi(app, title="t", version="1")["paths"]["/api/things/{thing_id}/{action}"]
    params = {p["name"]: p["schema"] for p in op["post"]["parameters"]}
    assert params["action"] == {"type": "string", "enum": ["open", "close"]}
    assert op["post"]["tags"] == ["act"] and op["post"]["summary"] == "Open or close a thing."

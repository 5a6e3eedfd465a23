"""HTTP routes of agent-service: thin, they parse, call the service layer and answer."""
from flask import Blueprint, current_app, jsonify

from shared.api import body
from shared.web import SOURCE_COGNITO, current_identity, require_identity

from agent_service import service
from agent_service.schemas import LoginRequest

blueprint = Blueprint("agents", __name__, url_prefix="/api/agents")


@blueprint.post("/login")
@body(LoginRequest)
def login(body: LoginRequest):
    """Exchange an agent's e-mail and password for Cognito tokens (public route)."""
    settings = current_app.config["SETTINGS"]
    return jsonify(service.login(settings=settings, email=body.email, password=body.password))


@blueprint.get("/me")
@require_identity(SOURCE_COGNITO)
def me():
    """The calling agent: verified identity and profile."""
    with current_app.extensions["rds"].connection() as conn:
        return jsonify(service.describe_agent(conn=conn, identity=current_identity()))

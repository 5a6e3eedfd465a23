"""HTTP routes of agent-service: thin, they parse, call the service layer and answer.
One module per route family (routes_<family>.py, its rules in <family>.py); this one holds
what they share and mounts them.

The /api/agents families share one blueprint, `agents`: the OpenAPI document names each
operation after its blueprint and view (`agents_sign_up`), and those names are public."""
from flask import Blueprint, Flask, Response, current_app

agents = Blueprint("agents", __name__, url_prefix="/api/agents")


def register_blueprints(app: Flask) -> None:
    """Mount every route family of the service."""
    # Imported here: each family module adds its routes to `agents` when imported.
    from agent_service import (  # noqa: F401
        routes_accounts,
        routes_administration,
        routes_documents,
        routes_lookup,
        routes_profiles,
    )
    app.register_blueprint(agents)
    app.register_blueprint(routes_lookup.internal)


def rds_pool():
    """The connection pool of RDS (travel_agent_db)."""
    return current_app.extensions["rds"]


def cognito_accounts():
    """The agents' Cognito pool."""
    return current_app.extensions["cognito_accounts"]


def document_store():
    """The S3 bucket of agents' documents."""
    return current_app.extensions["document_store"]


def no_content() -> Response:
    """204."""
    return Response(status=204)

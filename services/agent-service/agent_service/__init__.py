"""agent-service: travel agents and their documents, on RDS + Cognito + S3."""
from flask import Flask

from shared.db import create_rds_pool, ping
from shared.settings import load_settings
from shared.web import configure_service, register_health

from agent_service.routes import blueprint
from agent_service.settings import AgentSettings

SERVICE_NAME = "agent-service"


def create_app(config: dict | None = None) -> Flask:
    """Build the agent-service app; `config` overrides environment settings."""
    settings = load_settings(AgentSettings, config)
    app = Flask(__name__)
    configure_service(app, name=SERVICE_NAME, settings=settings)
    pool = create_rds_pool(settings, name=SERVICE_NAME)
    app.extensions["rds"] = pool
    register_health(app, checks={"rds": lambda: ping(pool)})
    app.register_blueprint(blueprint)
    return app

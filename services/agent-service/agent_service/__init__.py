"""agent-service: travel agents and their documents, on RDS + Cognito + S3."""
from flask import Flask

from agent_service.backends import attempt_limit, open_cognito_accounts, open_document_store
from agent_service.routes import register_blueprints
from agent_service.settings import AgentSettings
from travel_platform.auth.operator_logins import OperatorLogins
from travel_platform.db import create_rds_pool, ping
from travel_platform.settings import load_settings
from travel_platform.web import admit_operators, configure_service, register_health

SERVICE_NAME = "agent-service"


def create_app(config: dict | None = None) -> Flask:
    """Build the agent-service app; `config` overrides environment settings."""
    settings = load_settings(AgentSettings, config)
    app = Flask(__name__)
    configure_service(app, name=SERVICE_NAME, settings=settings)
    pool = create_rds_pool(settings, name=SERVICE_NAME)
    admit_operators(app, OperatorLogins(pool))
    app.extensions.update(rds=pool, cognito_accounts=open_cognito_accounts(settings),
                          document_store=open_document_store(settings),
                          attempt_limit=attempt_limit(settings))
    register_health(app, checks={"rds": lambda: ping(pool)})
    register_blueprints(app)
    return app

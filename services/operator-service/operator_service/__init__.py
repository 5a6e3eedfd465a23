"""operator-service: tour operators' multi-city hotel packages, on Supabase and, table by
table as they move (`python -m migrate`), on RDS."""
from flask import Flask

from operator_service.backends import open_data_sources, open_operator_accounts
from operator_service.routes import register_blueprints
from operator_service.settings import OperatorSettings
from travel_platform.auth.operator_logins import OperatorLogins
from travel_platform.db import create_rds_pool
from travel_platform.settings import load_settings
from travel_platform.web import admit_operators, configure_service, register_health

SERVICE_NAME = "operator-service"


def create_app(config: dict | None = None) -> Flask:
    """Build the operator-service app; `config` overrides environment settings."""
    settings = load_settings(OperatorSettings, config)
    app = Flask(__name__)
    configure_service(app, name=SERVICE_NAME, settings=settings)
    rds = create_rds_pool(settings, name=SERVICE_NAME)
    data = open_data_sources(settings, rds=rds, name=SERVICE_NAME)
    logins = OperatorLogins(rds)
    admit_operators(app, logins)
    app.extensions["operator_data"] = data
    app.extensions["operator_accounts"] = open_operator_accounts(settings, rds=rds, logins=logins)
    register_health(app, checks=data.health_checks())
    register_blueprints(app)
    return app

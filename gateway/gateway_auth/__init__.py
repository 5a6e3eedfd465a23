"""gateway-auth: nginx's `auth_request` target. It verifies the bearer token with the
shared code and tells nginx who the caller is, or why they are refused (routes.py); both it
and nginx reuse verdicts for a bounded time (verdicts.py)."""
from flask import Flask

from gateway_auth.routes import blueprint
from gateway_auth.settings import GatewayAuthSettings
from gateway_auth.verdicts import VerdictCache
from travel_platform.auth.operator_logins import OperatorLogins
from travel_platform.db import create_rds_pool, ping
from travel_platform.settings import load_settings
from travel_platform.web import admit_operators, configure_service, register_health

SERVICE_NAME = "gateway-auth"


def create_app(config: dict | None = None) -> Flask:
    """Build the verifier app; `config` overrides environment settings."""
    settings = load_settings(GatewayAuthSettings, config)
    app = Flask(__name__)
    configure_service(app, name=SERVICE_NAME, settings=settings)
    rds = create_rds_pool(settings, name=SERVICE_NAME)
    admit_operators(app, OperatorLogins(rds))
    app.extensions["verdicts"] = VerdictCache()
    register_health(app, checks={"rds": lambda: ping(rds)})
    app.register_blueprint(blueprint)
    return app

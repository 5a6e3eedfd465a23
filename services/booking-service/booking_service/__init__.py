"""booking-service: bookings of operators' packages by travel agents."""
from flask import Flask

from booking_service.backends import open_dependencies
from booking_service.routes import register_blueprints
from booking_service.settings import BookingSettings
from travel_platform.auth.operator_logins import OperatorLogins
from travel_platform.db import create_rds_pool, ping
from travel_platform.settings import load_settings
from travel_platform.web import admit_operators, configure_service, register_health

SERVICE_NAME = "booking-service"


def create_app(config: dict | None = None) -> Flask:
    """Build the booking-service app; `config` overrides environment settings."""
    settings = load_settings(BookingSettings, config)
    app = Flask(__name__)
    configure_service(app, name=SERVICE_NAME, settings=settings)
    pool = create_rds_pool(settings, name=SERVICE_NAME)
    admit_operators(app, OperatorLogins(pool))
    deps = open_dependencies(settings)
    app.extensions.update(rds=pool, dependencies=deps)
    register_health(app, checks={"rds": lambda: ping(pool),
                                 deps.agents.name: deps.agents.check_health,
                                 deps.operators.name: deps.operators.check_health})
    register_blueprints(app)
    return app

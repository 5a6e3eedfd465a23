"""operator-service: tour operators' multi-city hotel packages, on Supabase and, table by
table as they move (`python -m migrate`), on RDS."""
from flask import Flask

from operator_service.datasource import RDS, SUPABASE, DataSources, Routing, Shadow
from operator_service.routes import register_blueprints
from operator_service.settings import OperatorSettings
from travel_platform.db import create_pool, create_rds_pool, with_default_tls
from travel_platform.settings import load_settings
from travel_platform.web import configure_service, register_health

SERVICE_NAME = "operator-service"


def create_app(config: dict | None = None) -> Flask:
    """Build the operator-service app; `config` overrides environment settings."""
    settings = load_settings(OperatorSettings, config)
    app = Flask(__name__)
    configure_service(app, name=SERVICE_NAME, settings=settings)
    data = open_data_sources(settings)
    app.extensions["operator_data"] = data
    register_health(app, checks=data.health_checks())
    register_blueprints(app)
    return app


def open_data_sources(settings: OperatorSettings) -> DataSources:
    """The databases that hold operator tables, and the routing between them that the
    migration state in RDS decides."""
    supabase = create_pool(name=SERVICE_NAME, database="supabase",
                           conninfo=with_default_tls(settings.supabase_db_url.get_secret_value()))
    rds = create_rds_pool(settings, name=SERVICE_NAME)
    return DataSources({SUPABASE: supabase, RDS: rds}, routing=Routing(rds), shadow=Shadow(rds))

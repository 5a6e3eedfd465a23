"""HTTP routes of operator-service: thin, they parse, call the service layer and answer.

/api/operators/login, /refresh, /logout   operators' sign-in on the operators' Cognito pool
/api/operators/...  the calling operator's profile and packages (operators' tokens, from
                    Supabase Auth or the operators' pool: docs/operator-logins.md)
/api/packages/...   the published catalogue (any verified token)
/internal/...       batch reads for other services; the gateway does not expose them

One module per route family (routes_<family>.py, its service in <family>.py); this one holds
what they share and mounts them. The /api/operators families share one blueprint,
`operators`: the OpenAPI document names each operation after its blueprint and view
(`operators_login`), and those names are public.
"""
from flask import Blueprint, Flask, current_app

from operator_service.datasource import DataSources
from operator_service.logins import OperatorAccounts

operators = Blueprint("operators", __name__, url_prefix="/api/operators")


def register_blueprints(app: Flask) -> None:
    """Mount every route family of the service."""
    # Imported here: each /api/operators family adds its routes to `operators` when imported.
    from operator_service import (  # noqa: F401
        routes_administration,
        routes_catalogue,
        routes_internal,
        routes_logins,
        routes_packages,
        routes_profiles,
    )
    app.register_blueprint(operators)
    app.register_blueprint(routes_catalogue.packages)
    app.register_blueprint(routes_internal.internal)


def operator_data() -> DataSources:
    """The databases that hold operator tables, and the routing between them."""
    return current_app.extensions["operator_data"]


def operator_accounts() -> OperatorAccounts:
    """The operators' Cognito pool and Supabase Auth."""
    return current_app.extensions["operator_accounts"]

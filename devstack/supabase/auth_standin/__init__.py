"""A local stand-in for Supabase Auth (GoTrue): the part of its HTTP API that our code uses.

    gunicorn 'devstack.supabase.auth_standin:create_app()'     (from the repository's root)

Settings (environment): see settings.AuthStandinSettings. The database must have had
devstack/supabase/bootstrap.sql applied.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from psycopg import Connection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from . import routes
from .db import DictPool, _one
from .settings import AuthStandinSettings, ConfigError, load_settings

__all__ = ["AuthStandinSettings", "ConfigError", "create_app"]

POOL_SIZE = 10
DB_CONNECT_TIMEOUT = 10.0   # seconds to reach the database at start-up before giving up
MAX_BODY_BYTES = 1 << 20     # no request of this API comes near; refuse floods early
AUTH_TABLES = ("auth.users", "auth.sessions", "auth.refresh_tokens", "auth.rate_limit_attempts")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The stand-in as a Flask app; `config` keys (env var names) override the environment."""
    settings = load_settings(config)
    pool = _open_pool(settings.auth_db_url.get_secret_value())
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.extensions["auth_standin"] = {"settings": settings, "pool": pool}
    app.register_blueprint(routes.bp)
    return app


def _open_pool(db_url: str) -> DictPool:
    pool: DictPool = ConnectionPool(db_url, min_size=1, max_size=POOL_SIZE, open=False,
                                    connection_class=Connection[DictRow],
                          kwargs={"row_factory": dict_row}, name="auth_standin",
                          check=ConnectionPool.check_connection)
    # Fail at start-up, not on the first sign-in, when the database is unreachable or bare.
    try:
        pool.open(wait=True, timeout=DB_CONNECT_TIMEOUT)
    except PoolTimeout:
        pool.close()
        raise ConfigError(f"auth stand-in: cannot connect to the database at AUTH_DB_URL "
                          f"within {DB_CONNECT_TIMEOUT:g}s") from None
    with pool.connection() as conn:
        missing = [name for name in AUTH_TABLES
                   if _one(conn.execute("select to_regclass(%s) as t", (name,)).fetchone())["t"]
                   is None]
    if missing:
        pool.close()
        raise ConfigError(f"auth stand-in: {', '.join(missing)} missing in AUTH_DB_URL's "
                          "database; apply devstack/supabase/bootstrap.sql first")
    return pool

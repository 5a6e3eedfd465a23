"""One psycopg connection pool per database, opened lazily so a dead database
does not stop a service from starting (its /ready says so instead)."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from travel_platform.errors import ServiceUnavailable
from travel_platform.metrics import track_pool
from travel_platform.settings import RdsSettings


def create_pool(*, name: str, conninfo: str, credentials: Callable[[], dict] | None = None,
                max_size: int = 8, database: str | None = None) -> ConnectionPool:
    """A pool whose connections return rows as dicts; `credentials` is called per connect.
    Its statistics are published as metrics labelled `database` (default: the dbname)."""
    base = {"row_factory": dict_row, "connect_timeout": 3, "application_name": name}
    kwargs = (lambda: {**base, **credentials()}) if credentials else base
    pool = ConnectionPool(conninfo, kwargs=kwargs, name=name, min_size=1, max_size=max_size,
                          timeout=5.0, open=False, reconnect_timeout=30.0)
    pool.open(wait=False)
    track_pool(pool, database=database or str(conninfo_to_dict(conninfo).get("dbname", name)))
    return pool


def with_default_tls(conninfo: str, *, sslmode: str = "verify-full") -> str:
    """Add `sslmode` unless the connection string already says how to use TLS."""
    params = conninfo_to_dict(conninfo)
    return conninfo if "sslmode" in params else make_conninfo(conninfo, sslmode=sslmode)


class SecretsManagerCredentials:
    """Database user and password from a Secrets Manager secret, cached for a while so a
    rotated password is picked up without a restart."""

    def __init__(self, secret_id: str, *, ttl: float = 300.0):
        self.secret_id = secret_id
        self.ttl = ttl
        self._lock = threading.Lock()
        self._cached: tuple[float, dict] | None = None

    def __call__(self) -> dict:
        with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < self.ttl:
                return self._cached[1]
            try:
                raw = boto3.client("secretsmanager").get_secret_value(SecretId=self.secret_id)
            except Exception as exc:  # botocore raises many types; all mean "cannot connect now"
                raise ServiceUnavailable(
                    f"cannot read database credentials: {type(exc).__name__}") from exc
            secret = json.loads(raw["SecretString"])
            creds = {"user": secret["username"], "password": secret["password"]}
            self._cached = (time.monotonic(), creds)
            return creds


def create_rds_pool(settings: RdsSettings, *, name: str) -> ConnectionPool:
    """Pool on RDS `travel_agent_db` with the service's own credentials."""
    params: dict[str, Any] = {"host": settings.aws_rds_host, "port": settings.aws_rds_port,
              "dbname": settings.aws_rds_database, "sslmode": settings.aws_rds_sslmode}
    if settings.aws_rds_sslrootcert:
        params["sslrootcert"] = settings.aws_rds_sslrootcert
    return create_pool(name=name, conninfo=make_conninfo(**params),
                       credentials=SecretsManagerCredentials(settings.aws_rds_secret_id),
                       database="rds")


def ping(pool: ConnectionPool) -> None:
    """Raise ServiceUnavailable unless the database answers a trivial query quickly."""
    try:
        with pool.connection(timeout=2.0) as conn:
            conn.execute("select 1")
    except ServiceUnavailable:
        raise
    except Exception as exc:
        raise ServiceUnavailable(f"database {pool.name} is unreachable") from exc

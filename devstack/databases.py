"""Both PostgreSQL servers of the stack up, prepared as a Supabase project and as RDS, and
migrated, as provisioning and CI do on the real ones."""
from __future__ import annotations

import psycopg
from psycopg import sql

from devstack import postgres
from devstack.layout import REPO, Layout
from travel_platform.migrations import apply_migrations

# server -> (its superuser password in secrets.json, the database the platform uses)
_DATABASES = {"supabase-db": ("supabase_db_password", "postgres"),
              "rds": ("rds_admin_password", "travel_agent_db")}
_MIGRATIONS = {"supabase-db": REPO / "supabase" / "migrations",
               "rds": REPO / "aws" / "migrations"}


def _say(message: str) -> None:
    print(f"[devstack] {message}", flush=True)


def start(layout: Layout, part: str, keys: dict[str, str]) -> None:
    """Start (or keep) one server, made on first use with the stack's TLS certificate."""
    postgres.ensure_cluster(layout, part, password=keys[_DATABASES[part][0]])
    if not postgres.is_running(layout, part):
        _say(f"{part}: starting PostgreSQL on port {layout.port(part)}")
        postgres.start(layout, part)


def admin_url(layout: Layout, part: str, keys: dict[str, str], dbname: str) -> str:
    """The server's superuser, over verified TLS, to database `dbname`."""
    return postgres.admin_conninfo(layout, part, password=keys[_DATABASES[part][0]],
                                   dbname=dbname)


def prepare(layout: Layout, keys: dict[str, str], *, supabase: bool = True) -> dict[str, str]:
    """Start (or keep) both servers, bring them up to date; their superuser URIs by server.
    Without `supabase` (Supabase off) the Supabase project's server is stopped, not started:
    RDS alone, and its URI alone."""
    if not supabase:
        if postgres.stop(layout, "supabase-db"):
            _say("supabase-db: stopped (Supabase off)")
        start(layout, "rds", keys)
        return migrate(layout, keys, servers=("rds",))
    for part in postgres.SERVERS:
        start(layout, part, keys)
    return migrate(layout, keys)


def migrate(layout: Layout, keys: dict[str, str],
            servers: tuple[str, ...] = postgres.SERVERS) -> dict[str, str]:
    """Bring the running `servers` up to date (the database, Supabase's roles, migrations,
    operator-service's login); their superuser URIs by server."""
    admins = {}
    for part in servers:
        dbname = _DATABASES[part][1]
        postgres.ensure_database(admin_url(layout, part, keys, "postgres"), dbname)
        admins[part] = admin_url(layout, part, keys, dbname)
    if "supabase-db" in admins:
        postgres.run_sql_file(admins["supabase-db"],
                              REPO / "devstack" / "supabase" / "bootstrap.sql")
    for part in servers:
        applied = apply_migrations(conninfo=admins[part], directory=_MIGRATIONS[part])
        _say(f"{part}: migrations applied now: {', '.join(applied) or 'none (up to date)'}")
    if "supabase-db" in admins:
        with psycopg.connect(admins["supabase-db"], autocommit=True) as conn:
            conn.execute(sql.SQL("alter role operator_service with login password {}").format(
                sql.Literal(keys["operator_service_password"])))
    return admins


def operator_service_url(layout: Layout, keys: dict[str, str]) -> str:
    """operator-service's own login to the Supabase project's database (a role that can
    only become `anon` or `authenticated`), over verified TLS."""
    return (f"postgresql://operator_service:{keys['operator_service_password']}@"
            f"{layout.host_of('supabase-db')}:{layout.port('supabase-db')}/postgres?sslmode=verify-full"
            f"&sslrootcert={layout.tls / 'ca.pem'}")


def stop(layout: Layout) -> list[str]:
    """Stop both servers, RDS first; the ones that were running."""
    return [part for part in reversed(postgres.SERVERS) if postgres.stop(layout, part)]

"""The integration tier: each layer against one real PostgreSQL server with every migration
applied (repositories, row-level security, the capacity check under concurrency, the write
fence, the migrations runner). No services, no gateway, no AWS: a server starts in seconds.

One server holds both databases, `supabase` (prepared as a Supabase project, then
supabase/migrations) and `travel_agent_db` (aws/migrations), each with the same roles as
in production; tests connect as the superuser and become those roles, as the services do."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from devstack import postgres, secrets
from devstack.layout import REPO, Layout
from tests.conftest import TEST_PORT_OFFSET, TEST_STATE
from travel_platform.migrations import apply_migrations


@pytest.fixture(scope="session")
def databases() -> dict[str, str]:
    """Superuser URLs of the two migrated databases: SUPABASE_DB_ADMIN_URL, RDS_ADMIN_URL."""
    layout = Layout(state=Path(f"{TEST_STATE}-db"), port_offset=TEST_PORT_OFFSET + 500)
    postgres.stop(layout, "rds")
    shutil.rmtree(layout.state, ignore_errors=True)
    for folder in (layout.logs, layout.run):
        folder.mkdir(parents=True, exist_ok=True)
    keys = secrets.load_or_create(layout)
    secrets.ensure_tls(layout)
    password = keys["rds_admin_password"]
    postgres.ensure_cluster(layout, "rds", password=password)
    postgres.start(layout, "rds")
    try:
        def admin(dbname: str) -> str:
            return postgres.admin_conninfo(layout, "rds", password=password, dbname=dbname)

        for dbname in ("supabase", "travel_agent_db"):
            postgres.ensure_database(admin("postgres"), dbname)
        postgres.run_sql_file(admin("supabase"), REPO / "devstack" / "supabase" / "bootstrap.sql")
        apply_migrations(conninfo=admin("supabase"), directory=REPO / "supabase" / "migrations")
        apply_migrations(conninfo=admin("travel_agent_db"), directory=REPO / "aws" / "migrations")
        yield {"SUPABASE_DB_ADMIN_URL": admin("supabase"),
               "RDS_ADMIN_URL": admin("travel_agent_db")}
    finally:
        postgres.stop(layout, "rds")

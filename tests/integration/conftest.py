"""The integration tier: each layer against one real PostgreSQL server with every migration
applied (repositories, row-level security, the capacity check under concurrency, the write
fence, the migrations runner). No services, no gateway, no AWS: a server starts in seconds.

One server holds both databases, `supabase` (prepared as a Supabase project, then
supabase/migrations) and `travel_agent_db` (aws/migrations), each with the same roles as
in production; tests connect as the superuser and become those roles, as the services do."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from devstack import api as devstack
from devstack.api import Layout
from tests.conftest import TEST_PORT_OFFSET, TEST_STATE
from tests.helpers import REPO
from travel_platform.migrations import apply_migrations


@pytest.fixture(scope="session")
def databases() -> Iterator[dict[str, str]]:
    """Superuser URLs of the two migrated databases: SUPABASE_DB_ADMIN_URL, RDS_ADMIN_URL."""
    layout = Layout(state=Path(f"{TEST_STATE}-db"), port_offset=TEST_PORT_OFFSET + 500)
    devstack.stop_part(layout, "rds")
    shutil.rmtree(layout.state, ignore_errors=True)
    admin = devstack.start_database(layout, "rds")
    try:
        with psycopg.connect(admin("postgres"), autocommit=True) as conn:
            for dbname in ("supabase", "travel_agent_db"):
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(dbname)))
        with psycopg.connect(admin("supabase"), autocommit=True) as conn:
            conn.execute((REPO / "devstack" / "supabase" / "bootstrap.sql").read_text())
        apply_migrations(conninfo=admin("supabase"), directory=REPO / "supabase" / "migrations")
        apply_migrations(conninfo=admin("travel_agent_db"), directory=REPO / "aws" / "migrations")
        yield {"SUPABASE_DB_ADMIN_URL": admin("supabase"),
               "RDS_ADMIN_URL": admin("travel_agent_db")}
    finally:
        devstack.stop_part(layout, "rds")

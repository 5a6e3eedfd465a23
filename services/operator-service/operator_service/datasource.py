"""Which database holds each operator table, and the one way to get a connection for it.

The operator tables will move from Supabase to RDS one table at a time (Phase 4 of the
design note). Every read and write in operator-service names the tables it touches and
gets its connection here, never from a pool directly, so moving a table is a change to
TABLE_SOURCES plus a pool for the new source, not a search through SQL and rules.

Every connection runs as the caller (see `as_caller`), so row-level security decides
which rows a statement sees. A database that takes over a table must therefore offer the
same `anon`/`authenticated` roles, an `auth.uid()` reading `request.jwt.claims`, and the
table's policies, as the Supabase migrations define them.

A transaction cannot span two databases. Asking for one over tables that live apart is an
error at once (DataSourceError), never a transaction silently split in two: tables that
must change together (a package and its stops) have to move together.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Callable, Collection, Iterator, Mapping

from psycopg_pool import ConnectionPool

from shared.auth import Identity
from shared.db import ping

SUPABASE = "supabase"

USERS = "users"
PACKAGES = "multi_city_hotel_packages"
STOPS = "multi_city_hotel_package_cities"
ADDONS = "multi_city_hotel_package_addons"
EXCLUSIONS = "multi_city_hotel_package_exclusions"
CHANGES = "multi_city_hotel_package_changes"

# A package with its parts, read or written as one.
PACKAGE_TABLES = (PACKAGES, STOPS, ADDONS, EXCLUSIONS)

# The routing table. Today the Supabase project's database holds every operator table.
TABLE_SOURCES: Mapping[str, str] = {
    USERS: SUPABASE,
    PACKAGES: SUPABASE,
    STOPS: SUPABASE,
    ADDONS: SUPABASE,
    EXCLUSIONS: SUPABASE,
    CHANGES: SUPABASE,
}


class DataSourceError(RuntimeError):
    """A programming error: an unknown table, or one transaction over two databases."""


def source_of(tables: Collection[str], *, table_sources: Mapping[str, str] = TABLE_SOURCES) -> str:
    """The one data source that holds every table in `tables`."""
    if not tables:
        raise DataSourceError("name the tables the transaction touches")
    unknown = sorted(set(tables) - set(table_sources))
    if unknown:
        raise DataSourceError(f"no data source for table(s) {', '.join(unknown)}")
    sources = {table_sources[t] for t in tables}
    if len(sources) > 1:
        placed = ", ".join(f"{t}: {table_sources[t]}" for t in sorted(set(tables)))
        raise DataSourceError(f"one transaction cannot span data sources ({placed})")
    return sources.pop()


@contextmanager
def as_caller(*, pool: ConnectionPool, identity: Identity) -> Iterator:
    """A transaction running as `authenticated` with the operator's claims (as PostgREST
    does for supabase-js), or as `anon` for anyone else, so RLS policies decide."""
    if identity.is_operator:
        role, claims = "authenticated", identity.claims
    else:
        role, claims = "anon", {"role": "anon"}
    with pool.connection() as conn, conn.transaction():
        conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
        conn.execute(f"set local role {role}")
        yield conn


class DataSources:
    """The pools of the databases that hold operator tables, by data source name."""

    def __init__(self, pools: Mapping[str, ConnectionPool], *,
                 table_sources: Mapping[str, str] = TABLE_SOURCES):
        missing = sorted(set(table_sources.values()) - set(pools))
        if missing:
            raise DataSourceError(f"no pool for data source(s) {', '.join(missing)}")
        self._pools = dict(pools)
        self._table_sources = dict(table_sources)

    def source_of(self, tables: Collection[str]) -> str:
        """The data source holding `tables` under this routing table."""
        return source_of(tables, table_sources=self._table_sources)

    @contextmanager
    def transaction(self, *, identity: Identity, tables: Collection[str]) -> Iterator:
        """A caller-scoped transaction on the database that holds `tables`."""
        with as_caller(pool=self._pools[self.source_of(tables)], identity=identity) as conn:
            yield conn

    def health_checks(self) -> dict[str, Callable[[], None]]:
        """One readiness check per database in use, named `<source>-db`."""
        in_use = sorted(set(self._table_sources.values()))
        return {f"{name}-db": (lambda pool=self._pools[name]: ping(pool)) for name in in_use}

"""operator-service's one place that picks a database per operator table."""
from __future__ import annotations

import json
import re
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from operator_service import datasource
from operator_service.datasource import (
    PACKAGE_TABLES,
    PACKAGES,
    STOPS,
    SUPABASE,
    USERS,
    DataSourceError,
    DataSources,
    source_of,
)

from travel_platform.auth import Identity
from travel_platform.errors import ServiceUnavailable

MIGRATIONS = Path(__file__).resolve().parents[2] / "supabase" / "migrations"


class FakeConnection:
    def __init__(self, log: list):
        self.log = log

    def execute(self, statement, params=None):
        self.log.append((statement, params))

    @contextmanager
    def transaction(self):
        yield


class FakePool:
    """Records which pool served a connection and what ran on it."""

    def __init__(self, name: str):
        self.name = name
        self.log: list = []

    @contextmanager
    def connection(self):
        yield FakeConnection(self.log)


def _identity(source: str) -> Identity:
    sub = str(uuid.uuid4())
    claims = {"sub": sub, "role": "authenticated", "email": "o@example.com"}
    return Identity(source=source, subject=sub, email="o@example.com", groups=(),
                    role="authenticated" if source == "supabase" else None, expires_at=0,
                    claims=claims)


def test_every_operator_table_in_the_migrations_has_a_data_source():
    created = set()
    for path in MIGRATIONS.glob("*.sql"):
        created |= set(re.findall(r"create table (?:if not exists )?public\.(\w+)",
                                  path.read_text()))
    assert created == set(datasource.TABLE_SOURCES)


def test_today_every_table_is_on_supabase():
    assert set(datasource.TABLE_SOURCES.values()) == {SUPABASE}
    assert source_of([USERS, *PACKAGE_TABLES]) == SUPABASE


def _roles_set(pool) -> int:
    return sum(1 for statement, _ in pool.log if statement.startswith("set local role"))


def test_a_table_moved_to_rds_is_served_by_the_rds_pool():
    pools = {"supabase": FakePool("supabase"), "rds": FakePool("rds")}
    routing = {**datasource.TABLE_SOURCES, USERS: "rds"}
    data = DataSources(pools, table_sources=routing)
    with data.transaction(identity=_identity("supabase"), tables=[USERS]):
        pass
    with data.transaction(identity=_identity("supabase"), tables=PACKAGE_TABLES):
        pass
    assert _roles_set(pools["rds"]) == 1 and _roles_set(pools["supabase"]) == 1


def test_a_write_claims_the_write_fence_of_its_tables_after_becoming_the_caller():
    pool = FakePool("supabase")
    with DataSources({SUPABASE: pool}).transaction(identity=_identity("supabase"),
                                                   tables=[STOPS, PACKAGES]):
        pass
    statements = [statement for statement, _ in pool.log]
    assert statements[1] == "set local role authenticated"
    assert statements[2] == "select migration.claim_writes(%s)"
    assert pool.log[2][1] == (sorted([PACKAGES, STOPS]),)


def _routing_row(table, *, reads, writes, shadow=False, held=False, unit="packages"):
    return {"table_name": table, "unit": unit, "reads_from": reads, "writes_to": writes,
            "shadow": shadow, "held": held}


class FixedRouting(datasource.Routing):
    def __init__(self, rows):
        super().__init__(None)
        self._table = datasource.RoutingTable.from_rows(rows)


def test_the_migration_state_decides_where_reads_and_writes_go():
    rows = [_routing_row(t, reads="rds", writes="supabase") for t in PACKAGE_TABLES]
    pools = {"supabase": FakePool("supabase"), "rds": FakePool("rds")}
    data = DataSources(pools, routing=FixedRouting(rows))
    identity = _identity("supabase")
    data.read(identity=identity, tables=PACKAGE_TABLES, query=lambda conn: None)
    assert (_roles_set(pools["rds"]), _roles_set(pools["supabase"])) == (1, 0)
    # An operator's own data follows the writes: they read what they just wrote.
    data.read(identity=identity, tables=PACKAGE_TABLES, query=lambda conn: None, own=True)
    with data.transaction(identity=identity, tables=PACKAGE_TABLES):
        pass
    assert (_roles_set(pools["rds"]), _roles_set(pools["supabase"])) == (1, 2)
    # Tables the migration state does not mention stay where they were.
    assert data.source_of([USERS]) == SUPABASE
    assert data.reads_apart(PACKAGE_TABLES) and not data.reads_apart([USERS])


def test_routing_rows_name_shadowed_and_held_tables():
    table = datasource.RoutingTable.from_rows([
        _routing_row(PACKAGES, reads="supabase", writes="supabase", shadow=True, held=True)])
    assert table.shadowed == {PACKAGES: "packages"} and table.held == {PACKAGES}


def test_a_routing_row_for_a_table_this_service_does_not_know_is_an_error():
    # The migration tool moves a table operator-service would go on serving from Supabase:
    # said at once, naming it, never skipped.
    with pytest.raises(DataSourceError, match="not_an_operator_table.*operator_tables.py"):
        datasource.RoutingTable.from_rows([
            _routing_row(PACKAGES, reads="supabase", writes="supabase"),
            _routing_row("not_an_operator_table", reads="rds", writes="rds")])


def test_the_migration_tool_moves_exactly_the_tables_this_service_routes():
    from migrate.units import UNITS, Unit, UnitsError, check_covers

    assert {t for unit in UNITS for t in unit.tables} == set(datasource.TABLE_SOURCES)
    # A table on one side only is an error naming it, on either side.
    with pytest.raises(UnitsError, match="operator tables no unit moves: users"):
        check_covers(tuple(u for u in UNITS if USERS not in u.tables),
                     tuple(datasource.TABLE_SOURCES))
    with pytest.raises(UnitsError, match="no operator table: bookings"):
        check_covers((*UNITS, Unit("bookings", ("bookings",))), tuple(datasource.TABLE_SOURCES))


def test_a_held_write_waits_out_the_hold_then_lets_the_fence_decide():
    rows = [_routing_row(t, reads="supabase", writes="supabase", held=True)
            for t in PACKAGE_TABLES]
    pool = FakePool("supabase")
    data = DataSources({SUPABASE: pool}, routing=FixedRouting(rows), hold_wait=0.2)
    started = time.monotonic()
    with data.transaction(identity=_identity("supabase"), tables=PACKAGE_TABLES):
        waited = time.monotonic() - started
    # A hold left behind by a crashed tool delays writes by hold_wait at most; the write
    # fence on the database, not the hold, keeps writes off the wrong side.
    assert 0.2 <= waited < 1.0 and _roles_set(pool) == 1


def test_one_transaction_cannot_span_two_databases():
    routing = {**datasource.TABLE_SOURCES, STOPS: "rds"}
    with pytest.raises(DataSourceError, match="cannot span data sources"):
        source_of([PACKAGES, STOPS], table_sources=routing)


def test_unknown_tables_and_missing_pools_are_refused():
    with pytest.raises(DataSourceError, match="no data source for table"):
        source_of(["bookings"])
    with pytest.raises(DataSourceError, match="name the tables"):
        source_of([])
    with pytest.raises(DataSourceError, match="no pool for data source"):
        DataSources({}, table_sources={USERS: SUPABASE})


@pytest.mark.parametrize("source, role", [("supabase", "authenticated"), ("cognito", "anon")])
def test_connections_run_as_the_caller_so_row_level_security_applies(source, role):
    pool = FakePool("supabase")
    identity = _identity(source)
    with DataSources({SUPABASE: pool}).transaction(identity=identity, tables=[PACKAGES],
                                                   write=False):
        pass
    (set_claims, (claims,)), (set_role, _) = pool.log
    assert "request.jwt.claims" in set_claims and set_role == f"set local role {role}"
    expected_sub = identity.subject if source == "supabase" else None
    assert json.loads(claims).get("sub") == expected_sub


def test_health_checks_name_each_database_in_use():
    data = DataSources({SUPABASE: FakePool("supabase")})
    assert list(data.health_checks()) == ["supabase-db"]


class BlindRouting(datasource.Routing):
    """A routing whose last successful read of migration.routing was long ago."""

    def __init__(self, rows):
        super().__init__(FakePool("rds"), max_age=3600, blind_after=5)
        self._table = datasource.RoutingTable.from_rows(rows)
        self._read_at = time.monotonic()
        self._loaded_at = time.monotonic() - 6


def test_a_worker_that_cannot_read_the_routing_stops_serving_the_tables_that_move():
    rows = [_routing_row(t, reads="supabase", writes="supabase") | {"moving": True}
            for t in PACKAGE_TABLES]
    pools = {"supabase": FakePool("supabase"), "rds": FakePool("rds")}
    data = DataSources(pools, routing=BlindRouting(rows))
    identity = _identity("supabase")
    # A switch may have happened that it cannot see: no read from the side it last knew.
    with pytest.raises(ServiceUnavailable) as refused:
        data.read(identity=identity, tables=PACKAGE_TABLES, query=lambda conn: None)
    assert refused.value.code == "routing_unavailable"
    with pytest.raises(ServiceUnavailable):
        with data.transaction(identity=identity, tables=PACKAGE_TABLES):
            pass
    # Tables that are not moving are served as before.
    data.read(identity=identity, tables=[USERS], query=lambda conn: None)
    assert _roles_set(pools["supabase"]) == 1 and _roles_set(pools["rds"]) == 0


def test_with_supabase_off_a_table_routed_to_supabase_is_a_503_naming_it():
    # Supabase off: RDS alone. Should the migration state ever name Supabase for a table
    # (a unit rolled back behind the service's back), that request is refused, naming it.
    from operator_service.backends import ALL_ON_RDS

    rows = [_routing_row(USERS, reads="supabase", writes="supabase", unit="operators")]
    data = DataSources({"rds": FakePool("rds")}, table_sources=ALL_ON_RDS,
                       routing=FixedRouting(rows))
    identity = _identity("cognito-operators")
    for attempt in (lambda: data.read(identity=identity, tables=[USERS], query=lambda c: None),
                    lambda: data.transaction(identity=identity, tables=[USERS]).__enter__()):
        with pytest.raises(ServiceUnavailable) as refused:
            attempt()
        assert refused.value.code == "data_source_off"
        assert USERS in refused.value.message and "supabase" in refused.value.message

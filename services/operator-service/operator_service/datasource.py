"""Which database holds each operator table, and the one way to get a connection for it.

The operator tables move from Supabase to RDS one unit at a time (Phase 4 of the design
note, `python -m migrate`). Every read and write in operator-service names the tables it
touches and gets its connection here, never from a pool directly, so this module is the one
place that decides where a table lives.

Where that is comes from the migration state in RDS (`migration.routing`), which every
worker re-reads at most every ROUTING_MAX_AGE seconds: a switch reaches every worker of
every replica within a second, with no restart. A stale worker cannot write to the wrong
side: each write transaction first claims the tables' write fence on the database it
writes (`migration.claim_writes`, see supabase/migrations/*_write_fence.sql). A cutover
closes the fence on the old side, so a write that was about to go there is refused before
it changes anything, and is retried here where the table now lives. While a cutover holds
writes, a write waits (at most HOLD_WAIT seconds) instead of failing.

Reads come in two kinds. A reader's own data (their profile, their packages) follows the
writes, so an operator always reads what they just wrote. Published data (the catalogue,
booking-service's lookups) follows `reads_from`, which switches first. While a unit is
shadowed, each read is also run on RDS as the same caller and the two answers compared
(GitHub Scientist's pattern: the answer always comes from the current side).

Every connection runs as the caller (see `as_caller`), so row-level security decides
which rows a statement sees, on either database: RDS gets the same roles, `auth.uid()` and
policies from the same migrations.

A transaction cannot span two databases. Asking for one over tables that live apart is an
error at once (DataSourceError), never a transaction silently split in two: tables that
must change together (a package and its stops) have to move together.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from travel_platform.auth import Identity
from travel_platform.db import ping
from travel_platform.errors import ServiceUnavailable

# The operator tables, named once for this service and the migration tool (re-exported: the
# repository imports them from here).
from travel_platform.operator_tables import ADDONS as ADDONS
from travel_platform.operator_tables import CHANGES as CHANGES
from travel_platform.operator_tables import EXCLUSIONS as EXCLUSIONS
from travel_platform.operator_tables import OPERATOR_TABLES
from travel_platform.operator_tables import PACKAGES as PACKAGES
from travel_platform.operator_tables import REHEARSAL as REHEARSAL
from travel_platform.operator_tables import STOPS as STOPS
from travel_platform.operator_tables import USERS as USERS

SUPABASE = "supabase"
RDS = "rds"

# A package with its parts, read or written as one; the audit triggers write the changes
# table in the same transaction as any change to a published package.
PACKAGE_TABLES = (PACKAGES, STOPS, ADDONS, EXCLUSIONS, CHANGES)

# Where every operator table lives before a move starts: the Supabase project's database.
TABLE_SOURCES: Mapping[str, str] = {table: SUPABASE for table in OPERATOR_TABLES}

ROUTING_MAX_AGE = 0.5   # seconds a worker trusts what it read of migration.routing
# Seconds without a successful read of the routing after which a worker stops serving the
# tables of a move under way (a switch may have happened that it cannot see).
ROUTING_BLIND_AFTER = 5.0
HOLD_WAIT = 2.0         # seconds a write waits for a cutover before answering 503
FENCE_CLOSED = "MG001"  # SQLSTATE of migration.claim_writes refusing a write

log = logging.getLogger(__name__)
T = TypeVar("T")


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


@dataclass(frozen=True)
class RoutingTable:
    """One reading of the migration state: per table, where reads and writes go."""

    writes: Mapping[str, str]
    reads: Mapping[str, str]
    shadowed: Mapping[str, str]   # table -> unit, for tables whose reads are shadowed
    held: frozenset[str] = frozenset()
    # Tables of a unit whose move is under way (copied, and neither rolled back nor final).
    moving: frozenset[str] = frozenset()

    @classmethod
    def static(cls, table_sources: Mapping[str, str] = TABLE_SOURCES) -> RoutingTable:
        """Reads and writes both where `table_sources` says; nothing shadowed or held."""
        return cls(writes=dict(table_sources), reads=dict(table_sources), shadowed={})

    @classmethod
    def from_rows(cls, rows: list[dict], *,
                  defaults: Mapping[str, str] = TABLE_SOURCES) -> RoutingTable:
        """From the rows of `migration.routing`. A row naming a table this service does not
        know is an error (DataSourceError), not skipped: the migration tool and this service
        read one list of operator tables (shared/travel_platform/operator_tables.py), so it means
        the two run different versions of it, and a table the tool moves would go on being
        served from where it was."""
        unknown = sorted({row["table_name"] for row in rows} - set(defaults))
        if unknown:
            raise DataSourceError(
                f"migration.routing names table(s) {', '.join(unknown)} that operator-service "
                "does not know (shared/travel_platform/operator_tables.py): deploy the migration "
                "tool's version of this service")
        writes, reads = dict(defaults), dict(defaults)
        shadowed, held, moving = {}, set(), set()
        for row in rows:
            table = row["table_name"]
            writes[table], reads[table] = row["writes_to"], row["reads_from"]
            if row["shadow"]:
                shadowed[table] = row["unit"]
            if row["held"]:
                held.add(table)
            if row.get("moving"):
                moving.add(table)
        return cls(writes=writes, reads=reads, shadowed=shadowed, held=frozenset(held),
                   moving=frozenset(moving))


_ROUTING_QUERY = """
select table_name, unit, reads_from, writes_to, shadow, moving,
       coalesce(hold_until > now(), false) as held
  from migration.routing
"""


class Routing:
    """The current RoutingTable, re-read from RDS when older than `max_age` seconds.

    When RDS cannot be read, the last table read stays in force: writes stay safe either
    way (the fences refuse a write on the wrong side), and so do reads for a while. After
    `blind_after` seconds without a successful read, the tables of a move under way are
    refused (`refuse_if_blind`): a switch may have happened meanwhile, and their reads
    would come from the side that no longer takes their writes."""

    def __init__(self, pool: ConnectionPool | None, *, max_age: float = ROUTING_MAX_AGE,
                 defaults: Mapping[str, str] = TABLE_SOURCES,
                 blind_after: float = ROUTING_BLIND_AFTER):
        self._pool = pool
        self._max_age = max_age
        self._blind_after = blind_after
        self._defaults = dict(defaults)
        self._table = RoutingTable.static(defaults)
        self._read_at = float("-inf")
        self._loaded_at = time.monotonic()
        self._lock = threading.Lock()

    def current(self, *, fresh: bool = False) -> RoutingTable:
        """The routing table, at most `max_age` old (or read now if `fresh`)."""
        if self._pool is None:
            return self._table
        with self._lock:
            if fresh or time.monotonic() - self._read_at >= self._max_age:
                self._reload()
            return self._table

    def _reload(self) -> None:
        if self._pool is None:
            return
        rows: list[dict] | None
        try:
            with self._pool.connection(timeout=1.0) as conn:
                rows = conn.cursor(row_factory=dict_row).execute(_ROUTING_QUERY).fetchall()
        except psycopg.errors.UndefinedTable:   # no migration schema yet: no move started
            rows = []
        except Exception as exc:  # RDS unreachable: keep what we know
            log.warning("cannot read migration.routing (%s); keeping the last routing",
                        type(exc).__name__)
            rows = None
        self._read_at = time.monotonic()
        if rows is not None:
            self._table = RoutingTable.from_rows(rows, defaults=self._defaults)
            self._loaded_at = self._read_at

    def refuse_if_blind(self, tables: Collection[str]) -> None:
        """503 for `tables` of a move under way when the routing could not be read for
        `blind_after` seconds."""
        if (self._pool is not None and set(tables) & self._table.moving
                and time.monotonic() - self._loaded_at > self._blind_after):
            raise ServiceUnavailable(
                "where these tables live cannot be read right now (they are moving between "
                "databases); retry in a moment", code="routing_unavailable",
                headers={"Retry-After": "1"})


@contextmanager
def as_caller(*, pool: ConnectionPool, identity: Identity,
              claim: Collection[str] = ()) -> Iterator:
    """A transaction running as `authenticated` with the operator's claims (as PostgREST
    does for supabase-js), as `operator_admin` for an administrator (who may read operators'
    profiles and set their status, nothing else), or as `anon` for anyone else, so RLS
    policies decide. `claim` names the tables the transaction will write: their write fence
    is claimed first."""
    if identity.is_operator:
        role, claims = "authenticated", identity.claims
    elif identity.is_admin:
        role, claims = "operator_admin", {"role": "operator_admin", "sub": identity.subject}
    else:
        role, claims = "anon", {"role": "anon"}
    with pool.connection() as conn, conn.transaction():
        conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
        conn.execute(f"set local role {role}")
        if claim:
            conn.execute("select migration.claim_writes(%s)", (sorted(claim),))
        yield conn


class DataSources:
    """The pools of the databases that hold operator tables, by data source name, and the
    routing that says which one serves a table now."""

    def __init__(self, pools: Mapping[str, ConnectionPool], *,
                 table_sources: Mapping[str, str] = TABLE_SOURCES,
                 routing: Routing | None = None, shadow: Shadow | None = None,
                 hold_wait: float = HOLD_WAIT):
        missing = sorted(set(table_sources.values()) - set(pools))
        if missing:
            raise DataSourceError(f"no pool for data source(s) {', '.join(missing)}")
        self._pools = dict(pools)
        self._routing = routing or Routing(None, defaults=table_sources)
        self._shadow = shadow
        self._hold_wait = hold_wait

    def source_of(self, tables: Collection[str], *, reads: bool = False) -> str:
        """The data source holding `tables` for writes (or, with `reads`, for reads of
        published data) under the current routing."""
        table = self._routing.current()
        return source_of(tables, table_sources=table.reads if reads else table.writes)

    def reads_apart(self, tables: Collection[str]) -> bool:
        """Whether published reads of `tables` come from another database than their writes
        (a move between its switch-reads and switch-writes): then the reads can lag."""
        table = self._routing.current()
        return (source_of(tables, table_sources=table.reads)
                != source_of(tables, table_sources=table.writes))

    @contextmanager
    def transaction(self, *, identity: Identity, tables: Collection[str],
                    write: bool = True) -> Iterator:
        """A caller-scoped transaction where `tables` are written. With `write` (the
        default) it claims their write fence first, waiting out a cutover's hold; without,
        it only reads, from the side that has the caller's latest writes."""
        self._routing.current()
        self._routing.refuse_if_blind(tables)
        if not write:
            with as_caller(pool=self._pool(self.source_of(tables), tables),
                           identity=identity) as conn:
                yield conn
            return
        deadline = time.monotonic() + self._hold_wait
        fresh = False
        while True:
            table = self._routing.current(fresh=fresh)
            if table.held & set(tables) and time.monotonic() < deadline:
                time.sleep(0.05)
                fresh = True
                continue
            stack = ExitStack()
            try:
                conn = stack.enter_context(as_caller(
                    pool=self._pool(source_of(tables, table_sources=table.writes), tables),
                    identity=identity, claim=tables))
            except psycopg.Error as exc:
                if exc.sqlstate != FENCE_CLOSED:
                    raise
                if time.monotonic() >= deadline:
                    raise ServiceUnavailable(
                        "writes to these tables are paused while they move databases; "
                        "retry in a moment", code="writes_paused",
                        headers={"Retry-After": "1"}) from None
                time.sleep(0.05)
                fresh = True
                continue
            break
        with stack:
            yield conn

    def read(self, *, identity: Identity, tables: Collection[str],
             query: Callable[[object], T], own: bool = False) -> T:
        """Run `query(conn)` as the caller where `tables` are read: published data from
        `reads_from`, the caller's `own` data where their writes go. While the tables are
        shadowed, the same query also runs on RDS and the answers are compared."""
        table = self._routing.current()
        self._routing.refuse_if_blind(tables)
        sources = table.writes if own else table.reads
        source = source_of(tables, table_sources=sources)
        with as_caller(pool=self._pool(source, tables), identity=identity) as conn:
            result = query(conn)
        units = sorted({table.shadowed[t] for t in tables if t in table.shadowed})
        if units and source != RDS and self._shadow is not None and RDS in self._pools:
            self._shadow.compare(units=units, control=result, candidate=lambda: self._run(
                RDS, identity, query), recheck=lambda: self._run(source, identity, query))
        return result

    def read_on(self, source: str, *, identity: Identity, query: Callable[[object], T]) -> T:
        """Run `query(conn)` as the caller on the database `source`, whatever the routing:
        for what lives in one database only, never moved (Supabase Auth's accounts; the
        links to the operators' Cognito pool, on RDS)."""
        return self._run(source, identity, query)

    def holds(self, source: str) -> bool:
        """Whether there is a pool for the data source `source`."""
        return source in self._pools

    def _run(self, source: str, identity: Identity, query: Callable[[object], T]) -> T:
        with as_caller(pool=self._pool(source), identity=identity) as conn:
            return query(conn)

    def _pool(self, source: str, tables: Collection[str] = ()) -> ConnectionPool:
        try:
            return self._pools[source]
        except KeyError:
            if not tables:
                raise DataSourceError(f"no pool for data source {source}") from None
        # The routing names a database this process runs without (Supabase off, yet a unit
        # was rolled back behind its back): refuse the request, naming what, not a 500.
        raise ServiceUnavailable(
            f"{', '.join(sorted(tables))} {'is' if len(tables) == 1 else 'are'} on {source}, "
            f"which this service runs without ({source} off): finalize the move or set its "
            "settings", code="data_source_off")

    def health_checks(self) -> dict[str, Callable[[], None]]:
        """One readiness check per database in use, named `<source>-db`."""
        return {f"{name}-db": partial(ping, pool) for name, pool in sorted(self._pools.items())}


class Shadow:
    """Compares shadow reads with the answers served and counts the outcome per unit in
    RDS (`migration.record_shadow`). A difference is re-checked up to three times, after
    growing pauses: if both sides then agree, it was replication lag (`lagged`), not a
    `mismatch`. Nothing
    here ever fails or changes the request it shadows."""

    def __init__(self, pool: ConnectionPool, *, recheck_after: float = 0.1):
        self._pool = pool
        self._recheck_after = recheck_after

    def compare(self, *, units: list[str], control, candidate: Callable[[], object],
                recheck: Callable[[], object]) -> str:
        """'match', 'lagged', 'mismatch' or 'error'; recorded for each of `units`."""
        try:
            outcome, sample = "match", None
            shadow = candidate()
            if _canonical(shadow) != _canonical(control):
                outcome = "mismatch"
                for attempt in range(1, 4):
                    time.sleep(self._recheck_after * attempt)
                    again, shadow = recheck(), candidate()
                    if _canonical(again) == _canonical(shadow):
                        outcome = "lagged"
                        break
                if outcome == "mismatch":
                    sample = {"served": _canonical(again)[:2000],
                              "rds": _canonical(shadow)[:2000]}
            with self._pool.connection(timeout=1.0) as conn:
                conn.execute("select migration.record_shadow(%s, %s, %s::jsonb)",
                             (units, outcome, json.dumps(sample)))
            return outcome
        except Exception as exc:  # a shadow read must never break the real one
            log.warning("shadow read of %s failed: %s", ",".join(units), type(exc).__name__)
            return "error"


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, default=str)

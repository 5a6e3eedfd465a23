"""The scratch pair of databases `rehearse` runs every step on (migrate/steps/rehearse.py).

A pair is two databases made beside the real ones, `rehearsal_<stamp>_supabase` on the
Supabase server and `rehearsal_<stamp>_rds` on the RDS server (names no real database has),
with the same schemas built the way `start` builds RDS's (the repository's migrations,
migrate/sql/rds_compat_before.sql standing in for Supabase Auth's part), and the newest
backups' rows restored. The real databases are only read (their backups' records), never
written: the pair has its own state table, fences, publications, subscriptions and (named
with their own prefix, since slots live per server) replication slots.

Whatever a pair leaves when its run dies (kill -9, a lost machine) is found by name and
removed by the next `rehearse`: its subscriptions first (they would hold the slots), then
its slots, then the databases.
"""
from __future__ import annotations

import datetime
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from migrate import backup as backups
from migrate.settings import MigrateSettings
from migrate.state import Conn, GateRefused, State, ToolError, connect, one
from migrate.units import Unit

REPO = Path(__file__).resolve().parents[1]
SUPABASE_MIGRATIONS = REPO / "supabase" / "migrations"
RDS_MIGRATIONS = REPO / "aws" / "migrations"
STAND_IN = REPO / "migrate" / "sql" / "rds_compat_before.sql"
SCRATCH = re.compile(r"^rehearsal_(\d{8}t\d{6})_(supabase|rds)$")
SIDES = ("supabase", "rds")


@dataclass(frozen=True)
class Pair:
    """One rehearsal's two databases, and how to reach them."""

    stamp: str
    supabase_server: str    # an admin URL of the Supabase server (any database)
    rds_server: str         # an admin URL of the RDS server
    publisher: str          # how the RDS server reaches the Supabase server
    folder: Path            # the steps' MIGRATE_BACKUP_DIR (their guardians' log)

    def name(self, side: str) -> str:
        return f"rehearsal_{self.stamp}_{side}"

    def url(self, side: str) -> str:
        server = self.supabase_server if side == "supabase" else self.rds_server
        return make_conninfo(server, dbname=self.name(side))

    @property
    def publisher_url(self) -> str:
        """The subscription's connection: `start`'s publisher address, scratch database."""
        return make_conninfo(self.publisher, dbname=self.name("supabase"))

    @property
    def prefix(self) -> str:
        """MIGRATE_REPLICATION_PREFIX of the steps: slots of their own on a shared server."""
        return f"rehearsal_{self.stamp}_"


def servers(settings: MigrateSettings) -> tuple[str, str, str]:
    """(Supabase server, RDS server, publisher address) a rehearsal uses."""
    own = settings.migrate_rehearsal_supabase_url
    supabase = (own or settings.supabase_db_admin_url).get_secret_value()
    rds = (settings.migrate_rehearsal_rds_url or settings.rds_admin_url).get_secret_value()
    return supabase, rds, own.get_secret_value() if own else settings.publisher_url


def new_pair(settings: MigrateSettings) -> Pair:
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dt%H%M%S")
    supabase, rds, publisher = servers(settings)
    return Pair(stamp, supabase, rds, publisher,
                settings.migrate_backup_dir.resolve() / f"rehearsal_{stamp}")


# The backups a rehearsal restores ---------------------------------------------------------

def latest_backups(real_rds: Conn, units: tuple[Unit, ...], *,
                   required: tuple[Unit, ...]) -> dict[str, dict]:
    """The newest Supabase backup of each unit that has one, by unit name (read from the real
    state, not changed). Refused, in one line, for a unit of `required` without one, or whose
    newest RDS backup is not from the same `backup` run: `backup` records the Supabase dump,
    then the RDS dump, under the run lock, so two records of one run are adjacent."""
    found: dict[str, dict] = {}
    for unit in units:
        rows = {row["side"]: row for row in real_rds.execute(
            """select distinct on (side) id, side, path, sha256, bytes, row_counts, created_at
                 from migration.backups where unit = %s order by side, id desc""",
            (unit.name,)).fetchall()}
        ours = rows.get("supabase")
        if ours is None:
            if unit in required:
                raise GateRefused(f"no backup of {unit.name} to rehearse on: run `python -m "
                                  f"migrate backup {unit.name}` first")
            continue
        theirs = rows.get("rds")
        if unit in required and theirs is not None:
            following = one(real_rds.execute(
                "select min(id) as id from migration.backups where id > %s",
                (ours["id"],)).fetchone())["id"]
            if theirs["id"] != following:
                raise GateRefused(
                    f"the newest backups of {unit.name} are not of one run (supabase "
                    f"{ours['created_at']:%Y-%m-%d %H:%M:%S}, rds "
                    f"{theirs['created_at']:%Y-%m-%d %H:%M:%S}): run `python -m migrate backup "
                    f"{unit.name}` again")
        found[unit.name] = ours
    return found


# Making a pair ----------------------------------------------------------------------------

def create(pair: Pair, supabase_server: Conn, rds_server: Conn) -> None:
    """Both databases, empty, each marked as a rehearsal's (a comment the next run reads)."""
    for side, server in (("supabase", supabase_server), ("rds", rds_server)):
        name = sql.Identifier(pair.name(side))
        try:
            server.execute(sql.SQL("create database {}").format(name))
        except psycopg.Error as exc:
            raise ToolError(f"cannot create {pair.name(side)} on the {side} server "
                            f"({str(exc).strip().splitlines()[0]}); the role needs CREATEDB "
                            "there") from None
        server.execute(sql.SQL("comment on database {} is {}").format(
            name, sql.Literal(f"migrate rehearse {pair.stamp}: scratch, removed by the next "
                              "`python -m migrate rehearse`")))
    pair.folder.mkdir(parents=True, exist_ok=True)


def build_schemas(pair: Pair) -> list[str]:
    """The operator schema on the Supabase side (with Supabase Auth's part stood in for, as on
    RDS), the platform's on the RDS side; the migrations applied on each."""
    from travel_platform.migrations import HISTORY_DDL, apply_migrations

    with connect(pair.url("supabase"), side="supabase", purpose="migrate rehearse") as conn:
        conn.execute(HISTORY_DDL)
        conn.execute(STAND_IN.read_text())
    applied = apply_migrations(conninfo=pair.url("supabase"), directory=SUPABASE_MIGRATIONS)
    applied += apply_migrations(conninfo=pair.url("rds"), directory=RDS_MIGRATIONS)
    return applied


def restore(pair: Pair, found: dict[str, dict], units: dict[str, Unit], *,
            pg_bin: Path, say: Callable[[str], None]) -> int:
    """Each backup's rows into the Supabase side (checksum checked first), recorded in the
    pair's own state as `start` requires; the identities the profiles point at stood in
    for. The rows restored."""
    url = pair.url("supabase")
    rows = 0
    for name, record in found.items():
        if not Path(record["path"]).is_file():
            raise GateRefused(f"the newest backup of {name}, {record['path']}, is not there: "
                              f"run `python -m migrate backup {name}` again")
        started = time.monotonic()
        backups.restore(pg_bin=pg_bin, url=url, path=Path(record["path"]),
                        expected_sha256=record["sha256"])
        count = sum(v or 0 for v in record["row_counts"].values())
        rows += count
        say(f"restored {name}: {count:,} rows ({time.monotonic() - started:.1f} s)")
    with connect(url, side="supabase", purpose="migrate rehearse") as conn:
        conn.execute("insert into auth.users (id) select id from public.users "
                     "on conflict do nothing")
    with connect(pair.url("rds"), side="rds", purpose="migrate rehearse") as conn:
        state = State(conn)
        for name, record in found.items():
            state.record_backup(units[name], side="supabase", path=record["path"],
                                sha256=record["sha256"], size=record["bytes"],
                                row_counts=record["row_counts"])
    return rows


# Removing pairs -------------------------------------------------------------------------

def scratch_databases(server: Conn) -> dict[str, str]:
    """The rehearsal databases on a server, by name: their stamps."""
    return {row["datname"]: SCRATCH.match(row["datname"])[1]   # type: ignore[index]
            for row in server.execute("select datname from pg_database").fetchall()
            if SCRATCH.match(row["datname"])}


def remove(stamps: set[str], *, supabase_server: Conn, rds_server: Conn,
           supabase_url: str, rds_url: str, folder: Path) -> list[str]:
    """Remove the pairs of `stamps` (all there is of each, whatever its run reached); a line
    per pair saying what went."""
    said = []
    # RDS's side first: its subscriptions go without reaching Supabase's side, whose slots
    # then go with it.
    sides = ((rds_server, rds_url, "rds", _drop_subscriptions, "subscription"),
             (supabase_server, supabase_url, "supabase", _drop_slots, "slot"))
    present = {side: scratch_databases(server) for server, _, side, _, _ in sides}
    for stamp in sorted(stamps):
        gone: list[str] = []
        for server, url, side, drop_objects, kind in sides:
            name = f"rehearsal_{stamp}_{side}"
            if name in present[side]:
                objects = drop_objects(make_conninfo(url, dbname=name))
                server.execute(sql.SQL("drop database {} with (force)").format(
                    sql.Identifier(name)))
                gone += [name] + [f"{kind} {o}" for o in objects]
        logs = folder / f"rehearsal_{stamp}"
        if logs.exists():
            shutil.rmtree(logs)
            gone.append(str(logs))
        if gone:
            said.append(", ".join(gone))
    return said


def _drop_subscriptions(url: str) -> list[str]:
    """Drop the database's subscriptions without reaching their publisher (its slots are
    dropped on its side): a database with a subscription cannot be dropped."""
    with connect(url, side="rds", purpose="migrate rehearse cleanup") as conn:
        names = [row["subname"] for row in conn.execute(
            "select subname from pg_subscription where subdbid = "
            "(select oid from pg_database where datname = current_database())").fetchall()]
        for name in names:
            ident = sql.Identifier(name)
            conn.execute(sql.SQL("alter subscription {} disable").format(ident))
            conn.execute(sql.SQL("alter subscription {} set (slot_name = none)").format(ident))
            conn.execute(sql.SQL("drop subscription {}").format(ident))
    return names


def _drop_slots(url: str) -> list[str]:
    """Drop the database's replication slots (a logical slot is dropped from its own
    database), ending the sessions that stream them first."""
    with connect(url, side="supabase", purpose="migrate rehearse cleanup") as conn:
        names = [row["slot_name"] for row in conn.execute(
            "select slot_name from pg_replication_slots where database = current_database()"
        ).fetchall()]
        for name in names:
            conn.execute("select pg_terminate_backend(active_pid) from pg_replication_slots "
                         "where slot_name = %s and active_pid is not null", (name,))
            for _ in range(50):
                if conn.execute("select pg_drop_replication_slot(slot_name) from "
                                "pg_replication_slots where slot_name = %s and not active",
                                (name,)).fetchone():
                    break
                time.sleep(0.1)
    return names

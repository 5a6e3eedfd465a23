"""What `python -m migrate plan` proves on the servers it is pointed at, before anything moves.

Each check runs against the real servers, not against settings read back: the tool connects
as it will during the move, RDS connects to Supabase as the subscription will (a throw-away
subscription on a one-row publication), each side is asked to enter replica mode, pg_dump is
asked its version. Each finding is one line saying what is wrong and what to do. A
`MISSING` line is a prerequisite the move would fail without (`plan` exits 1); a `NOTE` is
something to act on before `finalize` (objects on Supabase that would go on reading or
writing the frozen copy) or a risk to size (WAL a stalled slot may retain)."""
from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from migrate import replication
from migrate.state import Conn, one
from migrate.units import UNITS, Unit

# Logical replication workers RDS needs: one subscription per unit, plus the table copies
# running at once (aws/infrastructure/rds.tf's parameter group gives as many).
REPLICATION_WORKERS_NEEDED = len(UNITS) + 2
VERIFIED_TLS = ("verify-full", "verify-ca")


@dataclass(frozen=True)
class Finding:
    """One line of `plan`: MISSING (the move would fail) or NOTE (act before finalize)."""

    level: str
    text: str


def supabase_basics(conn: Conn, *, sync_workers: int) -> list[str]:
    """Logical replication, the role's rights, the tables, the fence, slots and senders."""
    problems = []
    if replication.server_setting(conn, "wal_level") != "logical":
        problems.append("Supabase: wal_level is not logical (set wal_level=logical and restart; "
                        "hosted Supabase projects have it)")
    me = one(conn.execute("select rolsuper, rolreplication from pg_roles "
                          "where rolname = current_user").fetchone())
    if not (me["rolsuper"] or me["rolreplication"]):
        problems.append("Supabase: the connecting role lacks REPLICATION (connect as `postgres`, "
                        "directly, not through the pooler)")
    for unit in UNITS:
        for table in unit.tables:
            owned = conn.execute(
                """select pg_has_role(current_user, c.relowner, 'USAGE') as ok from pg_class c
                    where c.oid = to_regclass(%s)""", (f"public.{table}",)).fetchone()
            if owned is None:
                problems.append(f"Supabase: table public.{table} does not exist (apply "
                                "supabase/migrations)")
            elif not owned["ok"]:
                problems.append(f"Supabase: the connecting role does not own public.{table} "
                                "and cannot publish it")
    if one(conn.execute("select to_regprocedure('migration.guard_writes()') is null as no"
                    ).fetchone())["no"]:
        problems.append("Supabase: no write fence enforced by the database (apply "
                        "supabase/migrations)")
    slots = one(conn.execute(
        """select current_setting('max_replication_slots')::int - count(*) as free
             from pg_replication_slots""").fetchone())["free"]
    senders = one(conn.execute(
        """select current_setting('max_wal_senders')::int - count(*) as free
             from pg_stat_replication""").fetchone())["free"]
    needed = 1 + sync_workers
    if slots < needed:
        problems.append(f"Supabase: only {slots} free replication slots; one `start` needs "
                        f"{needed}, 1 plus RDS's max_sync_workers_per_subscription "
                        f"({sync_workers}) (raise max_replication_slots, or lower that setting)")
    if senders < needed:
        problems.append(f"Supabase: only {senders} free WAL senders; one `start` needs "
                        f"{needed}, 1 plus RDS's max_sync_workers_per_subscription "
                        f"({sync_workers}) (raise max_wal_senders)")
    return problems


def rds_basics(conn: Conn) -> list[str]:
    """The migration schema, the right to subscribe, enough replication workers."""
    problems = []
    if one(conn.execute("select to_regclass('migration.units') is null as no").fetchone())["no"]:
        problems.append("RDS: no migration schema (apply aws/migrations: python -m "
                        "travel_platform.migrations --database-url \"$RDS_ADMIN_URL\" "
                        "--dir aws/migrations)")
    # On RDS the master user is not a superuser but a member of rds_superuser.
    on_rds = conn.execute("select 1 from pg_roles where rolname = 'rds_superuser'").fetchone()
    member = "pg_has_role(current_user, 'rds_superuser', 'MEMBER')" if on_rds else "false"
    can = one(conn.execute(f"select rolsuper or {member} as ok from pg_roles "
                           "where rolname = current_user").fetchone())
    if not can["ok"]:
        problems.append("RDS: the connecting role cannot create subscriptions (use the master "
                        "user, a member of rds_superuser)")
    workers = int(replication.server_setting(conn, "max_logical_replication_workers"))
    if workers < REPLICATION_WORKERS_NEEDED:
        problems.append(f"RDS: max_logical_replication_workers is {workers}; raise it to at "
                        f"least {REPLICATION_WORKERS_NEEDED} (parameter group, reboot)")
    return problems


def tls(conn: Conn, *, side: str, url: str, variable: str) -> list[str]:
    """The tool's own connection is encrypted and checks the server's certificate."""
    problems = []
    encrypted = conn.execute("select ssl from pg_stat_ssl where pid = pg_backend_pid()"
                             ).fetchone()
    if not (encrypted and encrypted["ssl"]):
        problems.append(f"{side}: the tool's connection is not encrypted; add "
                        f"sslmode=verify-full and sslrootcert to {variable}")
    mode = _sslmode(url)
    if encrypted and encrypted["ssl"] and mode not in VERIFIED_TLS:
        problems.append(f"{side}: the tool does not check the server's certificate (sslmode="
                        f"{mode}); set sslmode=verify-full and sslrootcert in {variable}")
    return problems


def publisher_tls(url: str) -> list[str]:
    """The subscription RDS will run checks Supabase's certificate too."""
    mode = _sslmode(url)
    if mode in VERIFIED_TLS:
        return []
    return [f"RDS would reach Supabase with sslmode={mode}, not checking its certificate: "
            "set MIGRATE_PUBLISHER_URL with sslmode=verify-full and an sslrootcert path that "
            "exists on the RDS side"]


def _sslmode(url: str) -> str:
    try:
        return str(conninfo_to_dict(url).get("sslmode") or "prefer")
    except psycopg.ProgrammingError:
        return "unreadable"


def replica_mode(conn: Conn, *, side: str) -> list[str]:
    """The tool replays and copies in replica mode (no trigger fires twice); it needs the
    right to set it (superuser; on RDS rds_superuser; on Supabase `postgres`)."""
    try:
        with conn.transaction(force_rollback=True):
            conn.execute("set local session_replication_role = replica")
    except psycopg.Error as exc:
        return [f"{side}: the connecting role may not set session_replication_role "
                f"({_first_line(exc)}); connect as the server's administrator"]
    return []


def pg_dump_version(pg_bin: Path, conns: dict[str, Conn]) -> list[str]:
    """`backup` runs pg_dump, which refuses a server of a newer major version (new Supabase
    projects run PostgreSQL 17)."""
    binary = pg_bin / "pg_dump"
    try:
        said = subprocess.run([str(binary), "--version"], capture_output=True, text=True,
                              timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return [f"no working pg_dump at {binary}: install the PostgreSQL client of the "
                "servers' major version and set MIGRATE_PG_BIN to its bin folder"]
    found = re.search(r"(\d+)(?:\.\d+)?", said)
    ours = int(found.group(1)) if found else 0
    problems = []
    for side, conn in conns.items():
        theirs = int(replication.server_setting(conn, "server_version_num")) // 10000
        if ours < theirs:
            problems.append(f"pg_dump at {binary} is PostgreSQL {ours}, older than {side}'s "
                            f"{theirs}, which it refuses: install postgresql-client-{theirs} "
                            "and set MIGRATE_PG_BIN to its bin folder")
    return problems


def reachability(rds: Conn, supabase: Conn, publisher_url: str) -> list[str]:
    """RDS connects to Supabase exactly as the unit's subscription will: a throw-away
    subscription (no slot, never enabled) on an empty publication, both dropped again.
    Proves the address, the network path (Supabase's direct host is IPv6 only without its
    IPv4 add-on; the pooler cannot carry replication), TLS and the password, from the
    server that needs them."""
    name = f"migrate_probe_{os.getpid()}"
    probe = Unit(name.removeprefix("migrate_"), ())
    try:
        supabase.execute(sql.SQL("create publication {}").format(sql.Identifier(name)))
        try:
            rds.execute(sql.SQL("create subscription {} connection {} publication {} with "
                                "(connect = true, enabled = false, create_slot = false, "
                                "copy_data = false)").format(
                sql.Identifier(name), sql.Literal(publisher_url), sql.Identifier(name)))
        except psycopg.Error as exc:
            return [f"RDS cannot reach Supabase as its subscription will "
                    f"({_first_line(exc)}): open the way from RDS to Supabase's direct "
                    "connection on 5432 (IPv6, or Supabase's IPv4 add-on; not the pooler), or "
                    "set MIGRATE_PUBLISHER_URL to the address RDS sees"]
        rds.execute(sql.SQL("alter subscription {} set (slot_name = none)").format(
            sql.Identifier(name)))
        rds.execute(sql.SQL("drop subscription {}").format(sql.Identifier(name)))
        return []
    finally:
        replication.drop_publication(supabase, probe)


def wal_headroom(supabase: Conn) -> list[Finding]:
    """A slot that retains more WAL than max_slot_wal_keep_size is invalidated (the copy is
    lost and must start again); unlimited, a stalled slot fills the disk."""
    tables = [f"public.{t}" for u in UNITS for t in u.tables]
    size = one(supabase.execute(
        "select coalesce(sum(pg_total_relation_size(to_regclass(t))), 0)::bigint as b "
        "from unnest(%s::text[]) t", (tables,)).fetchone())["b"]
    keep = int(replication.server_setting(supabase, "max_slot_wal_keep_size"))
    mb = max(1, size // 2**20)
    if keep < 0:
        return [Finding("NOTE", f"Supabase: max_slot_wal_keep_size is unlimited: a stalled "
                                f"slot keeps WAL until the disk is full; the tables to copy "
                                f"take {mb:,} MB: watch free disk during `start` (alert "
                                "ReplicationSlotRetainedWal) or set it above that")]
    if keep < mb:
        return [Finding("MISSING", f"Supabase: max_slot_wal_keep_size is {keep:,} MB, less "
                                   f"than the {mb:,} MB of tables to copy: a slot may be "
                                   "invalidated mid-copy; raise it above that")]
    return []


def dependents(supabase: Conn, unit: Unit) -> list[str]:
    """What on Supabase reads or writes the unit's tables besides the API: after `finalize`
    they serve or write the frozen copy in schema supabase_backup."""
    tables = [f"public.{t}" for t in unit.tables]
    # Tables that move themselves bring their triggers and keys along (the same migrations);
    # a finalized unit's are no longer in schema public.
    moving = [r["t"] for r in supabase.execute(
        "select t from unnest(%s::text[]) t where to_regclass(t) is not null",
        ([f"public.{t}" for u in UNITS for t in u.tables],)).fetchall()]
    found = []
    for row in supabase.execute(
            """select distinct format('%%I.%%I', v.relnamespace::regnamespace, v.relname) as name,
                      case v.relkind when 'm' then 'materialized view' else 'view' end as kind
                 from pg_depend d join pg_rewrite r on r.oid = d.objid
                 join pg_class v on v.oid = r.ev_class
                where d.classid = 'pg_rewrite'::regclass
                  and d.refobjid = any(%s::regclass[]) and v.oid <> d.refobjid""",
            (tables,)).fetchall():
        found.append(f"{row['kind']} {row['name']}")
    for row in supabase.execute(
            """select distinct p.pubname from pg_publication p
                where left(p.pubname, 8) <> 'migrate_' and (p.puballtables or exists (
                      select 1 from pg_publication_rel r where r.prpubid = p.oid
                         and r.prrelid = any(%s::regclass[])))""", (tables,)).fetchall():
        found.append(f"publication {row['pubname']} (Realtime, or another subscriber)")
    # The table's name, bare or in schema public (not auth.users for public.users).
    names = r"(?<![.\w])(public\.)?(" + "|".join(re.escape(t) for t in unit.tables) + r")\M"
    for row in supabase.execute(
            """select distinct format('%%I.%%I', c.relnamespace::regnamespace, c.relname)
                      as on_table, t.tgname,
                      p.oid::regprocedure::text as function
                 from pg_trigger t join pg_proc p on p.oid = t.tgfoid
                 join pg_class c on c.oid = t.tgrelid
                where not t.tgisinternal and t.tgrelid <> all(%s::regclass[])
                  and p.prosrc ~* %s""", (moving, names)).fetchall():
        found.append(f"trigger {row['tgname']} on {row['on_table']} (calls "
                     f"{row['function']}, which names the table)")
    if one(supabase.execute("select to_regclass('cron.job') is not null as ok").fetchone())["ok"]:
        for row in supabase.execute("select jobid, command from cron.job where command ~* %s",
                                    (names,)).fetchall():
            found.append(f"cron job {row['jobid']} ({' '.join(row['command'].split())[:60]})")
    for row in supabase.execute(
            """select format('%%I.%%I', r.relnamespace::regnamespace, r.relname) as from_table,
                      c.conname
                 from pg_constraint c join pg_class r on r.oid = c.conrelid
                where c.contype = 'f' and c.confrelid = any(%s::regclass[])
                  and c.conrelid <> all(%s::regclass[])""", (tables, moving)).fetchall():
        found.append(f"foreign key {row['conname']} from {row['from_table']}, which does not "
                     "move")
    return found


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

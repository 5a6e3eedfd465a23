"""Replication slots on Supabase: how much WAL a unit's slot holds back (lag, wal_status),
and the table-sync slots a failed or interrupted copy leaves behind (sweep_sync_slots).
Apart from migrate/replication.py because a slot is Supabase's resource, which the
operators watch (disk held by WAL), while the subscription that uses it lives on RDS."""
from __future__ import annotations

import re

import psycopg

from migrate.replication import name_of, subscription_oid
from migrate.state import Conn
from migrate.units import Unit

# A table-sync slot: pg_<subscription oid>_sync_<relation oid>_<RDS's system identifier>.
SYNC_SLOT = re.compile(r"^pg_(\d+)_sync_(\d+)_(\d+)$")


def system_identifier(rds: Conn) -> int | None:
    """RDS's system identifier (the last part of its table-sync slots' names), or None where
    the tool may not read it."""
    try:
        with rds.transaction():
            row = rds.execute("select system_identifier::text as id from pg_control_system()"
                              ).fetchone()
    except psycopg.errors.InsufficientPrivilege:
        return None
    # A 64-bit unsigned number that PostgreSQL shows as a signed bigint.
    return int(row["id"]) % 2**64 if row else None


def sweep_sync_slots(rds: Conn, supabase: Conn, unit: Unit) -> list[str]:
    """Drop table-sync slots on Supabase that nothing will use again; their names. A slot
    `pg_<subid>_sync_<relid>_<sysid>` made by this RDS is left over when it is inactive and
    either its subscription no longer exists, or it belongs to this unit's subscription and
    its relation is synchronized (s or r: its worker drops the slot before recording that)
    or no longer in the subscription. Slots of other subscribers (another system identifier)
    are never touched; where RDS's identifier cannot be read, only this unit's are."""
    sysid = system_identifier(rds)
    subscriptions = {r["oid"] for r in rds.execute(
        "select oid::bigint as oid from pg_subscription").fetchall()}
    ours = subscription_oid(rds, unit)
    states = {r["relid"]: r["state"] for r in rds.execute(
        "select srrelid::bigint as relid, srsubstate::text as state from pg_subscription_rel "
        "where srsubid = %s", (ours,)).fetchall()} if ours is not None else {}
    dropped = []
    for slot in supabase.execute(
            "select slot_name from pg_replication_slots where not active and database = "
            "current_database() and slot_name ~ '^pg_[0-9]+_sync_[0-9]+_[0-9]+$'").fetchall():
        match = SYNC_SLOT.match(slot["slot_name"])
        if match is None:
            continue
        subid, relid, slot_sysid = (int(g) for g in match.groups())
        if (sysid is None and subid != ours) or (sysid is not None and slot_sysid != sysid):
            continue
        mine_done = subid == ours and states.get(relid, "gone") in ("s", "r", "gone")
        if subid not in subscriptions or mine_done:
            try:
                supabase.execute("select pg_drop_replication_slot(slot_name) from "
                                 "pg_replication_slots where slot_name = %s and not active",
                                 (slot["slot_name"],))
            except psycopg.errors.ObjectInUse:
                continue
            dropped.append(slot["slot_name"])
    return dropped


def slot_wal_status(supabase: Conn, unit: Unit) -> str | None:
    """wal_status of the unit's slot on Supabase (reserved, extended, unreserved, lost), or
    None without one."""
    row = supabase.execute("select wal_status from pg_replication_slots where slot_name = %s",
                           (name_of(unit),)).fetchone()
    return row["wal_status"] if row else None


def lag(supabase: Conn, rds: Conn, unit: Unit) -> dict:
    """Replication lag of the unit: bytes behind on Supabase's slot, and seconds."""
    slot = supabase.execute(
        """select pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint as bytes
             from pg_replication_slots where slot_name = %s""", (name_of(unit),)).fetchone()
    if slot is None:
        return {"bytes": None, "seconds": None}
    seconds: float | None = 0.0
    if slot["bytes"]:
        sub = rds.execute(
            """select extract(epoch from now() - max(latest_end_time))::float as s
                 from pg_stat_subscription where subname = %s""", (name_of(unit),)).fetchone()
        seconds = sub["s"] if sub and sub["s"] is not None else None
    return {"bytes": slot["bytes"], "seconds": seconds}

"""`status`: per unit, its state, rows, lag, verification, fences, holds and routing."""
from __future__ import annotations

import json
from typing import Any

from migrate import fences, initial_copy, logins, replication, slots
from migrate.copywatch import STATES, SYNCHRONIZED
from migrate.run import LOGINS_UNIT, Run
from migrate.state import WRITES_ON_RDS, Conn, ToolError
from migrate.units import UNITS, Unit


def status(run: Run, *, as_json: bool) -> int:
    """Per unit: state, rows on each side, lag, verification, shadow, routing, backups."""
    report: list[dict[str, Any]] = []
    for row in run.state.rows():
        unit = next(u for u in UNITS if u.name == row["unit"])
        tables = list(unit.tables)
        source_rows = replication.row_counts(run.supabase, unit.tables)
        target_rows = replication.row_counts(run.rds, unit.tables)
        lag = slots.lag(run.supabase, run.rds, unit)
        moved = row["state"] in WRITES_ON_RDS
        reads = row["state"] in ("reads_switched", "writes_switched", "finalized", "dropped")
        compared = row["shadow_compared"]
        backups_by_side = run.state.latest_backup(unit)
        report.append({
            "unit": unit.name, "tables": tables, "state": row["state"],
            "reads_from": "rds" if reads else "supabase",
            "writes_to": "rds" if moved else "supabase",
            "rows_supabase": source_rows, "rows_rds": target_rows,
            "lag_bytes": lag["bytes"], "lag_seconds": lag["seconds"],
            "verified_at": row["verified_at"].isoformat() if row["verified_at"] else None,
            "mismatches": row["verify_mismatches"],
            "shadow": row["shadow"], "shadow_compared": compared,
            "shadow_mismatched": row["shadow_mismatched"], "shadow_lagged": row["shadow_lagged"],
            "shadow_mismatch_rate": (row["shadow_mismatched"] / compared) if compared else None,
            "switches_with": unit.switches_with,
            "hold": _hold_of(row),
            "fences": {side: _fences_of(conn, unit) for side, conn in
                       (("supabase", run.supabase), ("rds", run.rds))},
            "suspended_fks": [{"name": fk["name"], "side": fk.get("side", "rds"),
                               "table": fk["table"], "references": fk["references"]}
                              for fk in row["suspended_fks"]],
            "backups": {side: {"path": b["path"], "sha256": b["sha256"], "bytes": b["bytes"],
                               "at": b["created_at"].isoformat()}
                        for side, b in backups_by_side.items()},
        })
        report[-1]["copy"] = _copy_report(run, unit, row["state"])
        if unit.name == LOGINS_UNIT:
            report[-1]["logins"] = _login_census(run)
    if as_json:
        print(json.dumps(report, indent=2, default=str))
        return 0
    for item in report:
        print(f"{item['unit']:<11} {item['state']:<16} reads: {item['reads_from']:<9} "
              f"writes: {item['writes_to']}")
        for table in item["tables"]:
            print(f"  {table:<38} supabase {_n(item['rows_supabase'][table]):>10}   "
                  f"rds {_n(item['rows_rds'][table]):>10}")
        lag_text = ("no replication" if item["lag_bytes"] is None else
                    f"{item['lag_bytes']:,} bytes, {item['lag_seconds'] or 0:.1f} s")
        print(f"  lag: {lag_text}")
        for side, found in item["fences"].items():
            print(f"  fence on {side}: {_fence_text(found)}")
        if item["hold"]:
            hold = item["hold"]
            print(f"  writes held by {hold['by']} until {hold['until']}"
                  + (" (lease over: left by a dead run; the next command undoes it)"
                     if hold["expired"] else ""))
        for fk in item["suspended_fks"]:
            print(f"  foreign key {fk['name']} ({fk['table']} -> {fk['references']}) suspended "
                  f"on {fk['side']} until both take writes there")
        print(f"  verified: {item['verified_at'] or 'never'}"
              + (f", {item['mismatches']} mismatching rows" if item["verified_at"] else ""))
        rate = item["shadow_mismatch_rate"]
        print(f"  shadow: {'on' if item['shadow'] else 'off'}, {item['shadow_compared']} reads "
              f"compared, {item['shadow_mismatched']} mismatched"
              f"{f' ({rate:.2%})' if rate is not None else ''}, {item['shadow_lagged']} lagged")
        if item["copy"]:
            _print_copy(item["copy"])
        if "logins" in item:
            moved = item["logins"]
            print("  logins: " + (moved["error"] if "error" in moved else
                  f"{moved['moved']} operators moved to the operators' pool "
                  f"({moved['by_login']} by signing in, {moved['imported']} imported), "
                  f"{moved['remaining']} remain; {moved['not_moved_inactive']} banned or "
                  "deleted are not moved"))
            for stuck in moved.get("cannot_move", []):
                print(f"  CANNOT MOVE operator {stuck['id']}: {stuck['why']}; give them an "
                      "e-mail in Supabase Auth, or ban or delete them if they are gone "
                      "(finalize waits)")
        if item["backups"]:
            for side, b in sorted(item["backups"].items()):
                print(f"  backup {side}: {b['path']} ({b['bytes']:,} bytes, sha256 "
                      f"{b['sha256'][:12]}…, {b['at']})")
        else:
            print("  backup: none")
    return 0


def _hold_of(row: dict) -> dict | None:
    if row["hold_until"] is None:
        return None
    return {"by": row["held_by"], "until": row["hold_until"].isoformat(),
            "expired": row["hold_until"] < row["now"]}


def _fences_of(conn: Conn, unit: Unit) -> dict[str, dict]:
    """Per table: whether this side takes its writes, why, and the hold's run and lease."""
    return {table: {"accepting": f["accepting"], "reason": f["reason"], "held_by": f["held_by"],
                    "lease_until": f["lease_until"].isoformat() if f["lease_until"] else None,
                    "lease_expired": bool(f["lease_expired"])}
            for table, f in fences.fences(conn, unit.tables).items()}


def _fence_text(found: dict[str, dict]) -> str:
    if not found:
        return "none (writes accepted)"
    texts = sorted({("open" if f["accepting"] else "closed") + f" ({f['reason']})"
                    + (f", held by {f['held_by']} until {f['lease_until']}"
                       + (" (lease over)" if f["lease_expired"] else "") if f["held_by"] else "")
                    for f in found.values()})
    return "; ".join(texts)


def _copy_report(run: Run, unit: Unit, state: str) -> dict | None:
    """The unit's subscription as the servers show it: each relation's sync state in words,
    its table-sync worker and COPY progress, whether its table-sync slot exists, and why it
    is stuck (its copy done but its slot gone, or named by the last `start`); the error
    counts and the slot's wal_status. None without a subscription."""
    snapshot = initial_copy.observe(run.rds, run.supabase, unit)
    if snapshot is None:
        return None
    named: dict[str, str] = {}
    if state == "copying":
        last = run.rds.execute(
            """select details from migration.events
                where unit = %s and command = 'start'
                  and (outcome = 'started' or details ? 'stuck' or details ? 'recopied')
                order by id desc limit 1""", (unit.name,)).fetchone()
        if last and last["details"] and "stuck" in last["details"]:
            named = {n: "named stuck by the last `start`: " + last["details"].get("why", {})
                     .get(n, "") for n in last["details"]["stuck"]}
    relations = []
    for r in snapshot.relations:
        stuck = None
        if r.state == "f" and not r.sync_slot:
            stuck = "its copy is done but its table-sync slot on Supabase is gone"
        elif r.state not in SYNCHRONIZED:
            stuck = named.get(r.name)
        relations.append({"relation": r.name, "state": r.state, "state_name": STATES[r.state][0],
                          "meaning": STATES[r.state][1], "worker_pid": r.pid,
                          "copied_rows": r.copied, "sync_slot": r.sync_slot, "stuck": stuck})
    present = {r.name for r in snapshot.relations}
    for name in initial_copy.relations_of(unit):
        if name not in present:
            relations.append({"relation": name, "state": None, "state_name": "NOT SUBSCRIBED",
                              "meaning": "out of the subscription; `start` re-copies it",
                              "worker_pid": None, "copied_rows": None, "sync_slot": False,
                              "stuck": named.get(name)})
    return {"subscription": replication.name_of(unit), "apply_worker_pid": snapshot.apply_pid,
            "sync_error_count": snapshot.sync_errors, "apply_error_count": snapshot.apply_errors,
            "slot_wal_status": slots.slot_wal_status(run.supabase, unit),
            "relations": relations}


def _print_copy(copy: dict) -> None:
    print(f"  subscription: apply worker {copy['apply_worker_pid'] or 'NOT RUNNING'}, sync "
          f"errors {copy['sync_error_count']}, apply errors {copy['apply_error_count']}, slot "
          f"{copy['slot_wal_status'] or 'MISSING'}")
    relations = copy["relations"]
    if all(r["state"] == "r" for r in relations):
        print(f"  relations: all {len(relations)} READY")
        return
    for r in relations:
        worker = f", worker {r['worker_pid']}" if r["worker_pid"] else ""
        copied = f", {r['copied_rows']:,} rows copied" if r["copied_rows"] else ""
        stuck = f"; STUCK: {r['stuck']}" if r["stuck"] else ""
        print(f"  {r['relation']:<45} {r['state'] or '-'} ({r['state_name']}: {r['meaning']})"
              f"{worker}{copied}{stuck}")


def _login_census(run: Run) -> dict:
    try:
        return logins.census(run.settings, run.rds).as_dict()
    except ToolError as exc:
        return {"error": f"unknown ({exc})"}


def _n(value) -> str:
    return "-" if value is None else f"{value:,}"

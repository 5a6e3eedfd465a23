"""`backup`: a copy of the unit's tables on Supabase before anything moves."""
from __future__ import annotations

import datetime

from migrate import backup as backups
from migrate import replication
from migrate.run import Run
from migrate.units import Unit


def backup(run: Run, unit: Unit) -> int:
    """Dump the unit's tables of both sides (RDS once it has them)."""
    folder = run.settings.migrate_backup_dir.resolve()
    for side, url, conn in (("supabase", run.settings.supabase_db_admin_url, run.supabase),
                            ("rds", run.settings.rds_admin_url, run.rds)):
        counts = replication.row_counts(conn, unit.tables)
        if any(v is None for v in counts.values()):
            run.say(f"{side}: the tables of {unit.name} do not exist there yet; nothing to dump")
            continue
        path, digest, size = backups.dump(pg_bin=run.settings.migrate_pg_bin,
                                          url=url.get_secret_value(), unit=unit, side=side,
                                          folder=folder)
        run.state.record_backup(unit, side=side, path=str(path), sha256=digest, size=size,
                                row_counts=counts)
        rows = sum(v or 0 for v in counts.values())
        run.say(f"{side}: {path} ({size:,} bytes, {rows:,} rows, sha256 {digest})")
    _prune_backups(run)
    run.state.event(unit, "backup", "done", "backed up")
    return 0


def _prune_backups(run: Run) -> None:
    """Backups past their retention go (the newest of each unit and side stays)."""
    keep = run.settings.migrate_backup_keep_days
    gone = backups.prune(run.settings.migrate_backup_dir.resolve(), keep_days=keep,
                         now=datetime.datetime.now(datetime.UTC))
    if gone:
        run.say(f"deleted {len(gone)} backups older than {keep} days: "
                f"{', '.join(p.name for p in gone)}")

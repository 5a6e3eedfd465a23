"""One command's run of the tool: its connections to both sides and its recorded
state, and what several steps share."""
from __future__ import annotations

from dataclasses import dataclass

from migrate import failpoints, fences, holds
from migrate.settings import MigrateSettings
from migrate.state import Conn, State, connect, one
from migrate.units import Unit

BACKUP_SCHEMA = "supabase_backup"
MOVING = ("copying", "replicating", "reads_switched")
# The unit whose move carries the operators' logins to Cognito (migrate/logins.py).
LOGINS_UNIT = "operators"


@dataclass
class Run:
    """One command's connections and state."""

    settings: MigrateSettings
    supabase: Conn
    rds: Conn
    state: State
    command: str
    who: str = ""
    # `switch-writes --without-snapshot`: no RDS snapshot before the cutover (migrate/snapshot.py).
    without_snapshot: bool = False

    def say(self, message: str) -> None:
        print(message, flush=True)


def open_run(settings: MigrateSettings, command: str, purpose: str) -> Run:
    """Connect to both sides (RDS first: it holds the state and the lock)."""
    rds = connect(settings.rds_admin_url.get_secret_value(), side="rds", purpose=purpose)
    supabase = connect(settings.supabase_db_admin_url.get_secret_value(), side="supabase",
                       purpose=purpose)
    return Run(settings=settings, supabase=supabase, rds=rds, state=State(rds), command=command,
               who=purpose)


def rds_now(run: Run):
    return one(run.rds.execute("select now() as t").fetchone())["t"]


def pause_at(run: Run, point: str) -> None:
    failpoints.pause(point, run.settings.migrate_pause_at)


def reopen_fence(run: Run, group: tuple[Unit, ...], tables: list[str], *, on: Conn,
                 reason: str) -> None:
    """Undo a hold that did not switch: the fence of `tables` opens again on `on` (the side
    that kept the tables), and writers stop waiting."""
    fences.set_fence(on, tables, accepting=True, reason=reason, lock_timeout_ms=5000)
    holds.release_hold(run, group)

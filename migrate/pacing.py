"""verify's pacing (gh-ost's --max-lag-millis and --max-load): a policy about the production
servers, apart from what verify compares, so it is read and changed on its own. verify.py
calls it before each step of its scans, each recheck and each drill-down."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from migrate import replication
from migrate.state import Conn, ToolError, one
from migrate.units import Unit


class Pacer:
    """Called before each step of a verify: returns at once unless RDS lags or Supabase is
    busy, then waits (saying so every few seconds) until neither holds, and gives up with
    one line once it has waited `max_wait` seconds in all.

    The lag is measured with the unit's heartbeat (pt-heartbeat's way): a beat is committed
    on Supabase and, while RDS has not applied it, RDS is at least as far behind as the
    beat is old. It is read on RDS's own table, so it holds whatever pg_stat_subscription
    reports, and it is in seconds, what a reader of RDS notices. The load is the number of
    Supabase sessions running a statement (not this tool's, not WAL senders)."""

    CHECK_EVERY = 0.25   # seconds between two checks
    PAUSE = 0.5          # seconds slept between two checks while waiting
    SAY_EVERY = 5.0      # seconds between two "waiting" lines

    def __init__(self, supabase: Conn, rds: Conn, unit: Unit, *, max_lag_seconds: float,
                 max_active_sessions: int, max_wait_seconds: float,
                 say: Callable[[str], None]) -> None:
        self.supabase, self.rds, self.unit, self.say = supabase, rds, unit, say
        self.max_lag, self.max_active = max_lag_seconds, max_active_sessions
        self.max_wait = max_wait_seconds
        self.waited = 0.0
        self._checked = float("-inf")
        self._beat: tuple[int, float] | None = None   # (value, when committed) not yet applied

    @classmethod
    def of(cls, settings: Any, supabase: Conn, rds: Conn, unit: Unit,
           say: Callable[[str], None]) -> Pacer:
        """The pacer the settings (MIGRATE_MAX_LAG_SECONDS, ...) ask for."""
        return cls(supabase, rds, unit, max_lag_seconds=settings.migrate_max_lag_seconds,
                   max_active_sessions=settings.migrate_max_active_sessions,
                   max_wait_seconds=settings.migrate_max_pacing_seconds, say=say)

    def __call__(self) -> None:
        if time.monotonic() - self._checked < self.CHECK_EVERY:
            return
        said = float("-inf")
        while (why := self._why_wait()) is not None:
            if self.waited >= self.max_wait:
                raise ToolError(f"verify {self.unit.name} gave up after waiting "
                                f"{self.waited:.0f} s in all (MIGRATE_MAX_PACING_SECONDS="
                                f"{self.max_wait:g}): {why}; run it again when RDS has caught "
                                "up or Supabase is quieter")
            if time.monotonic() - said >= self.SAY_EVERY:
                self.say(f"verify {self.unit.name}: waiting, {why} "
                         f"({self.waited:.0f} s waited so far)")
                said = time.monotonic()
            time.sleep(self.PAUSE)
            self.waited += self.PAUSE
        self._checked = time.monotonic()

    def _why_wait(self) -> str | None:
        lag = self._lag()
        if lag > self.max_lag:
            return (f"RDS applies Supabase's changes {lag:.1f} s late "
                    f"(MIGRATE_MAX_LAG_SECONDS={self.max_lag:g})")
        active = one(self.supabase.execute(
            """select count(*) as n from pg_stat_activity
                where state = 'active' and backend_type = 'client backend'
                  and pid <> pg_backend_pid()""").fetchone())["n"]
        if active > self.max_active:
            return (f"{active} sessions are running statements on Supabase "
                    f"(MIGRATE_MAX_ACTIVE_SESSIONS={self.max_active})")
        return None

    def _lag(self) -> float:
        """Seconds RDS is behind at least; a new beat is sent once the last one arrived."""
        if self._beat is not None:
            row = self.rds.execute("select beat from migration.heartbeat where unit = %s",
                                   (self.unit.name,)).fetchone()
            if row is None or row["beat"] < self._beat[0]:
                return time.monotonic() - self._beat[1]
        self._beat = (replication.beat(self.supabase, self.unit), time.monotonic())
        return 0.0

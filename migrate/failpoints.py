"""Named points where the tool can be made to stop, for fault drills: with
MIGRATE_PAUSE_AT=switch-writes:fence-closed the tool says so on stderr and waits there until
it is killed, or sent SIGUSR1 (then it goes on), so a drill (or a test) can kill -9 it at
exactly that statement boundary, or restart a server under it, and watch what the platform
does. It changes nothing else: the code that runs is the code that always runs (etcd's and
TiKV's failpoints, reduced to the one action a drill needs).

The points, in the order the commands reach them, are POINTS."""
from __future__ import annotations

import os
import signal
import sys
import threading

POINTS = (
    "start:guarded",                 # guards and the DDL refusal in place, state still new
    "switch-writes:before-hold",     # verified, nothing held yet
    "switch-writes:hold-set",        # operator-service's writers wait (hold_until)
    "switch-writes:fence-closed",    # Supabase refuses writes
    "switch-writes:caught-up",       # RDS applied everything Supabase committed
    "switch-writes:verified",        # the rows written since the full verify are equal
    "switch-writes:flipped",         # RDS takes the writes (committed)
    "switch-writes:unsubscribed",    # the subscription is gone, foreign keys not restored
    "rollback:caught-up",            # RDS's writes replayed onto Supabase, nothing held
    "rollback:hold-set",             # operator-service's writers wait
    "rollback:fence-closed",         # RDS refuses writes
    "rollback:replayed",             # the last changes replayed and checked on Supabase
    "rollback:flipped",              # the state says Supabase (committed), its fence closed
    "rollback:reopened",             # Supabase takes writes; capture and subscription left
)


def pause(point: str, pause_at: str) -> None:
    """Stop here until killed or sent SIGUSR1 if `point` is one of the comma-separated
    `pause_at`."""
    if point not in POINTS:
        raise ValueError(f"unknown failpoint {point}")
    if point in {p.strip() for p in pause_at.split(",")}:
        resumed = threading.Event()
        previous = signal.signal(signal.SIGUSR1, lambda *_: resumed.set())
        print(f"failpoint {point}: paused (pid {os.getpid()})", file=sys.stderr, flush=True)
        while not resumed.wait(0.1):
            pass
        signal.signal(signal.SIGUSR1, previous)

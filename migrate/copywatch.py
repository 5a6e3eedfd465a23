"""Judging, from what the servers show, whether a relation's initial copy can still finish.

PostgreSQL copies each relation of a subscription with a table-sync worker that walks it
through the states of `pg_subscription_rel.srsubstate` (below) and retries a failed copy
forever. A copy that can never succeed therefore looks like one that is merely slow: this
module tells them apart from two or more observations taken over time, with no I/O of its
own (migrate/initial_copy.py takes the observations), so each rule is tested on its own.

A relation not yet synchronized (state i, d or f) is judged stuck when:

- it is in FINISHEDCOPY (f) and its table-sync slot on Supabase is gone: the worker will
  stream from that slot to catch up, so it fails on every relaunch, forever (the CI stall:
  a worker killed between dropping its slot on Supabase and committing SYNCDONE on RDS);
- the subscription's `sync_error_count` rose (by RETRIES_NEEDED) since the relation last
  moved, and it has not moved for ERRORS_GRACE_SECONDS: a copy that fails and is retried;
- it has had no table-sync worker for NO_WORKER_GRACE_SECONDS while the subscription had a
  free worker (a relation waiting for one of the `max_sync_workers_per_subscription` is
  queued, not stuck);
- it has not moved for the stall period (MIGRATE_COPY_STALL_SECONDS) while not queued.

"Moved" means any of: its state, its state LSN, the rows its COPY has processed, or the
WAL its worker has received changed.

PG15 keeps no text of a worker's last error in any view (`pg_stat_subscription_stats` has
only counts; 16 and 17 do not add it either): it goes to the server log only, which a remote
tool cannot read on RDS (it is in the console, CloudWatch, or `aws rds
download-db-log-file-portion`). So the tool reproduces what it can: see
initial_copy.probe_copy, which copies a sample of the rows itself and reports the error the
server gives it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

# pg_subscription_rel.srsubstate, in the order a relation goes through them.
STATES: dict[str, tuple[str, str]] = {
    "i": ("INIT", "waiting for a table-sync worker"),
    "d": ("DATASYNC", "copying its rows"),
    "f": ("FINISHEDCOPY", "copy done, catch-up pending"),
    "s": ("SYNCDONE", "copy and catch-up done, handed to the apply worker"),
    "r": ("READY", "replicating"),
}
SYNCHRONIZED = ("s", "r")
# A worker relaunch takes up to wal_retrieve_retry_interval (5 s by default): two errors
# without a move in 10 s is a copy that keeps failing, not a one-off (such as "slot is
# active for PID", which resolves itself once the old WAL sender exits).
RETRIES_NEEDED = 2
ERRORS_GRACE_SECONDS = 10.0
NO_WORKER_GRACE_SECONDS = 30.0
# A table-sync slot is dropped in the same RDS transaction that records SYNCDONE; for the
# instant between the two, a healthy relation is in f without a slot.
NO_SLOT_GRACE_SECONDS = 3.0


def described(state: str) -> str:
    """A state letter with its name and meaning: "f (FINISHEDCOPY: copy done, ...)"."""
    name, meaning = STATES.get(state, ("UNKNOWN", "not a state PostgreSQL 15 knows"))
    return f"{state} ({name}: {meaning})"


@dataclass(frozen=True)
class Relation:
    """One relation of the subscription, as observed once."""

    relid: int
    name: str                    # schema.table
    state: str                   # pg_subscription_rel.srsubstate
    lsn: str | None              # srsublsn
    pid: int | None              # its table-sync worker, if one runs
    copied: int | None           # pg_stat_progress_copy.tuples_processed of that worker
    received: str | None         # pg_stat_subscription.received_lsn of that worker
    sync_slot: bool              # its pg_<subid>_sync_<relid>_<sysid> slot is on Supabase

    @property
    def progress(self) -> tuple:
        """What changes while the relation moves towards READY."""
        return (self.state, self.lsn, self.copied, self.received)


@dataclass(frozen=True)
class Snapshot:
    """The whole subscription, as observed once."""

    at: float                    # monotonic seconds
    relations: tuple[Relation, ...]
    sync_errors: int
    apply_errors: int
    apply_pid: int | None
    sync_workers: int            # running table-sync workers of this subscription
    max_sync_workers: int        # max_sync_workers_per_subscription
    workers_free: bool           # max_logical_replication_workers not all in use

    @property
    def queueing(self) -> bool:
        """Whether a relation without a worker may just be waiting for one."""
        return self.sync_workers >= self.max_sync_workers or not self.workers_free


@dataclass(frozen=True)
class Track:
    """What the watchdog remembers of one relation between observations."""

    progress: tuple
    moved_at: float              # when its progress last changed
    errors_at_move: int          # the subscription's sync_error_count then
    served_at: float             # when it last had a worker, or was queued for one
    slotless_since: float | None  # since when it has been in f without its sync slot


def follow(track: Track | None, relation: Relation, snapshot: Snapshot) -> Track:
    """The relation's track after one more observation."""
    now = snapshot.at
    served = relation.pid is not None or snapshot.queueing
    slotless = relation.state == "f" and not relation.sync_slot
    if track is None or relation.progress != track.progress:
        return Track(progress=relation.progress, moved_at=now,
                     errors_at_move=snapshot.sync_errors, served_at=now,
                     slotless_since=now if slotless else None)
    return replace(track,
                   served_at=now if served else track.served_at,
                   slotless_since=(track.slotless_since if track.slotless_since is not None
                                   else now) if slotless else None)


def judge(track: Track, relation: Relation, snapshot: Snapshot, *,
          stall_seconds: float) -> str | None:
    """Why the relation's copy cannot finish, in words; None while it may still."""
    if relation.state in SYNCHRONIZED:
        return None
    now = snapshot.at
    still = now - track.moved_at
    if track.slotless_since is not None and now - track.slotless_since >= NO_SLOT_GRACE_SECONDS:
        return ("its copy is done but its table-sync slot on Supabase is gone, so its "
                "catch-up fails on every relaunch")
    errors = snapshot.sync_errors - track.errors_at_move
    if errors >= RETRIES_NEEDED and still >= ERRORS_GRACE_SECONDS:
        return (f"the subscription's sync_error_count rose by {errors} while it made no "
                f"progress for {still:.0f} s: its copy fails and is retried")
    if now - track.served_at >= NO_WORKER_GRACE_SECONDS:
        return (f"it has had no table-sync worker for {now - track.served_at:.0f} s although "
                "one was free")
    if still >= stall_seconds and not (relation.pid is None and snapshot.queueing):
        return f"it made no progress for {still:.0f} s"
    return None


@dataclass(frozen=True)
class Stuck:
    """A relation whose copy cannot finish, and why."""

    name: str
    state: str
    why: str
    # Whether its cause is gone already, so that a re-copy now can succeed (a slot lost in
    # the SYNCDONE race); otherwise a person removes the cause first.
    repairable_now: bool

    def line(self) -> str:
        """The relation, its state in words, and why."""
        return f"{self.name} is stuck in state {described(self.state)}: {self.why}"


class Watchdog:
    """Follows the relations of one subscription across observations."""

    def __init__(self, stall_seconds: float):
        self.stall_seconds = stall_seconds
        self.tracks: dict[int, Track] = {}

    def observe(self, snapshot: Snapshot) -> list[Stuck]:
        """Take one more observation; the relations judged stuck now."""
        stuck = []
        seen = set()
        for relation in snapshot.relations:
            seen.add(relation.relid)
            track = follow(self.tracks.get(relation.relid), relation, snapshot)
            self.tracks[relation.relid] = track
            why = judge(track, relation, snapshot, stall_seconds=self.stall_seconds)
            if why is not None:
                stuck.append(Stuck(name=relation.name, state=relation.state, why=why,
                                   repairable_now=track.slotless_since is not None))
        for relid in set(self.tracks) - seen:
            del self.tracks[relid]
        return stuck

    def slow(self, snapshot: Snapshot, *, after: float = 10.0) -> list[tuple[str, str, float]]:
        """(relation, state, seconds without progress) of relations not moving for `after`
        seconds, for the progress line."""
        return [(r.name, r.state, snapshot.at - self.tracks[r.relid].moved_at)
                for r in snapshot.relations
                if r.state not in SYNCHRONIZED and r.relid in self.tracks
                and snapshot.at - self.tracks[r.relid].moved_at >= after]

"""The copy watchdog's judgement (migrate/copywatch.py), from observations alone: a copy that
moves is never named, one that cannot finish is named, with why, within its grace period."""
from __future__ import annotations

from dataclasses import replace

from migrate.copywatch import (
    ERRORS_GRACE_SECONDS,
    NO_SLOT_GRACE_SECONDS,
    NO_WORKER_GRACE_SECONDS,
    Relation,
    Snapshot,
    Watchdog,
    described,
)

STALL = 60.0
STOPS = Relation(relid=1, name="public.stops", state="d", lsn=None, pid=100, copied=0,
                 received=None, sync_slot=True)


def snapshot(at: float, *relations: Relation, sync_errors: int = 0, sync_workers: int = 1,
             max_sync_workers: int = 4, workers_free: bool = True) -> Snapshot:
    return Snapshot(at=at, relations=relations, sync_errors=sync_errors, apply_errors=0,
                    apply_pid=99, sync_workers=sync_workers, max_sync_workers=max_sync_workers,
                    workers_free=workers_free)


def first_named(watchdog: Watchdog, observations) -> tuple[float, str] | None:
    for snap in observations:
        stuck = watchdog.observe(snap)
        if stuck:
            return snap.at, stuck[0].why
    return None


def test_a_copy_that_moves_is_never_named_however_long_it_takes():
    dog = Watchdog(STALL)
    observations = [snapshot(t, replace(STOPS, copied=t * 1000)) for t in range(0, 3600, 5)]
    assert first_named(dog, observations) is None


def test_synchronized_relations_are_never_named():
    dog = Watchdog(STALL)
    for state in ("s", "r"):
        frozen = replace(STOPS, state=state, pid=None)
        assert first_named(dog, [snapshot(t, frozen, sync_errors=t) for t in range(0, 600, 5)]
                           ) is None


def test_a_copy_that_fails_and_is_retried_is_named_from_the_rising_error_count():
    dog = Watchdog(STALL)
    # The worker fails every 5 s (the default retry interval); in between it has none.
    observations = [snapshot(t, replace(STOPS, pid=None if t % 5 else 100 + t),
                             sync_errors=t // 5) for t in range(0, 120)]
    named = first_named(dog, observations)
    assert named is not None
    at, why = named
    assert ERRORS_GRACE_SECONDS <= at <= 15
    assert "sync_error_count rose by" in why and "fails and is retried" in why


def test_one_error_then_progress_is_not_a_stuck_copy():
    dog = Watchdog(STALL)
    observations = [snapshot(0, STOPS), snapshot(1, STOPS, sync_errors=1)]
    observations += [snapshot(t, replace(STOPS, copied=t), sync_errors=1) for t in range(2, 300)]
    assert first_named(dog, observations) is None


def test_errors_of_another_relation_are_not_blamed_on_one_that_moves():
    dog = Watchdog(STALL)
    big = replace(STOPS, relid=2, name="public.big")
    observations = [snapshot(t, replace(big, copied=t * 10), replace(STOPS, pid=None),
                             sync_errors=t) for t in range(0, 30)]
    named = [s.name for snap in observations for s in dog.observe(snap)]
    assert "public.big" not in named and "public.stops" in named


def test_copy_done_with_its_slot_gone_is_named_at_once_and_can_be_repaired_now():
    dog = Watchdog(STALL)
    lost = replace(STOPS, state="f", lsn="0/3000060", sync_slot=False, copied=None)
    assert dog.observe(snapshot(0, lost)) == []
    stuck = dog.observe(snapshot(NO_SLOT_GRACE_SECONDS, lost))
    assert [s.name for s in stuck] == ["public.stops"]
    assert stuck[0].repairable_now and "table-sync slot on Supabase is gone" in stuck[0].why
    assert "FINISHEDCOPY: copy done, catch-up pending" in stuck[0].line()


def test_the_instant_between_slot_drop_and_syncdone_is_not_named():
    dog = Watchdog(STALL)
    finishing = replace(STOPS, state="f", lsn="0/3000060", sync_slot=False)
    assert dog.observe(snapshot(0, finishing)) == []
    assert dog.observe(snapshot(0.2, replace(finishing, state="s"))) == []


def test_no_worker_while_one_is_free_is_named_after_the_grace_period():
    dog = Watchdog(STALL)
    orphan = replace(STOPS, state="i", pid=None)
    named = first_named(dog, [snapshot(t, orphan, sync_workers=0) for t in range(0, 120)])
    assert named is not None
    assert named[0] == NO_WORKER_GRACE_SECONDS and "no table-sync worker" in named[1]


def test_a_relation_queued_for_a_busy_worker_is_not_named():
    dog = Watchdog(STALL)
    queued = replace(STOPS, state="i", pid=None)
    observations = [snapshot(t, queued, sync_workers=4) for t in range(0, 600, 5)]
    assert first_named(dog, observations) is None
    observations = [snapshot(t, queued, sync_workers=1, workers_free=False)
                    for t in range(600, 1200, 5)]
    assert first_named(dog, observations) is None


def test_a_worker_without_progress_is_named_after_the_stall_period():
    dog = Watchdog(STALL)
    named = first_named(dog, [snapshot(t, STOPS) for t in range(0, 120)])
    assert named == (STALL, "it made no progress for 60 s")


def test_a_state_change_counts_as_progress():
    dog = Watchdog(STALL)
    states = ["i"] * 50 + ["d"] * 50 + ["f"] * 50 + ["s"]
    observations = [snapshot(t, replace(STOPS, state=s)) for t, s in enumerate(states)]
    assert first_named(dog, observations) is None


def test_each_state_is_described_in_words():
    assert described("f") == "f (FINISHEDCOPY: copy done, catch-up pending)"
    assert described("d").startswith("d (DATASYNC")
    assert "UNKNOWN" in described("x")

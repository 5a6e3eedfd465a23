"""What the reconciler makes of each recorded state (no I/O): which side's fence it opens,
which it closes, and that it never lets both sides take a unit's writes."""
from __future__ import annotations

import pytest

from migrate import fences
from migrate.failpoints import POINTS, pause
from migrate.holds import describe
from migrate.reconcile import expected_fence, owner

STATES = ("new", "copying", "replicating", "reads_switched", "writes_switched", "rolled_back",
          "finalized", "dropped")


@pytest.mark.parametrize("state", STATES)
def test_at_most_one_side_takes_writes_in_any_state(state):
    wanted = {side: expected_fence(state, side) for side in ("supabase", "rds")}
    open_sides = [side for side, want in wanted.items() if want and want[0]]
    assert len(open_sides) <= 1
    if open_sides:
        assert open_sides == [owner(state)]


def test_writes_follow_the_recorded_state():
    assert expected_fence("reads_switched", "supabase") == (True, fences.SUPABASE_HOLDS)
    assert expected_fence("reads_switched", "rds") == (False, fences.COPY_OF_SUPABASE)
    assert expected_fence("writes_switched", "supabase") == (False, fences.MOVED_TO_RDS)
    assert expected_fence("writes_switched", "rds") == (True, fences.RDS_HOLDS)
    assert expected_fence("rolled_back", "rds") == (False, fences.STALE_COPY)
    assert expected_fence("rolled_back", "supabase") == (True, fences.SUPABASE_HOLDS)
    # Nothing to say before a move starts, nor once a later step cleared the fences.
    assert {expected_fence(s, side) for s in ("new", "finalized", "dropped")
            for side in ("supabase", "rds")} == {None}


def test_a_failpoint_pauses_only_where_it_is_named():
    pause(POINTS[0], "")                            # not named: returns at once
    pause(POINTS[0], f"{POINTS[1]}, {POINTS[2]}")
    with pytest.raises(ValueError):
        pause("switch-writes:nowhere", "")
    assert len(POINTS) >= 10 and len(set(POINTS)) == len(POINTS)


def test_a_session_in_the_way_is_named_as_pg_stat_activity_shows_it():
    said = describe({"pid": 4242, "application_name": "cron: nightly prices",
                     "usename": "postgres", "state": "idle in transaction", "age": 75.25})
    assert said == ("pid 4242 ('cron: nightly prices', user postgres, idle in transaction, "
                    "transaction open 75.2 s)")


@pytest.mark.parametrize("query, written", [
    ("UPDATE public.multi_city_hotel_packages SET title = $1 WHERE id = $2",
     ["multi_city_hotel_packages"]),
    ('insert into "public"."users" ("id", "company_name") values ($1, $2)', ["users"]),
    ("delete from only multi_city_hotel_package_cities where package_id = $1",
     ["multi_city_hotel_package_cities"]),
    ("truncate table users", ["users"]),
    # Another table whose name starts alike, and reads, are not writes of these tables.
    ("update users_archive set x = $1", []),
    ("select * from users where id = $1", []),
])
def test_the_writers_of_a_table_are_found_in_statement_texts(query, written):
    from migrate.writers import tables_written
    assert tables_written(query, ["users", "multi_city_hotel_packages",
                                  "multi_city_hotel_package_cities"]) == written

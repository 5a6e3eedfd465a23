"""booking-service's repository on a real database, as its own role: the seat capacity is
enforced by the database, also when many bookings race for the last seats."""
from __future__ import annotations

import datetime
import threading
import uuid

import psycopg
from booking_service import repository
from psycopg import errors
from psycopg.rows import DictRow, dict_row

DEPARTURE = datetime.date(2031, 5, 1)


def _as_booking_service(url: str) -> psycopg.Connection[DictRow]:
    conn = psycopg.connect(url, row_factory=dict_row)
    conn.execute("set role booking_service")
    return conn


def test_racing_seat_takers_never_exceed_the_capacity(databases):
    package_id, outcomes, start = str(uuid.uuid4()), [], threading.Barrier(20)

    def take() -> None:
        with _as_booking_service(databases["RDS_ADMIN_URL"]) as conn:
            start.wait()
            try:
                with conn.transaction():
                    repository.take_seats(conn=conn, package_id=package_id,
                                          departure_date=DEPARTURE, capacity=5, seats=1)
                outcomes.append("taken")
            except errors.CheckViolation:
                outcomes.append("full")

    threads = [threading.Thread(target=take) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["full"] * 15 + ["taken"] * 5
    with _as_booking_service(databases["RDS_ADMIN_URL"]) as conn:
        assert repository.seats_left(conn=conn, package_id=package_id,
                                     departure_date=DEPARTURE) == 0


def test_released_seats_can_be_taken_again(databases):
    package_id = str(uuid.uuid4())
    with _as_booking_service(databases["RDS_ADMIN_URL"]) as conn:
        repository.take_seats(conn=conn, package_id=package_id, departure_date=DEPARTURE,
                              capacity=2, seats=2)
        repository.release_seats(conn=conn, package_id=package_id, departure_date=DEPARTURE,
                                 seats=2)
        repository.take_seats(conn=conn, package_id=package_id, departure_date=DEPARTURE,
                              capacity=2, seats=2)
        assert repository.seats_left(conn=conn, package_id=package_id,
                                     departure_date=DEPARTURE) == 0


def test_the_booking_role_reaches_no_other_table(databases):
    with _as_booking_service(databases["RDS_ADMIN_URL"]) as conn:
        for table in ("public.travel_agents", "public.agent_documents", "migration.units"):
            try:
                with conn.transaction():
                    conn.execute(f"select 1 from {table} limit 1")
                raise AssertionError(f"booking_service read {table}")
            except errors.InsufficientPrivilege:
                pass


def _history(conn, *, agent_sub: str, bookings: int) -> None:
    """`bookings` past bookings of one agent, straight into the table (a long history)."""
    conn.execute(
        """insert into bookings.bookings
             (agent_sub, package_id, operator_id, departure_date, traveller_count, travellers,
              lead_traveller_name, lead_traveller_email, addons, price_breakdown, total_price,
              commission_rate, commission_amount, currency, idempotency_key,
              request_fingerprint, package_title, package_stops, package_seen_at,
              agency_name, agency_seen_at, created_at)
           select %(agent)s, gen_random_uuid(), gen_random_uuid(), %(day)s, 1,
                  '[{"full_name": "Ana"}]', 'Ana', 'ana@example.com', '[]', '{}', 100, 0.1,
                  10, 'EUR', 'history-' || n, 'fp', 'Lisbon walks', '["Lisbon"]', now(),
                  'Agency', now(), now() - n * interval '1 minute'
             from generate_series(1, %(bookings)s) as n""",
        {"agent": agent_sub, "day": DEPARTURE, "bookings": bookings})


def test_a_page_reads_its_rows_not_the_owners_whole_history(databases):
    """A page of 50 costs the same for an agent with 3,000 bookings as for one with 60: it
    reads its own rows of the table, and counts the rest from the index. (Among 200 other
    agents' 20,000 bookings: one agent's are a small part of the table.)"""
    with psycopg.connect(databases["RDS_ADMIN_URL"], autocommit=True) as admin:
        for _ in range(200):
            _history(admin, agent_sub=str(uuid.uuid4()), bookings=100)
    blocks_read = {}
    for history in (60, 3000):
        agent = str(uuid.uuid4())
        with psycopg.connect(databases["RDS_ADMIN_URL"], autocommit=True) as admin:
            _history(admin, agent_sub=agent, bookings=history)
            admin.execute("vacuum (analyze) bookings.bookings")
        with _as_booking_service(databases["RDS_ADMIN_URL"]) as conn:
            rows, total = repository.list_bookings(
                conn=conn, owner=repository.agent_owner(agent), status=None,
                departure_from=None, departure_to=None, limit=50, offset=0)
            blocks_read[history] = conn.execute(
                "select pg_stat_get_xact_blocks_fetched('bookings.bookings'::regclass) as n"
            ).fetchone()["n"]
            past_the_end = repository.list_bookings(
                conn=conn, owner=repository.agent_owner(agent), status=None,
                departure_from=None, departure_to=None, limit=50, offset=history)
        assert (len(rows), total) == (50, history)
        assert past_the_end == ([], history)   # no row to carry the count: counted alone
        assert [r["created_at"] for r in rows] == sorted((r["created_at"] for r in rows),
                                                         reverse=True)
    assert blocks_read[3000] < 2 * blocks_read[60], blocks_read

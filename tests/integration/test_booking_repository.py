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

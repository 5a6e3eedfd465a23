"""SQL of booking-service (schema `bookings` in RDS `travel_agent_db`)."""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Literal

from psycopg.types.json import Jsonb

_COLUMNS = """id, agent_sub, package_id, operator_id, departure_date, traveller_count,
              travellers, lead_traveller_name, lead_traveller_email, addons, price_breakdown,
              total_price, commission_rate, commission_amount, currency, status,
              created_at, updated_at"""
# A list row is what a dashboard table shows; the whole booking is one GET away.
_LIST_COLUMNS = """id, agent_sub, package_id, operator_id, departure_date, traveller_count,
                   lead_traveller_name, total_price, commission_amount, currency, status,
                   created_at, updated_at"""
# What a booking shows of its package and agent, and when their services told it (display.py).
_DISPLAY_COLUMNS = "package_title, package_stops, package_seen_at, agency_name, agency_seen_at"


@dataclass(frozen=True)
class Owner:
    """Whose bookings a query may reach. Made only by `agent_owner` and `operator_owner`,
    so the column pasted into the SQL is one of two fixed names, never a caller's string."""

    column: Literal["agent_sub", "operator_id"]
    subject: str


def agent_owner(agent_sub: str) -> Owner:
    """The bookings an agent made."""
    return Owner("agent_sub", agent_sub)


def operator_owner(operator_id: str) -> Owner:
    """The bookings of an operator's packages."""
    return Owner("operator_id", operator_id)


def find_by_idempotency_key(*, conn, agent_sub: str, key: str) -> dict | None:
    """The booking an agent made with this Idempotency-Key, with its request fingerprint."""
    return conn.execute(
        f"""select {_COLUMNS}, request_fingerprint from bookings.bookings
             where agent_sub = %s and idempotency_key = %s""", (agent_sub, key)).fetchone()


def take_seats(*, conn, package_id: str, departure_date: datetime.date, capacity: int,
               seats: int) -> None:
    """Add seats to a departure; raises CheckViolation if that would exceed capacity."""
    conn.execute(
        """insert into bookings.departures (package_id, departure_date, capacity, seats_taken)
           values (%(package)s, %(date)s, %(capacity)s, %(seats)s)
           on conflict (package_id, departure_date) do update
              set capacity = excluded.capacity,
                  seats_taken = bookings.departures.seats_taken + excluded.seats_taken""",
        {"package": package_id, "date": departure_date, "capacity": capacity, "seats": seats})


def release_seats(*, conn, package_id, departure_date: datetime.date, seats: int) -> None:
    """Give seats of a cancelled or declined booking back to its departure."""
    conn.execute(
        """update bookings.departures set seats_taken = seats_taken - %s
            where package_id = %s and departure_date = %s""", (seats, package_id, departure_date))


def seats_left(*, conn, package_id: str, departure_date: datetime.date) -> int | None:
    """Free seats of a departure, None if nobody booked it yet."""
    row = conn.execute(
        """select capacity - seats_taken as left from bookings.departures
            where package_id = %s and departure_date = %s""",
        (package_id, departure_date)).fetchone()
    return row["left"] if row else None


def insert_booking(*, conn, booking: dict) -> dict | None:
    """Insert a booking with what it shows of its package and agent; None if the agent
    already used its idempotency key."""
    values = {**booking, **{k: Jsonb(booking[k]) for k in ("travellers", "addons",
                                                          "price_breakdown", "package_stops")}}
    return conn.execute(
        f"""insert into bookings.bookings
              (agent_sub, package_id, operator_id, departure_date, traveller_count, travellers,
               lead_traveller_name, lead_traveller_email, addons, price_breakdown, total_price,
               commission_rate, commission_amount, currency, idempotency_key,
               request_fingerprint, {_DISPLAY_COLUMNS})
            values (%(agent_sub)s, %(package_id)s, %(operator_id)s, %(departure_date)s,
                    %(traveller_count)s, %(travellers)s, %(lead_traveller_name)s,
                    %(lead_traveller_email)s, %(addons)s, %(price_breakdown)s, %(total_price)s,
                    %(commission_rate)s, %(commission_amount)s, %(currency)s,
                    %(idempotency_key)s, %(request_fingerprint)s, %(package_title)s,
                    %(package_stops)s, %(package_seen_at)s, %(agency_name)s,
                    %(agency_seen_at)s)
            on conflict (agent_sub, idempotency_key) do nothing
            returning {_COLUMNS}""", values).fetchone()


def get_booking(*, conn, booking_id, owner: Owner, lock: bool = False,
                shown: bool = False) -> dict | None:
    """One booking, if it belongs to `owner`; with `shown`, what it shows of its package and
    agent too."""
    columns = f"{_COLUMNS}, {_DISPLAY_COLUMNS}" if shown else _COLUMNS
    return conn.execute(
        f"""select {columns} from bookings.bookings
             where id = %(id)s and {owner.column} = %(who)s
             {"for update" if lock else ""}""", {"id": booking_id, "who": owner.subject}).fetchone()


def set_status(*, conn, booking_id, status: str) -> dict:
    """Move a booking to `status` (the caller checked the transition)."""
    return conn.execute(
        f"""update bookings.bookings set status = %s, updated_at = now() where id = %s
            returning {_COLUMNS}""", (status, booking_id)).fetchone()


def list_bookings(*, conn, owner: Owner, status: str | None, departure_from, departure_to,
                  limit: int, offset: int) -> tuple[list[dict], int]:
    """A page of `owner`'s bookings, newest first, with what each shows of its package and
    agent, and how many match in all.

    The count is a subquery over the owner's index, not `count(*) over ()` beside the page:
    a window over the page's query reads every matching row whole (an agent with 4,000
    bookings: 3,600 buffers and a spill to disk, 9.1 ms) before the limit applies, so a page
    cost more the longer its owner had been booking; counted from the index (1.7 ms), the
    page reads its 50 rows (docs/benchmarks.md, 0b)."""
    where = [f"{owner.column} = %(who)s"]
    params = {"who": owner.subject, "status": status, "from": departure_from, "to": departure_to,
              "limit": limit, "offset": offset}
    if status:
        where.append("status = %(status)s")
    if departure_from:
        where.append("departure_date >= %(from)s")
    if departure_to:
        where.append("departure_date <= %(to)s")
    clause = " and ".join(where)
    count = f"select count(*) as total from bookings.bookings where {clause}"
    rows = conn.execute(
        f"""select {_LIST_COLUMNS}, {_DISPLAY_COLUMNS}, ({count}) as total
              from bookings.bookings
             where {clause}
             order by created_at desc, id limit %(limit)s offset %(offset)s""", params).fetchall()
    # A page past the last row has no row to carry the count: ask for it alone.
    total = rows[0]["total"] if rows else conn.execute(count, params).fetchone()["total"]
    for row in rows:
        row.pop("total")
    return rows, total


def save_display(*, conn, rows: list[dict]) -> None:
    """Write back refreshed copies of what bookings show, in one statement. A part of a copy
    (package, agent) is never replaced by an older one, so two pages refreshing the same
    booking at once, whichever finishes last, leave the newest (the comparison is made
    against the row as it is when the update gets its lock)."""
    copies = [{"id": str(r["id"]), "package_title": r["package_title"],
               "package_stops": r["package_stops"], "agency_name": r["agency_name"],
               **{k: r[k].isoformat() if r[k] else None
                  for k in ("package_seen_at", "agency_seen_at")}} for r in rows]
    newer_package = "s.package_seen_at > coalesce(b.package_seen_at, '-infinity')"
    newer_agency = "s.agency_seen_at > coalesce(b.agency_seen_at, '-infinity')"
    conn.execute(
        f"""update bookings.bookings b
               set package_title = case when {newer_package} then s.package_title
                                        else b.package_title end,
                   package_stops = case when {newer_package} then s.package_stops
                                        else b.package_stops end,
                   package_seen_at = greatest(b.package_seen_at, s.package_seen_at),
                   agency_name = case when {newer_agency} then s.agency_name
                                      else b.agency_name end,
                   agency_seen_at = greatest(b.agency_seen_at, s.agency_seen_at)
              from jsonb_to_recordset(%s) as s (id uuid, package_title text, package_stops jsonb,
                                                package_seen_at timestamptz, agency_name text,
                                                agency_seen_at timestamptz)
             where b.id = s.id""", (Jsonb(copies),))


def agent_summary(*, conn, agent_sub: str) -> dict:
    """Counts by status and confirmed commission per departure month of one agent."""
    counts = conn.execute(
        """select status, count(*) as bookings from bookings.bookings where agent_sub = %s
            group by status""", (agent_sub,)).fetchall()
    months = conn.execute(
        """select to_char(departure_date, 'YYYY-MM') as month, currency,
                  sum(commission_amount) as commission, count(*) as bookings
             from bookings.bookings where agent_sub = %s and status = 'confirmed'
            group by 1, 2 order by 1, 2""", (agent_sub,)).fetchall()
    return {"counts": counts, "months": months}


def operator_summary(*, conn, operator_id: str) -> list[dict]:
    """Bookings, travellers and confirmed revenue per package of one operator."""
    return conn.execute(
        """select package_id, count(*) as bookings,
                  count(*) filter (where status = 'pending') as pending,
                  count(*) filter (where status = 'confirmed') as confirmed,
                  coalesce(sum(traveller_count) filter (where status = 'confirmed'), 0)
                    as confirmed_travellers,
                  coalesce(sum(total_price) filter (where status = 'confirmed'), 0)
                    as confirmed_revenue,
                  min(currency) as currency
             from bookings.bookings where operator_id = %s::uuid
            group by package_id order by bookings desc, package_id""", (operator_id,)).fetchall()

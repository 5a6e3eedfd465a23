"""The databases keep the rule of shared/travel_platform/text.py themselves: both refuse with
public.is_display_text exactly what the request schemas refuse, and every column of text
people read is checked, for the roles the services run as."""
from __future__ import annotations

import datetime
import uuid

import psycopg
import pytest
from agent_service import repository as agents
from booking_service import repository as bookings
from psycopg import errors
from psycopg.rows import DictRow, dict_row

from tests.helpers import DISPLAYABLE_TEXT, HOSTILE_TEXT
from travel_platform.text import display_text

BAD = HOSTILE_TEXT["right-to-left override"]


def _as(url: str, role: str) -> psycopg.Connection[DictRow]:
    conn = psycopg.connect(url, row_factory=dict_row)
    conn.execute(f"set role {role}")
    return conn


@pytest.mark.parametrize("database", ["SUPABASE_DB_ADMIN_URL", "RDS_ADMIN_URL"])
def test_each_database_refuses_what_the_schemas_refuse(databases, database):
    with psycopg.connect(databases[database]) as conn:
        def allowed(text: str, multiline: bool = False) -> bool:
            return conn.execute("select public.is_display_text(%s, %s)",
                                (text, multiline)).fetchone()[0]

        for name, text in HOSTILE_TEXT.items():
            with pytest.raises(ValueError):
                display_text(text)
            assert not allowed(text), name
        for text in DISPLAYABLE_TEXT:
            assert display_text(text) == text and allowed(text), text
        assert allowed("Day 1\n\tDay 2", True) and not allowed("Day 1\r\nDay 2", True)


def _booking(**overrides) -> dict:
    travellers = [{"full_name": "Ana Silva", "email": "ana@example.com"},
                  {"full_name": "Rui Silva", "email": None}]
    return {"agent_sub": str(uuid.uuid4()), "package_id": str(uuid.uuid4()),
            "operator_id": str(uuid.uuid4()), "departure_date": datetime.date(2031, 5, 1),
            "traveller_count": 2, "travellers": travellers, "lead_traveller_name": "Ana Silva",
            "lead_traveller_email": "ana@example.com", "addons": [], "price_breakdown": [],
            "total_price": "200.00", "commission_rate": "0.1000", "commission_amount": "20.00",
            "currency": "EUR", "idempotency_key": uuid.uuid4().hex, "request_fingerprint": "x",
            "package_title": "Lisbon & Porto", "package_stops": [], "agency_name": "Atlas",
            "package_seen_at": datetime.datetime.now(datetime.UTC),
            "agency_seen_at": datetime.datetime.now(datetime.UTC), **overrides}


def test_bookings_refuse_hostile_traveller_names_and_shown_titles(databases):
    with _as(databases["RDS_ADMIN_URL"], "booking_service") as conn:
        assert bookings.insert_booking(conn=conn, booking=_booking()) is not None
        for bad in ({"lead_traveller_name": BAD}, {"package_title": BAD}, {"agency_name": BAD},
                    {"travellers": [{"full_name": "Ana", "email": "a@example.com"},
                                    {"full_name": BAD, "email": None}]}):
            with pytest.raises(errors.CheckViolation), conn.transaction():
                bookings.insert_booking(conn=conn, booking=_booking(**bad))


def test_agents_refuse_hostile_agency_and_file_names(databases):
    with _as(databases["RDS_ADMIN_URL"], "agent_service") as conn:
        with pytest.raises(errors.CheckViolation), conn.transaction():
            agents.insert_agent(conn=conn, cognito_sub=str(uuid.uuid4()), phone=None,
                                email=f"{uuid.uuid4().hex}@example.com", agency_name=BAD,
                                country="PT")
        agent = agents.insert_agent(conn=conn, cognito_sub=str(uuid.uuid4()), phone=None,
                                    email=f"{uuid.uuid4().hex}@example.com",
                                    agency_name="Atlas", country="PT")
        with pytest.raises(errors.CheckViolation), conn.transaction():
            agents.insert_document(conn=conn, document_id=uuid.uuid4(), agent_id=agent["id"],
                                   s3_key=f"k/{uuid.uuid4()}", file_name=BAD, kind="licence",
                                   content_type="application/pdf", size_bytes=10)


@pytest.mark.parametrize("statement", [
    "update users set company_name = %(bad)s",
    "update multi_city_hotel_packages set title = %(bad)s",
    "update multi_city_hotel_packages set description = %(bad)s",
    "update multi_city_hotel_package_cities set hotel_name = %(bad)s",
    "update multi_city_hotel_package_cities set city = %(bad)s",
    "update multi_city_hotel_package_addons set name = %(bad)s",
    "update multi_city_hotel_package_exclusions set text = %(bad)s",
])
def test_operator_tables_refuse_hostile_text(databases, statement):
    operator, package = str(uuid.uuid4()), str(uuid.uuid4())
    with psycopg.connect(databases["SUPABASE_DB_ADMIN_URL"]) as conn:
        conn.execute("insert into auth.users (id, email, aud, role) "
                     "values (%s, %s, 'authenticated', 'authenticated')",
                     (operator, f"{operator}@example.com"))
        conn.execute("insert into users (id, company_name, contact_email) values (%s, 'C', %s)",
                     (operator, f"{operator}@example.com"))
        conn.execute("insert into multi_city_hotel_packages (id, operator_id, title, description)"
                     " values (%s, %s, 'Tour', %s)", (package, operator, "Day 1\nDay 2"))
        conn.execute("""insert into multi_city_hotel_package_cities (package_id, position, city,
                          country, nights, hotel_name, star_rating)
                        values (%s, 1, 'Lisbon', 'PT', 2, 'H', 4)""", (package,))
        conn.execute("""insert into multi_city_hotel_package_addons (package_id, position, name,
                          price, pricing) values (%s, 1, 'Transfer', 10, 'per_booking')""",
                     (package,))
        conn.execute("""insert into multi_city_hotel_package_exclusions (package_id, position,
                          text) values (%s, 1, 'Flights')""", (package,))
        table = statement.split()[1]
        key = "id" if table in ("users", "multi_city_hotel_packages") else "package_id"
        target = operator if table == "users" else package
        with pytest.raises(errors.CheckViolation):
            conn.execute(f"{statement} where {key} = %(target)s", {"bad": BAD, "target": target})
        conn.rollback()

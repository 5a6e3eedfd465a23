"""operator-service's package rules and request validation, without a database."""
from __future__ import annotations

import datetime
import uuid
from contextlib import contextmanager
from decimal import Decimal

import pytest
from operator_service import catalogue
from operator_service.rules import inconsistencies, missing_for_publish
from operator_service.schemas import BatchQuery, CatalogueQuery, PackageCreate, PackageUpdate

from travel_platform.api import parse_model
from travel_platform.errors import BadRequest

TODAY = datetime.date(2027, 3, 1)
STOP = {"city": "Lisbon", "country": "PT", "nights": 3, "hotel_name": "Tivoli", "star_rating": 5}


def complete_package(**overrides) -> dict:
    package = {"stops": [STOP], "price_per_traveller": Decimal("1290.50"),
               "first_departure_date": TODAY + datetime.timedelta(days=10),
               "last_departure_date": TODAY + datetime.timedelta(days=90),
               "capacity_per_departure": 20, "min_travellers": 1, "max_travellers": 6}
    return {**package, **overrides}


def fields_of(details: list[dict]) -> list[str]:
    return [d["field"] for d in details]


def test_a_complete_package_lacks_nothing():
    assert missing_for_publish(complete_package(), today=TODAY) == []


def test_an_empty_draft_lacks_every_part():
    empty = {key: None for key in complete_package()} | {"stops": []}
    assert fields_of(missing_for_publish(empty, today=TODAY)) == [
        "stops", "price_per_traveller", "first_departure_date", "last_departure_date",
        "capacity_per_departure", "min_travellers", "max_travellers"]


@pytest.mark.parametrize("last, ok", [(TODAY, False), (TODAY + datetime.timedelta(days=1), True)])
def test_the_window_must_reach_past_today(last, ok):
    package = complete_package(first_departure_date=TODAY - datetime.timedelta(days=30),
                               last_departure_date=last)
    assert (missing_for_publish(package, today=TODAY) == []) is ok


def test_a_free_package_has_a_price():
    free = complete_package(price_per_traveller=Decimal("0"))
    assert missing_for_publish(free, today=TODAY) == []


def test_contradicting_fields_are_named():
    problems = inconsistencies({"min_travellers": 4, "max_travellers": 2,
                                "capacity_per_departure": 1,
                                "first_departure_date": TODAY,
                                "last_departure_date": TODAY - datetime.timedelta(days=1)})
    assert fields_of(problems) == ["max_travellers", "max_travellers", "last_departure_date"]
    assert inconsistencies({"min_travellers": 2}) == []


def test_amounts_are_exact_and_have_at_most_two_decimals():
    body = parse_model(PackageCreate, {"title": "T", "price_per_traveller": "1290.50",
                                       "addons": [{"name": "Transfer", "price": 35.1,
                                                   "pricing": "per_booking"}]}, what="body")
    assert body.price_per_traveller == Decimal("1290.50")
    assert body.addons[0].price == Decimal("35.1")
    with pytest.raises(BadRequest) as error:
        parse_model(PackageCreate, {"title": "T", "price_per_traveller": "10.005"}, what="body")
    assert fields_of(error.value.details) == ["price_per_traveller"]


def test_bad_bodies_list_every_bad_field_and_refuse_unknown_ones():
    with pytest.raises(BadRequest) as error:
        parse_model(PackageCreate, {"title": "", "currency": "eur", "colour": "red",
                                    "stops": [{**STOP, "country": "Portugal", "star_rating": 6}]},
                    what="body")
    assert set(fields_of(error.value.details)) == {
        "title", "currency", "colour", "stops.0.country", "stops.0.star_rating"}


def test_lists_are_bounded():
    with pytest.raises(BadRequest) as error:
        parse_model(PackageCreate, {"title": "T", "stops": [STOP] * 31}, what="body")
    assert fields_of(error.value.details) == ["stops"]


def test_patch_refuses_null_for_fields_that_cannot_be_empty_but_clears_the_others():
    with pytest.raises(BadRequest) as error:
        parse_model(PackageUpdate, {"title": None, "stops": None}, what="body")
    assert set(fields_of(error.value.details)) == {"title", "stops"}
    update = parse_model(PackageUpdate, {"price_per_traveller": None}, what="body")
    assert update.model_dump(exclude_unset=True) == {"price_per_traveller": None}


def test_page_size_over_the_limit_is_refused_not_clamped():
    with pytest.raises(BadRequest) as error:
        parse_model(CatalogueQuery, {"limit": "101"}, what="query string")
    assert fields_of(error.value.details) == ["limit"]
    assert parse_model(CatalogueQuery, {"limit": "100"}, what="query string").limit == 100


def test_batch_takes_one_or_many_ids_up_to_a_hundred():
    one = "7d8d3a56-4a0b-4d7e-9d61-0d8a3b7f2a11"
    assert len(parse_model(BatchQuery, {"id": one}, what="query string").id) == 1
    with pytest.raises(BadRequest):
        parse_model(BatchQuery, {"id": [one] * 101}, what="query string")
    with pytest.raises(BadRequest) as error:
        parse_model(BatchQuery, {"id": [one, "not-a-uuid"]}, what="query string")
    assert fields_of(error.value.details) == ["id.1"]


class CountingConnection:
    """Answers every statement with the same rows and counts the statements."""

    def __init__(self, rows: list[dict]):
        self.rows = rows
        self.statements: list = []

    def execute(self, statement, params=None):
        self.statements.append(statement)
        return self

    def fetchall(self) -> list[dict]:
        return self.rows

    def fetchone(self) -> dict:
        return {"n": len(self.rows)}


class OneConnection:
    """Stands in for DataSources: every transaction gets the same connection."""

    def __init__(self, conn: CountingConnection):
        self.conn = conn

    @contextmanager
    def transaction(self, *, identity, tables, write=True):
        yield self.conn

    def read(self, *, identity, tables, query, own=False):
        return query(self.conn)

    def reads_apart(self, tables):
        return False

    def source_of(self, tables, *, reads=False):
        return "supabase"   # one database: row-level security leaves suspended operators out


def test_a_batch_of_a_hundred_packages_is_read_in_one_query():
    ids = [uuid.uuid4() for _ in range(100)]
    conn = CountingConnection([{"id": i} for i in reversed(ids[:60])])
    answer = catalogue.packages_by_ids(data=OneConnection(conn), identity=None, package_ids=ids)
    assert len(conn.statements) == 1
    assert [p["id"] for p in answer["data"]] == ids[:60] and answer["missing"] == ids[60:]


def test_a_catalogue_page_is_two_queries_whatever_its_size():
    conn = CountingConnection([{"id": uuid.uuid4()} for _ in range(100)])
    query = parse_model(CatalogueQuery, {"limit": "100", "city": "Porto", "min_nights": "3"},
                        what="query string")
    page = catalogue.catalogue(data=OneConnection(conn), identity=None, query=query)
    assert len(conn.statements) == 2 and len(page["data"]) == 100
    assert page["next_offset"] is None

"""What a client reads in every answer's JSON: dates in ISO 8601, UUIDs and exact decimals as
strings (never a float that rounds a price), keys in the order the service wrote them, and
text as written, whatever the language."""
from __future__ import annotations

import datetime
import decimal
import json
import uuid

import pytest
from flask import Flask, jsonify

from travel_platform.web import ApiJSONProvider

BOOKED = datetime.datetime(2026, 12, 7, 10, 30, 5, 123456, tzinfo=datetime.UTC)
ID = uuid.UUID("6575a522-16ea-47c9-9370-d312b55c53da")


@pytest.fixture
def client():
    app = Flask(__name__)
    app.json = ApiJSONProvider(app)

    @app.get("/booking")
    def booking():
        return jsonify({"id": ID, "total_price": decimal.Decimal("1234.10"),
                        "commission_amount": decimal.Decimal("0.1") + decimal.Decimal("0.2"),
                        "departure_date": datetime.date(2027, 3, 1), "created_at": BOOKED,
                        "zeta": 1, "alpha": {"title": "Łódź & São Paulo – 5 days"},
                        "per_status": {2: "a number key, as JSON wants it: a string"}})

    @app.get("/dict")
    def as_dict():
        return {"id": ID}     # Flask turns a returned dict into JSON the same way


    return app.test_client()


def test_an_answer_keeps_exact_prices_dates_ids_order_and_text(client):
    response = client.get("/booking")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = json.loads(response.get_data())
    assert body == {"id": str(ID), "total_price": "1234.10", "commission_amount": "0.3",
                    "departure_date": "2027-03-01",
                    "created_at": "2026-12-07T10:30:05.123456+00:00",
                    "zeta": 1, "alpha": {"title": "Łódź & São Paulo – 5 days"},
                    "per_status": {"2": "a number key, as JSON wants it: a string"}}
    assert list(body) == ["id", "total_price", "commission_amount", "departure_date",
                          "created_at", "zeta", "alpha", "per_status"]
    assert datetime.datetime.fromisoformat(body["created_at"]) == BOOKED
    assert client.get("/dict").get_json() == {"id": str(ID)}


def test_a_value_that_has_no_json_form_is_an_error_not_a_guess():
    app = Flask(__name__)
    app.json = ApiJSONProvider(app)
    with app.app_context(), pytest.raises(TypeError, match="not JSON serializable"):
        app.json.dumps({"what": object()})

"""The price preview a booking form shows: computed by booking-service exactly as the
booking will be, and nothing is booked."""
from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pytest

from tests.builders.agents import new_agent, set_status
from tests.builders.packages import publish_package
from tests.helpers import api
from travel_platform.clock import utc_today

pytestmark = pytest.mark.stack


def test_the_quote_is_the_price_the_booking_then_gets(gateway, stack_env, operator_token):
    package = publish_package(gateway, operator_token, capacity=5)
    agent = new_agent(gateway)
    body = {"package_id": package.id,
            "departure_date": str(utc_today() + datetime.timedelta(days=30)),
            "travellers": [{"full_name": "Ana Lima", "email": "ana@example.com"},
                           {"full_name": "Rui Lima"}],
            "addon_ids": package.addon_ids}
    pending = api(gateway, "POST", "/api/bookings/quote", agent.token, json=body)
    assert pending.status_code == 403 and pending.json()["error"]["code"] == "agent_not_active"
    set_status(stack_env, agent.id, "active")

    quote = api(gateway, "POST", "/api/bookings/quote", agent.token, json=body)
    assert quote.status_code == 200, quote.text
    assert Decimal(quote.json()["total_price"]) == Decimal("2190.00")  # 2x1000 + 2x45 + 100
    assert api(gateway, "GET", "/api/bookings", agent.token).json()["total"] == 0

    booked = api(gateway, "POST", "/api/bookings", agent.token, json=body,
                 headers={"Idempotency-Key": uuid.uuid4().hex}).json()
    assert {k: booked[k] for k in quote.json()} == quote.json()
    assert api(gateway, "POST", "/api/bookings/quote", operator_token,
               json=body).status_code == 403

"""operator-service verified against booking-service's pact, on the real stack."""
from __future__ import annotations

import pytest
from pact import Verifier

from tests.contract.state_server import StateServer
from tests.integration.packages import draft_package, publish_package

pytestmark = pytest.mark.stack

PACT = "tests/contract/pacts/booking-service-operator-service.json"


def test_operator_service_honours_booking_services_pact(gateway, test_layout, agent_token,
                                                        operator_token, new_operator):
    def published_package() -> dict:
        return {"id": publish_package(gateway, operator_token)["id"], "token": agent_token}

    def draft_of_another_operator() -> dict:
        return {"id": draft_package(gateway, new_operator().token)["id"], "token": operator_token}

    with StateServer({"a published package with add-ons": published_package,
                      "a draft of another operator": draft_of_another_operator}) as states:
        (Verifier("operator-service", host="127.0.0.1")
         .add_transport(url=test_layout.url("operator-service"))
         .add_source(PACT)
         .state_handler(states.url, body=True)
         .verify())  # raises, with the mismatches, if operator-service broke the pact
    assert not states.failures

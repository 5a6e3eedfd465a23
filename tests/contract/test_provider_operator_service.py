"""operator-service verified against booking-service's pact, on the real stack."""
from __future__ import annotations

import pytest

from tests.builders.packages import draft_package, publish_package
from tests.contract.state_server import verify_provider

pytestmark = pytest.mark.stack

PACT = "tests/contract/pacts/booking-service-operator-service.json"


def test_operator_service_honours_booking_services_pact(gateway, test_layout, agent_token,
                                                        operator_token, new_operator):
    def published_package() -> dict:
        return {"id": publish_package(gateway, operator_token).id, "token": agent_token}

    def draft_of_another_operator() -> dict:
        return {"id": draft_package(gateway, new_operator(active=False).token).id,
                "token": operator_token}

    def pending_operator() -> dict:
        operator = new_operator(active=False)
        draft_package(gateway, operator.token)      # their first write makes the profile
        return {"token": operator.token}

    verify_provider("operator-service", url=test_layout.url("operator-service"), pact=PACT,
                    setups={"a published package with add-ons": published_package,
                            "a draft of another operator": draft_of_another_operator,
                            "an active operator is calling": lambda: {"token": operator_token},
                            "a pending operator is calling": pending_operator})

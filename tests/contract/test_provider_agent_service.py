"""agent-service verified against booking-service's pact, on the real stack."""
from __future__ import annotations

import uuid

import pytest

from tests.builders.agents import active_agent
from tests.contract.state_server import verify_provider

pytestmark = pytest.mark.stack

PACT = "tests/contract/pacts/booking-service-agent-service.json"


def test_agent_service_honours_booking_services_pact(gateway, stack_env, test_layout,
                                                     operator_token):
    def active_agent_calling() -> dict:
        agent = active_agent(gateway, stack_env)
        return {"sub": agent.sub, "token": agent.token}

    def operator_about_active_agent() -> dict:
        return {**active_agent_calling(), "token": operator_token}

    def not_an_agent() -> dict:
        return {"sub": str(uuid.uuid4()), "token": operator_token}

    verify_provider("agent-service", url=test_layout.url("agent-service"), pact=PACT,
                    setups={"an active agent is calling": active_agent_calling,
                            "an operator is calling about an active agent":
                                operator_about_active_agent,
                            "the caller is not a travel agent": not_an_agent})

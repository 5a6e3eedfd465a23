"""Consumer side of the contracts: what booking-service expects from agent-service and
operator-service, written as pacts by running booking-service's own client code against
Pact mock servers. The provider tests (test_provider_*.py) replay these pacts against the
real services, so a provider change that breaks booking-service fails there first.

Values only the provider can know (a real agent's sub, a published package's id, a token
it accepts) come from its provider state ("ProviderState" generators), not from here."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from booking_service import clients
from pact import Pact, match

from travel_platform.call_context import CallContext, calling_as
from travel_platform.http import ServiceClient

# The committed pacts are the contract the providers are verified against; a run writes
# its own into the build folder and a test compares the two, so a change of booking-service's
# expectations is a failing test and a reviewed copy, never a silent rewrite.
COMMITTED = Path(__file__).parent / "pacts"
PACTS = Path(__file__).resolve().parents[2] / "build" / "pacts"
EXAMPLE_SUB = "5b0c2a3e-4c1e-4e8b-9a51-2f2d8b7a9c10"
EXAMPLE_PACKAGE = "7f3e4d2c-1b0a-4f9e-8d7c-6b5a4e3d2c1b"
EXAMPLE_TOKEN = "example-token"
REQUEST_ID = "contract-test-request-id"
MONEY = r"^\d+\.\d{2}$"


@pytest.fixture(scope="module", autouse=True)
def fresh_pact_files():
    """Each run writes the pacts anew; interactions are merged into one file per provider."""
    PACTS.mkdir(parents=True, exist_ok=True)
    for stale in PACTS.glob("booking-service-*.json"):
        stale.unlink()


@pytest.fixture(autouse=True)
def caller_request():
    """A call booking-service serves, whose token and request id must be forwarded."""
    with calling_as(CallContext(authorization=f"Bearer {EXAMPLE_TOKEN}", request_id=REQUEST_ID)):
        yield


def _interaction(provider: str, description: str, state: str, path: str, query: tuple[str, str]):
    """A GET with the caller's token and request id, whose key and token the provider
    state supplies."""
    pact = Pact("booking-service", provider).with_specification("V4")
    name, example = query
    interaction = (pact.upon_receiving(description).given(state)
                   .with_request("GET", path)
                   .with_query_parameter(name, example)
                   .with_header("Authorization", f"Bearer {EXAMPLE_TOKEN}")
                   .with_header("X-Request-ID", REQUEST_ID)
                   .with_generators({
                       "query": {name: {"type": "ProviderState", "expression": f"${{{name}}}"}},
                       "header": {"Authorization": {"type": "ProviderState",
                                                    "expression": "Bearer ${token}"}}},
                       "Request"))
    return pact, interaction


def _client(name: str, url) -> ServiceClient:
    return ServiceClient(name=name, base_url=str(url), connect_timeout=1, read_timeout=2)


def test_agent_service_tells_the_calling_agents_status_and_commission_rate():
    pact, interaction = _interaction("agent-service", "a lookup of the calling agent",
                                     "an active agent is calling", "/internal/agents",
                                     ("sub", EXAMPLE_SUB))
    (interaction.will_respond_with(200)
     .with_body({"data": [{
         "sub": match.str(EXAMPLE_SUB),
         "agency_name": match.str("Demo Travel Agency"),
         "status": match.regex("active", regex="^(pending|active|suspended)$"),
         "commission_rate": match.regex("0.1000", regex=r"^[01](\.\d{1,4})?$")}]},
         content_type="application/json"))
    with pact.serve() as server:
        found = clients.lookup_agents(_client("agent-service", server.url), [EXAMPLE_SUB])
    assert found[EXAMPLE_SUB].status == "active"
    assert str(found[EXAMPLE_SUB].commission_rate) == "0.1000"
    pact.write_file(PACTS)


def test_agent_service_tells_an_operator_the_agency_of_an_agent_and_nothing_more():
    pact, interaction = _interaction("agent-service", "a lookup of an agent by an operator",
                                     "an operator is calling about an active agent",
                                     "/internal/agents", ("sub", EXAMPLE_SUB))
    (interaction.will_respond_with(200)
     .with_body({"data": [{"sub": match.str(EXAMPLE_SUB),
                           "agency_name": match.str("Demo Travel Agency")}]},
                content_type="application/json"))
    with pact.serve() as server:
        found = clients.lookup_agents(_client("agent-service", server.url), [EXAMPLE_SUB])
    assert found[EXAMPLE_SUB].agency_name == "Demo Travel Agency"
    assert found[EXAMPLE_SUB].status is None and found[EXAMPLE_SUB].commission_rate is None
    pact.write_file(PACTS)


def test_agent_service_leaves_out_subs_that_are_no_agent():
    pact, interaction = _interaction("agent-service", "a lookup of a sub that is no agent",
                                     "the caller is not a travel agent", "/internal/agents",
                                     ("sub", EXAMPLE_SUB))
    interaction.will_respond_with(200).with_body({"data": []}, content_type="application/json")
    with pact.serve() as server:
        assert clients.lookup_agents(_client("agent-service", server.url), [EXAMPLE_SUB]) == {}
    pact.write_file(PACTS)


def test_operator_service_gives_what_a_booking_is_priced_from():
    pact, interaction = _interaction("operator-service", "a batch read of a published package",
                                     "a published package with add-ons", "/internal/packages",
                                     ("id", EXAMPLE_PACKAGE))
    package = {
        "id": match.uuid(EXAMPLE_PACKAGE),
        "operator_id": match.uuid("0b1c2d3e-4f50-4617-8a9b-0c1d2e3f4a5b"),
        "title": match.str("Lisbon, Porto and Seville"),
        "status": match.regex("published", regex="^(draft|published|archived)$"),
        "price_per_traveller": match.regex("1290.00", regex=MONEY),
        "currency": match.regex("EUR", regex="^[A-Z]{3}$"),
        "min_travellers": match.int(1),
        "max_travellers": match.int(6),
        "capacity_per_departure": match.int(20),
        "first_departure_date": match.date("2027-03-01"),
        "last_departure_date": match.date("2027-09-30"),
        "addons": match.each_like({"id": match.uuid("1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"),
                                   "name": match.str("Travel insurance"),
                                   "price": match.regex("45.00", regex=MONEY),
                                   "pricing": match.regex(
                                       "per_traveller", regex="^(per_traveller|per_booking)$")}),
        "stops": match.each_like({"city": match.str("Lisbon"),
                                  "country": match.regex("PT", regex="^[A-Z]{2}$"),
                                  "nights": match.int(3)}),
    }
    interaction.will_respond_with(200).with_body({"data": [package]},
                                                  content_type="application/json")
    with pact.serve() as server:
        found = clients.lookup_packages(_client("operator-service", server.url),
                                        [EXAMPLE_PACKAGE])
    assert found[EXAMPLE_PACKAGE].status == "published"
    assert found[EXAMPLE_PACKAGE].addons[0].per_traveller
    pact.write_file(PACTS)


@pytest.mark.parametrize("state, status", [("an active operator is calling", "active"),
                                           ("a pending operator is calling", "pending")])
def test_operator_service_tells_the_calling_operators_status(state, status):
    """What an operator's confirmation is gated on (only active operators confirm)."""
    pact = Pact("booking-service", "operator-service").with_specification("V4")
    (pact.upon_receiving(f"the calling operator's own profile ({status})").given(state)
     .with_request("GET", "/api/operators/me")
     .with_header("Authorization", f"Bearer {EXAMPLE_TOKEN}")
     .with_header("X-Request-ID", REQUEST_ID)
     .with_generators({"header": {"Authorization": {"type": "ProviderState",
                                                    "expression": "Bearer ${token}"}}},
                      "Request")
     .will_respond_with(200)
     .with_body({"profile": {"status": match.regex(
         status, regex="^(pending|active|suspended)$")}}, content_type="application/json"))
    with pact.serve() as server:
        found = clients.calling_operator_status(_client("operator-service", server.url))
    assert found == status
    pact.write_file(PACTS)


def test_operator_service_hides_packages_the_caller_may_not_see():
    pact, interaction = _interaction("operator-service", "a batch read of a hidden package",
                                     "a draft of another operator", "/internal/packages",
                                     ("id", EXAMPLE_PACKAGE))
    interaction.will_respond_with(200).with_body({"data": []}, content_type="application/json")
    with pact.serve() as server:
        assert clients.lookup_packages(_client("operator-service", server.url),
                                       [EXAMPLE_PACKAGE]) == {}
    pact.write_file(PACTS)


def test_the_pacts_written_are_the_committed_contract():
    """Runs last in this module: every interaction above has been written by now."""
    for committed in sorted(COMMITTED.glob("booking-service-*.json")):
        written = json.loads((PACTS / committed.name).read_text())
        expected = json.loads(committed.read_text())
        assert written["interactions"] == expected["interactions"], (
            f"booking-service's expectations of {expected['provider']['name']} changed: review "
            f"{PACTS / committed.name} and copy it over {committed} if the change is meant")
        assert (written["consumer"], written["provider"]) == (expected["consumer"],
                                                              expected["provider"])

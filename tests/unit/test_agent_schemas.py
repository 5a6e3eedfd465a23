"""What agent-service's request models accept, normalise and refuse."""
from __future__ import annotations

from decimal import Decimal

import pytest
from agent_service.schemas import (
    AgentListQuery,
    AgentLookupQuery,
    CommissionRateRequest,
    DocumentUploadRequest,
    LoginRequest,
    ProfileUpdate,
    SignUpRequest,
)
from pydantic import ValidationError

SIGN_UP = {"email": "Someone@Example.COM", "password": "x", "agency_name": " Atlas ",
           "country": "pt"}


def _bad_fields(model, payload) -> set[str]:
    with pytest.raises(ValidationError) as error:
        model.model_validate(payload)
    return {".".join(str(p) for p in e["loc"]) for e in error.value.errors()}


def test_sign_up_normalises_email_name_and_country():
    request = SignUpRequest.model_validate(SIGN_UP)
    assert (request.email, request.agency_name, request.country, request.phone) == (
        "someone@example.com", "Atlas", "PT", None)


@pytest.mark.parametrize("phone, stored", [("+351 912 345 678", "+351912345678"),
                                           ("+1 (415) 555-0100", "+14155550100"),
                                           ("+44.20.7946.0958", "+442079460958")])
def test_phones_are_kept_in_e164(phone, stored):
    assert SignUpRequest.model_validate({**SIGN_UP, "phone": phone}).phone == stored


@pytest.mark.parametrize("phone", ["912345678", "+0123456789", "+12345", "+1234567890123456",
                                   "+351 91x 345 678", "", "+" + "1" * 40])
def test_phones_that_are_not_e164_are_refused(phone):
    assert _bad_fields(SignUpRequest, {**SIGN_UP, "phone": phone}) == {"phone"}


@pytest.mark.parametrize("country", ["XX", "UK", "EU", "P", "PRT", "12", ""])
def test_only_assigned_iso_codes_are_countries(country):
    assert _bad_fields(SignUpRequest, {**SIGN_UP, "country": country}) == {"country"}


@pytest.mark.parametrize("email", ["no-at-sign", "a@b", "a@localhost", "x" * 250 + "@example.com"])
def test_sign_up_needs_a_real_address(email):
    assert _bad_fields(SignUpRequest, {**SIGN_UP, "email": email}) == {"email"}


def test_login_takes_any_address_shaped_value_in_lower_case():
    assert LoginRequest.model_validate({"email": " A@B ", "password": "p"}).email == "a@b"


def test_profile_update_knows_which_fields_were_sent():
    assert ProfileUpdate.model_validate({"phone": None}).changes() == {"phone": None}
    assert ProfileUpdate.model_validate({"country": "de", "agency_name": "New"}).changes() == {
        "country": "DE", "agency_name": "New"}
    assert _bad_fields(ProfileUpdate, {}) == {""}
    assert _bad_fields(ProfileUpdate, {"country": None}) == {"country"}
    assert _bad_fields(ProfileUpdate, {"email": "a@example.com"}) == {"email"}


@pytest.mark.parametrize("value, exact", [("0.1250", Decimal("0.1250")), (0.07, Decimal("0.07")),
                                          (1, Decimal("1")), ("0", Decimal("0"))])
def test_commission_rates_stay_exact(value, exact):
    rate = CommissionRateRequest.model_validate({"commission_rate": value}).commission_rate
    assert rate == exact and isinstance(rate, Decimal)


@pytest.mark.parametrize("value", ["1.0001", "-0.0001", "0.00001", "Infinity", True, "1e3"])
def test_commission_rates_outside_the_range_are_refused(value):
    assert _bad_fields(CommissionRateRequest, {"commission_rate": value}) == {"commission_rate"}


def test_document_size_must_be_a_json_integer_within_ten_megabytes():
    base = {"file_name": "a.pdf", "content_type": "application/pdf", "kind": "licence"}
    assert DocumentUploadRequest.model_validate({**base, "size": 10 * 1024 * 1024}).size
    for size in (10 * 1024 * 1024 + 1, 0, True, "5", 5.0):
        assert _bad_fields(DocumentUploadRequest, {**base, "size": size}) == {"size"}


def test_lookup_takes_repeated_or_comma_separated_subs_up_to_a_hundred():
    assert AgentLookupQuery.model_validate({"sub": "a"}).sub == ["a"]
    assert AgentLookupQuery.model_validate({"sub": ["a,b", "c"]}).sub == ["a", "b", "c"]
    assert len(AgentLookupQuery.model_validate({"sub": ",".join(["s"] * 100)}).sub) == 100
    assert _bad_fields(AgentLookupQuery, {"sub": ",".join(["s"] * 101)}) == {"sub"}
    assert _bad_fields(AgentLookupQuery, {"sub": "a,,b"}) == {"sub.1"}
    assert _bad_fields(AgentLookupQuery, {"sub": "a", "other": "x"}) == {"other"}


def test_agent_pages_are_at_most_a_hundred():
    assert AgentListQuery.model_validate({"limit": "100"}).limit == 100
    assert _bad_fields(AgentListQuery, {"limit": "101"}) == {"limit"}

"""Text people read refuses the characters that change how it displays (control
characters, line breaks, bidirectional controls), with one rule for every service's
names, titles and file names."""
from __future__ import annotations

import pytest
from agent_service.schemas import DocumentUploadRequest, ProfileUpdate, SignUpRequest
from booking_service.schemas import NewBooking
from operator_service.schemas import AddonIn, OperatorUpdate, PackageCreate, PackageUpdate, StopIn
from pydantic import ValidationError

from tests.helpers import DISPLAYABLE_TEXT, HOSTILE_TEXT

HOSTILE, FINE = HOSTILE_TEXT, DISPLAYABLE_TEXT


def _sign_up(name):
    return SignUpRequest(email="a@example.com", password="x", agency_name=name, country="PT")


def _traveller(name):
    return NewBooking(package_id="8d0fd2b3-9ca7-4d9e-a95f-9e13dded323e",
                      departure_date="2027-02-01",
                      travellers=[{"full_name": name, "email": "lead@example.com"}])


def _document(name):
    return DocumentUploadRequest(file_name=name, content_type="application/pdf", size=10,
                                 kind="licence")


def _stop(name):
    return StopIn(city=name, country="PT", nights=1, hotel_name=name, star_rating=3)


DISPLAY_FIELDS = {
    "agency name at sign-up": _sign_up,
    "agency name in a profile change": lambda name: ProfileUpdate(agency_name=name),
    "traveller name": _traveller,
    "document file name": _document,
    "operator company name": lambda name: OperatorUpdate(company_name=name),
    "package title": lambda name: PackageCreate(title=name),
    "package title change": lambda name: PackageUpdate(title=name),
    "stop city and hotel": _stop,
    "add-on name": lambda name: AddonIn(name=name, price="1.00", pricing="per_booking"),
}


@pytest.mark.parametrize("field", DISPLAY_FIELDS)
@pytest.mark.parametrize("what", HOSTILE)
def test_hostile_characters_are_refused(field, what):
    with pytest.raises(ValidationError) as error:
        DISPLAY_FIELDS[field](HOSTILE[what])
    assert "control" in str(error.value)


@pytest.mark.parametrize("field", DISPLAY_FIELDS)
@pytest.mark.parametrize("name", FINE)
def test_names_in_any_script_are_accepted(field, name):
    DISPLAY_FIELDS[field](name)


def test_a_description_may_span_lines_but_holds_no_other_controls():
    assert PackageCreate(title="T", description="Day 1: Lisbon\n\tDay 2: Porto").description
    for what in ("carriage return", "escape code", "right-to-left override",
                 "line separator"):
        with pytest.raises(ValidationError):
            PackageCreate(title="T", description=HOSTILE[what])

"""Request bodies and query strings of booking-service."""
from __future__ import annotations

import datetime
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

STATUSES = ("pending", "confirmed", "declined", "cancelled")
MAX_PAGE_SIZE = 100


class Traveller(BaseModel):
    """One traveller; the first one is the lead traveller and needs an e-mail."""

    model_config = ConfigDict(extra="forbid")
    full_name: str = Field(min_length=1, max_length=200)
    email: EmailStr | None = None


class NewBooking(BaseModel):
    """What an agent asks to book; prices come from the package, never from here."""

    model_config = ConfigDict(extra="forbid")
    package_id: uuid.UUID
    departure_date: datetime.date
    travellers: list[Traveller] = Field(min_length=1, max_length=50)
    addon_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)

    @field_validator("travellers")
    @classmethod
    def lead_has_email(cls, travellers: list[Traveller]) -> list[Traveller]:
        if travellers[0].email is None:
            raise ValueError("the first traveller is the lead traveller and needs an email")
        return travellers

    @field_validator("addon_ids")
    @classmethod
    def addons_unique(cls, addon_ids: list[uuid.UUID]) -> list[uuid.UUID]:
        if len(set(addon_ids)) != len(addon_ids):
            raise ValueError("each add-on can be chosen once")
        return addon_ids


class BookingFilter(BaseModel):
    """Filters and page of GET /api/bookings."""

    model_config = ConfigDict(extra="forbid")
    status: Literal["pending", "confirmed", "declined", "cancelled"] | None = None
    departure_from: datetime.date | None = Field(None, description="earliest departure date")
    departure_to: datetime.date | None = Field(None, description="latest departure date")
    limit: int = Field(20, ge=1, le=MAX_PAGE_SIZE, description=f"page size, at most {MAX_PAGE_SIZE}")
    offset: int = Field(0, ge=0, le=100_000)

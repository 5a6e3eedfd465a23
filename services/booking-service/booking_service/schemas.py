"""Request bodies and query strings of booking-service (they validate, and they are the
OpenAPI document), and the shapes of its answers (which the fuzz test holds every answer
to). Amounts are exact decimal strings."""
from __future__ import annotations

import datetime
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, RootModel, field_validator

from travel_platform.api import PageFields
from travel_platform.text import DisplayText

STATUSES = ("pending", "confirmed", "declined", "cancelled")
BookingStatus = Literal["pending", "confirmed", "declined", "cancelled"]
MAX_PAGE_SIZE = 100


class Traveller(BaseModel):
    """One traveller; the first one is the lead traveller and needs an e-mail."""

    model_config = ConfigDict(extra="forbid")
    full_name: DisplayText = Field(min_length=1, max_length=200)
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
    limit: int = Field(20, ge=1, le=MAX_PAGE_SIZE,
                       description=f"page size, at most {MAX_PAGE_SIZE}")
    offset: int = Field(0, ge=0, le=100_000)


# Answers -------------------------------------------------------------------------------------

class PackageShown(BaseModel):
    """What a booking shows of its package (null if operator-service could not say)."""

    title: str
    stops: list[dict]


class AgentShown(BaseModel):
    """What a booking shows of its agent (null if agent-service could not say)."""

    agency_name: str


class BookingRow(BaseModel):
    """A booking as a list shows it; the whole booking is one GET away."""

    id: uuid.UUID
    agent_sub: str
    package_id: uuid.UUID
    operator_id: uuid.UUID
    departure_date: datetime.date
    traveller_count: int
    lead_traveller_name: str
    total_price: str
    commission_amount: str | None = Field(None, description="only to the agent who booked")
    currency: str
    status: BookingStatus
    created_at: datetime.datetime
    updated_at: datetime.datetime
    package: PackageShown | None
    agent: AgentShown | None


class BookedAddon(BaseModel):
    """An add-on as booked, its price frozen."""

    id: uuid.UUID
    name: str
    price: str
    per_traveller: bool


class PriceLine(BaseModel):
    """One line of the frozen price: the package, or an add-on."""

    item: Literal["package", "addon"]
    unit_price: str
    quantity: int
    amount: str
    addon_id: uuid.UUID | None = None
    name: str | None = None


class PriceQuote(BaseModel):
    """What booking this would cost now: the same computation as the booking's own."""

    price_breakdown: list[PriceLine]
    total_price: str
    commission_rate: str
    commission_amount: str
    currency: str


class Booking(BaseModel):
    """A whole booking, its price and commission frozen when it was made."""

    id: uuid.UUID
    agent_sub: str
    package_id: uuid.UUID
    operator_id: uuid.UUID
    departure_date: datetime.date
    traveller_count: int
    travellers: list[Traveller]
    lead_traveller_name: str
    lead_traveller_email: str
    addons: list[BookedAddon]
    price_breakdown: list[PriceLine]
    total_price: str
    commission_rate: str | None = Field(None, description="only to the agent who booked")
    commission_amount: str | None = Field(None, description="only to the agent who booked")
    currency: str
    status: BookingStatus
    created_at: datetime.datetime
    updated_at: datetime.datetime


class BookingShown(Booking):
    """A whole booking with its package and agent; `degraded` names a service that did not
    answer."""

    package: PackageShown | None
    agent: AgentShown | None
    degraded: list[str] | None = None


class BookingPage(PageFields):
    """A page of bookings, newest first; `degraded` names a service that did not answer."""

    data: list[BookingRow]
    degraded: list[str] | None = None


class StatusCounts(BaseModel):
    """An agent's bookings per status."""

    pending: int
    confirmed: int
    declined: int
    cancelled: int


class MonthCommission(BaseModel):
    """Confirmed commission of one departure month, per currency."""

    month: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}$")
    currency: str
    commission: str
    bookings: int


class AgentSummary(BaseModel):
    """An agent's dashboard figures."""

    counts: StatusCounts
    commission_by_month: list[MonthCommission]


class PackageFigures(BaseModel):
    """An operator's bookings of one package."""

    package_id: uuid.UUID
    title: str | None
    bookings: int
    pending: int
    confirmed: int
    confirmed_travellers: int
    confirmed_revenue: str
    currency: str


class OperatorSummary(BaseModel):
    """An operator's dashboard figures; `degraded` names a service that did not answer."""

    packages: list[PackageFigures]
    degraded: list[str] | None = None


class BookingSummary(RootModel[AgentSummary | OperatorSummary]):
    """An agent's figures, or an operator's, depending on the caller."""

"""Request bodies and query strings of operator-service (they validate, and they are the
OpenAPI document), and the shapes of its answers (documentation only).

Amounts are exact: send them as strings ("1290.50") or JSON numbers with at most two
decimals; answers always carry them as strings. Unknown fields are refused everywhere.
In PATCH bodies an omitted field is left as it is; `null` clears a field that may be empty.
"""
from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from travel_platform.api import PageFields, QueryList
from travel_platform.text import DisplayText, MultilineText

MAX_STOPS = 30
MAX_ADDONS = 30
MAX_EXCLUSIONS = 50
MAX_PAGE_SIZE = 100
MAX_BATCH = 100

Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2,
                                 description="exact amount, e.g. \"1290.50\"")]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2, e.g. PT")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217, e.g. EUR")]
Travellers = Annotated[int, Field(ge=1, le=50)]
Capacity = Annotated[int, Field(ge=1, le=10_000)]
PackageStatus = Literal["draft", "published", "archived"]
Pricing = Literal["per_traveller", "per_booking"]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# Operator profile ----------------------------------------------------------------------------

class OperatorUpdate(_Input):
    """Fields of the operator's own profile to change."""

    # Typed without None but defaulting to it: omitted leaves the value, null is refused.
    company_name: DisplayText = Field(None, min_length=1, max_length=200)  # type: ignore[assignment]
    contact_email: str | None = Field(None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    contact_phone: str | None = Field(None, pattern=r"^\+?[0-9][0-9 ()./-]{3,30}$")


def _strong_password(value: str) -> str:
    if not (any(c.islower() for c in value) and any(c.isupper() for c in value)
            and any(c.isdigit() for c in value)):
        raise ValueError("needs upper and lower case letters and a digit")
    return value


class PasswordChange(_Input):
    """The current password, and the new one: new passwords meet the operators' pool policy
    (10+ characters with upper and lower case letters and a digit), which Supabase Auth's
    allows too, so the change lands on both sides."""

    current_password: str = Field(min_length=1, max_length=256)
    new_password: Annotated[str, Field(min_length=10, max_length=256),
                            AfterValidator(_strong_password)]


# Package parts ---------------------------------------------------------------------------------

class StopIn(_Input):
    """A stop of the trip: nights in one hotel in one city."""

    city: DisplayText = Field(min_length=1, max_length=100)
    country: Country
    nights: int = Field(ge=1, le=60)
    hotel_name: DisplayText = Field(min_length=1, max_length=200)
    star_rating: int = Field(ge=1, le=5)


class StopAdd(StopIn):
    """A stop to insert; without `position` it goes after the last one."""

    position: int | None = Field(None, ge=1, le=MAX_STOPS,
                                 description="1-based place in the trip; later stops move down")


class AddonIn(_Input):
    """An optional extra, priced per traveller or once per booking."""

    name: DisplayText = Field(min_length=1, max_length=200)
    price: Money
    pricing: Pricing


class ExclusionIn(_Input):
    """Something the package does not include."""

    text: DisplayText = Field(min_length=1, max_length=500)


# Packages ------------------------------------------------------------------------------------

class PackageCreate(_Input):
    """A new package (a draft), with its stops, add-ons and exclusions if already known."""

    title: DisplayText = Field(min_length=1, max_length=200)
    description: MultilineText = Field("", max_length=5000)
    price_per_traveller: Money | None = None
    currency: Currency = "EUR"
    min_travellers: Travellers | None = None
    max_travellers: Travellers | None = None
    capacity_per_departure: Capacity | None = Field(None, description="seats per departure date")
    first_departure_date: datetime.date | None = None
    last_departure_date: datetime.date | None = None
    stops: list[StopIn] = Field(default_factory=list, max_length=MAX_STOPS)
    addons: list[AddonIn] = Field(default_factory=list, max_length=MAX_ADDONS)
    exclusions: list[ExclusionIn] = Field(default_factory=list, max_length=MAX_EXCLUSIONS)


class PackageUpdate(_Input):
    """Fields to change; a list given (stops, addons, exclusions) replaces the whole list."""

    # Typed without None but defaulting to it: omitted leaves the value, null is refused.
    title: DisplayText = Field(None, min_length=1, max_length=200)  # type: ignore[assignment]
    description: MultilineText = Field(None, max_length=5000)  # type: ignore[assignment]
    currency: Currency = None  # type: ignore[assignment]
    stops: list[StopIn] = Field(None, max_length=MAX_STOPS)  # type: ignore[arg-type]
    addons: list[AddonIn] = Field(None, max_length=MAX_ADDONS)  # type: ignore[arg-type]
    exclusions: list[ExclusionIn] = Field(None, max_length=MAX_EXCLUSIONS)  # type: ignore[arg-type]
    price_per_traveller: Money | None = None
    min_travellers: Travellers | None = None
    max_travellers: Travellers | None = None
    capacity_per_departure: Capacity | None = None
    first_departure_date: datetime.date | None = None
    last_departure_date: datetime.date | None = None


# Query strings -------------------------------------------------------------------------------

class PageQuery(_Input):
    """Offset pagination. A page size over the maximum is refused (400), never clamped."""

    limit: int = Field(20, ge=1, le=MAX_PAGE_SIZE, description=f"page size, 1 to {MAX_PAGE_SIZE}")
    offset: int = Field(0, ge=0, le=1_000_000, description="rows to skip")


class OperatorListQuery(PageQuery):
    """Which operators an administrator lists."""

    status: Literal["pending", "active", "suspended"] | None = None


class OwnPackagesQuery(PageQuery):
    """The operator's own packages, newest first."""

    status: PackageStatus | None = None


class CatalogueQuery(PageQuery):
    """Filters and order of the published catalogue."""

    city: str | None = Field(None, min_length=1, max_length=100,
                             description="a stop in this city (case-insensitive)")
    country: Country | None = Field(None, description="a stop in this country")
    operator_id: uuid.UUID | None = None
    min_price: Money | None = Field(None,
                                    description="price per traveller, in the package's currency")
    max_price: Money | None = None
    currency: Currency | None = None
    min_nights: int | None = Field(None, ge=0, le=2000, description="total nights of all stops")
    max_nights: int | None = Field(None, ge=0, le=2000)
    travel_date: datetime.date | None = Field(None, description="a departure date in the window")
    sort: Literal["price", "duration", "newest", "title"] = "newest"
    order: Literal["asc", "desc"] | None = Field(
        None, description="default: desc for newest (newest first), asc otherwise")


class BatchQuery(_Input):
    """Package ids: `?id=<uuid>,<uuid>` (or `id` repeated), at most 100."""

    id: QueryList[uuid.UUID] = Field(min_length=1, max_length=MAX_BATCH)


# Answers (documentation only) -----------------------------------------------------------------

class Stop(StopIn):
    """A stop as stored."""

    id: uuid.UUID
    position: int


class Addon(BaseModel):
    """An add-on as stored; `price` is a decimal string."""

    id: uuid.UUID
    position: int
    name: str
    price: str
    pricing: Pricing


class Exclusion(BaseModel):
    """An exclusion as stored."""

    id: uuid.UUID
    position: int
    text: str


class Package(BaseModel):
    """A package with its parts; `total_nights` is derived from the stops."""

    id: uuid.UUID
    operator_id: uuid.UUID
    title: str
    description: str
    status: PackageStatus
    price_per_traveller: str | None
    currency: str
    min_travellers: int | None
    max_travellers: int | None
    capacity_per_departure: int | None
    first_departure_date: datetime.date | None
    last_departure_date: datetime.date | None
    total_nights: int
    created_at: datetime.datetime
    updated_at: datetime.datetime
    stops: list[Stop]
    addons: list[Addon]
    exclusions: list[Exclusion]


class PackagePage(PageFields):
    """A page of packages; `next_offset` is null on the last page."""

    data: list[Package]


class PackageBatch(BaseModel):
    """The packages the caller may see, in the order asked; the other ids in `missing`."""

    data: list[Package]
    missing: list[uuid.UUID]


class OperatorProfile(BaseModel):
    """The operator's `users` row."""

    id: uuid.UUID
    company_name: str
    contact_email: str | None
    contact_phone: str | None
    # pending until an administrator approves; only active operators publish and confirm.
    status: Literal["pending", "active", "suspended"]
    status_changed_at: datetime.datetime | None
    created_at: datetime.datetime
    updated_at: datetime.datetime


class SignIn(BaseModel):
    """An account the operator signs in with, as its issuer holds it: the address they
    proved, where `contact_email` is only what they typed."""

    issuer: Literal["supabase", "cognito"]
    email: str | None
    confirmed: bool


class AdminOperatorProfile(OperatorProfile):
    """An operator's profile as administrators see it, with the sign-in e-mail addresses."""

    sign_ins: list[SignIn]


class OperatorPage(PageFields):
    """A page of operators, oldest first."""

    data: list[AdminOperatorProfile]


class OperatorMe(BaseModel):
    """The verified identity and the profile of the calling operator; `profile` is null
    until their first write (PATCH /me or a new package) creates it."""

    identity: dict[str, Any]
    profile: OperatorProfile | None


class Change(BaseModel):
    """One audited change of a published package."""

    id: int
    changed_at: datetime.datetime
    changed_by: uuid.UUID | None
    change: dict[str, Any]


class ChangePage(PageFields):
    """A page of changes, newest first."""

    data: list[Change]

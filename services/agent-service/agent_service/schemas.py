"""Request bodies and queries of agent-service (they validate, and they are the OpenAPI
schemas), and the documented shapes of its answers."""
from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)

from agent_service.countries import COUNTRY_CODES
from travel_platform.accounts import (  # noqa: F401  (the agents' login routes use them from here)
    CodeRequested,
    ConfirmationCode,
    ConfirmForgotPasswordRequest,
    Email,
    EmailRequest,
    LoginRequest,
    Password,
    PasswordChanged,
    RefreshRequest,
    Tokens,
)
from travel_platform.api import PageFields, QueryList
from travel_platform.text import display_text

AGENT_STATUSES = ("pending", "active", "suspended")
DOCUMENT_KINDS = ("licence", "id", "contract", "other")
DOCUMENT_CONTENT_TYPES = ("application/pdf", "image/jpeg", "image/png")
DOCUMENT_STATUSES = ("pending_upload", "uploaded")
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
MAX_PAGE_SIZE = 100
MAX_LOOKUP_SUBS = 100

AgentStatus = Literal["pending", "active", "suspended"]
DocumentKind = Literal["licence", "id", "contract", "other"]
DocumentContentType = Literal["application/pdf", "image/jpeg", "image/png"]

_PHONE_SEPARATORS = re.compile(r"[\s().-]")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def _phone(value: str) -> str:
    # People write +351 912-345-678; the database keeps the E.164 form only.
    compact = _PHONE_SEPARATORS.sub("", value)
    if not _E164.fullmatch(compact):
        raise ValueError("must be an international number in E.164 form, e.g. +351912345678")
    return compact


def _country(value: str) -> str:
    code = value.upper()
    if code not in COUNTRY_CODES:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code, e.g. PT")
    return code


def _lower_email(value: str) -> str:
    if len(value) > 254:
        raise ValueError("must be at most 254 characters")
    return value.lower()


# E-mail addresses are kept lower-case, at sign-up and at login alike, so that the
# Cognito user name does not depend on how someone typed it.
NewEmail = Annotated[EmailStr, AfterValidator(_lower_email)]
# Login and confirmation accept anything address-shaped: an unknown address is answered
# like a wrong password, never with a validation hint.
AgencyName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
                       AfterValidator(display_text)]
Phone = Annotated[str, StringConstraints(max_length=32), AfterValidator(_phone),
                  Field(description="E.164, e.g. +351912345678 (spaces and dashes are dropped)")]
Country = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=2),
                    AfterValidator(_country),
                    Field(description="ISO 3166-1 alpha-2 country code, e.g. PT")]
FileName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255),
                     AfterValidator(display_text)]
CognitoSub = Annotated[str, StringConstraints(min_length=1, max_length=128,
                                              pattern=r"^[A-Za-z0-9-]+$")]


class _Strict(BaseModel):
    """Unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


# --- requests ---------------------------------------------------------------------------

class SignUpRequest(_Strict):
    """A new travel agent: Cognito account and agency profile."""

    email: NewEmail
    password: Password
    agency_name: AgencyName
    country: Country
    phone: Phone | None = None


class ConfirmSignUpRequest(_Strict):
    """The code Cognito e-mailed to confirm an account, and the account's password (the
    code alone could confirm an account someone else signed up with the address)."""

    email: Email
    password: Password
    code: ConfirmationCode


class ChangePasswordRequest(_Strict):
    """The caller's current password and the new one."""

    current_password: Password
    new_password: Password


class ProfileUpdate(_Strict):
    """Fields of their own profile an agent may change; `phone: null` removes the phone.
    The e-mail is the Cognito user name and cannot be changed here."""

    # Not nullable: an explicit null is refused, leaving a field out keeps it.
    agency_name: AgencyName = None  # type: ignore[assignment]
    phone: Phone | None = None
    country: Country = None  # type: ignore[assignment]

    @model_validator(mode="after")
    def _something_to_change(self) -> ProfileUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one of agency_name, phone, country")
        return self

    def changes(self) -> dict[str, Any]:
        """Only the fields the caller sent."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class AgentListQuery(_Strict):
    """Filter and page of the administrators' list."""

    status: AgentStatus | None = Field(None, description="only agents in this status")
    limit: int = Field(20, ge=1, le=MAX_PAGE_SIZE, description="page size")
    offset: int = Field(0, ge=0, le=1_000_000)


class CommissionRateRequest(_Strict):
    """A commission rate between 0 and 1 with at most 4 decimals (0.1250 = 12.5 %)."""

    commission_rate: Decimal = Field(ge=0, le=1, max_digits=5, decimal_places=4,
                                     description="send a string such as \"0.1250\" to stay exact")


class DocumentUploadRequest(_Strict):
    """What an agent is about to upload; the upload form will admit exactly this."""

    file_name: FileName
    content_type: DocumentContentType
    size: int = Field(strict=True, ge=1, le=MAX_DOCUMENT_BYTES, description="bytes")
    kind: DocumentKind


class AgentLookupQuery(_Strict):
    """Cognito subs to look up: `sub=a,b,c` (or `sub` repeated), at most 100."""

    sub: QueryList[CognitoSub] = Field(min_length=1, max_length=MAX_LOOKUP_SUBS)


# --- answers (documentation) ------------------------------------------------------------

class AgentProfile(BaseModel):
    """A travel agent as they see themselves."""

    id: UUID
    cognito_sub: str
    email: str
    agency_name: str
    phone: str | None
    country: str | None
    status: AgentStatus
    commission_rate: str = Field(description="exact decimal, e.g. \"0.1000\"")
    status_changed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class AgentAdminView(AgentProfile):
    """A travel agent as administrators see them."""

    status_changed_by: str | None = Field(description="Cognito sub of the admin")


class SignUpResult(BaseModel):
    """The new, pending agent; Cognito e-mails a code to confirm the account with."""

    agent: AgentProfile
    user_confirmed: bool
    code_delivery: dict | None


class SignUpConfirmed(BaseModel):
    """The account is confirmed: the agent can log in."""

    confirmed: bool


class Me(BaseModel):
    """The caller's verified identity and agent profile."""

    identity: dict
    profile: AgentProfile


class AgentPage(PageFields):
    """A page of agents; `next_offset` is null on the last page."""

    data: list[AgentAdminView]


class Document(BaseModel):
    """A document of an agent."""

    id: UUID
    kind: DocumentKind
    file_name: str
    content_type: DocumentContentType
    size_bytes: int
    status: Literal["pending_upload", "uploaded"]
    uploaded_at: datetime | None
    created_at: datetime
    updated_at: datetime


class DocumentList(BaseModel):
    """An agent's documents, newest first."""

    data: list[Document]


class PresignedPost(BaseModel):
    """POST `fields` plus the file (as the last form field, named `file`) to `url`."""

    url: str
    fields: dict[str, str]
    expires_in: int


class DocumentUpload(BaseModel):
    """The new document, and the form to upload its file with."""

    document: Document
    upload: PresignedPost


class DownloadLink(BaseModel):
    """A short-lived link to the file."""

    url: str
    expires_in: int


class AgentLookupEntry(BaseModel):
    """One agent: to that agent, with status and commission rate; to an operator, the
    agency name only."""

    sub: str
    agency_name: str
    status: AgentStatus | None = None
    commission_rate: str | None = None


class AgentLookup(BaseModel):
    """The agents found; subs with no agent are left out."""

    data: list[AgentLookupEntry]

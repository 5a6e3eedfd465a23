"""Request and answer shapes of the account routes both Cognito pools have (the agents'
login at /api/agents, the operators' at /api/operators): one definition for both."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Email = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=3,
                                         max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
# The pool's password policy decides what is strong enough; this only bounds the size.
Password = Annotated[str, Field(min_length=1, max_length=256)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginRequest(_Strict):
    """An e-mail and password."""

    email: Email
    password: Password


class RefreshRequest(_Strict):
    """A refresh token from login."""

    refresh_token: str = Field(min_length=1, max_length=8192)


class Tokens(BaseModel):
    """Cognito tokens; a refresh answer carries no new refresh token."""

    access_token: str
    id_token: str | None
    refresh_token: str | None
    expires_in: int
    token_type: Literal["Bearer"]

"""What agents' and operators' accounts have in common: the shapes of the login routes both
Cognito pools have (/api/agents, /api/operators), and the life of an account an
administrator approves (pending -> active <-> suspended), one definition for both."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Email = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=3,
                                         max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
ACCOUNT_STATUSES = ("pending", "active", "suspended")
# action -> (status it needs, status it leads to)
TRANSITIONS = {"approve": ("pending", "active"), "suspend": ("active", "suspended"),
               "reactivate": ("suspended", "active")}

# The pool's password policy decides what is strong enough; this only bounds the size.
Password = Annotated[str, Field(min_length=1, max_length=256)]
ConfirmationCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                   max_length=64, pattern=r"^\S+$")]


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


class EmailRequest(_Strict):
    """The e-mail of an account, to send a code to."""

    email: Email


class ConfirmForgotPasswordRequest(_Strict):
    """The code ForgotPassword e-mailed, and the new password."""

    email: Email
    code: ConfirmationCode
    new_password: Password


# The answer to a code request, whether or not the address has an account.
CODE_REQUESTED = {"code_sent_if_account_exists": True}


class CodeRequested(BaseModel):
    """Said whether or not the account exists, so that nobody learns which addresses have
    one: if it does, Cognito e-mailed a code to it."""

    code_sent_if_account_exists: Literal[True]


class PasswordChanged(BaseModel):
    """The new password is set: log in with it."""

    password_changed: Literal[True]

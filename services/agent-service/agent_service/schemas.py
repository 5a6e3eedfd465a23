"""Request bodies of agent-service."""
from pydantic import BaseModel, ConfigDict, Field


class LoginRequest(BaseModel):
    """E-mail and password of a travel agent."""

    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    password: str = Field(min_length=1, max_length=256)

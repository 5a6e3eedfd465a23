"""The browser origins allowed to call the API (CORS_ALLOWED_ORIGINS): one list for the
gateway's CORS headers and the S3 bucket's CORS rules, so a page that may call the API may
also upload its documents, and no other."""
from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from travel_platform.settings import is_local_url

# scheme://host[:port], nothing after: what a browser sends in `Origin`.
_ORIGIN = re.compile(r"^https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$")


def parse_origins(raw: str) -> tuple[str, ...]:
    """Comma- or space-separated origins, each exactly as a browser sends it; ValueError
    naming the first one that is not an origin (a path, a wildcard, a trailing slash)."""
    origins = []
    for origin in re.split(r"[\s,]+", raw.strip()):
        if not origin:
            continue
        if not _ORIGIN.fullmatch(origin):
            raise ValueError(f"{origin!r} is not an origin: write scheme://host[:port], "
                             "e.g. https://dashboard.example.com (no path, no trailing slash, "
                             "no wildcard)")
        origins.append(origin.lower())
    return tuple(dict.fromkeys(origins))


class CorsSettings(BaseSettings):
    """CORS_ALLOWED_ORIGINS; unset means the caller's default (a local stack's own)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    # NoDecode: the value is a plain list of origins, never JSON.
    cors_allowed_origins: Annotated[tuple[str, ...] | None, NoDecode] = None
    # `production` refuses origins only a local stack may allow (see below).
    environment: Literal["local", "production"] = "local"

    @field_validator("cors_allowed_origins", mode="before")
    @classmethod
    def _parse(cls, value):
        return parse_origins(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _production_allows_only_public_https_origins(self):
        # A plain-http or loopback origin in production lets any page served that way (a
        # developer's machine, a man in the middle) call the API with a user's token.
        if self.environment == "production":
            bad = [o for o in self.cors_allowed_origins or ()
                   if not o.startswith("https://") or is_local_url(o)]
            if bad:
                raise ValueError(f"production refuses CORS_ALLOWED_ORIGINS {', '.join(bad)}: "
                                 "list the dashboard's public https:// origins")
        return self

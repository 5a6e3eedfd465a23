"""booking-service settings."""
from pydantic import Field

from travel_platform.settings import BaseServiceSettings, RdsSettings


class BookingSettings(BaseServiceSettings, RdsSettings):
    """Token issuers, the RDS database, and where the two services it composes live."""

    agent_service_url: str
    operator_service_url: str
    # The freshness bound of what a bookings page shows of packages and agents (display.py):
    # a title or agency name changed longer ago than this is on every page. Titles change
    # far more rarely than pages are read; `Cache-Control: no-cache` asks at once. 0: every
    # page asks the other services.
    display_max_age_seconds: float = Field(default=300.0, ge=0)

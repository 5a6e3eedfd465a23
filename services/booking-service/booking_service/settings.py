"""booking-service settings."""
from travel_platform.settings import BaseServiceSettings, RdsSettings


class BookingSettings(BaseServiceSettings, RdsSettings):
    """Token issuers, the RDS database, and where the two services it composes live."""

    agent_service_url: str
    operator_service_url: str
    # How long package titles and agency names shown on bookings are reused; 0 turns it off.
    display_cache_seconds: float = 15.0

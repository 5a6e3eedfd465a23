"""agent-service settings."""
from functools import cached_property

from pydantic import Field

from travel_platform.settings import BaseServiceSettings, RdsSettings


class AgentSettings(BaseServiceSettings, RdsSettings):
    """Token issuers, the RDS database, the Cognito app client used for sign-up and login,
    and the S3 bucket of agents' documents."""

    # The name aws/scripts/provision.py creates; set it where the bucket is named otherwise.
    aws_s3_bucket: str = "travel-agent-uploads"
    # Where browsers reach S3, if not where this service does (an emulator inside a
    # container network): presigned forms and links are made for this address. Unset on AWS.
    aws_s3_public_endpoint_url: str | None = None
    # Attempts at each account flow (sign-up, confirmation, login, refresh) one account may
    # make per window; beyond them a 429. The gateway limits the same flows per address.
    account_attempts_per_window: int = Field(default=10, ge=1)
    account_attempt_window_seconds: int = Field(default=300, ge=1)

    @cached_property
    def dashboard_client_id(self) -> str:
        """The app client agents sign up and log in with (the first configured one)."""
        return self.cognito_client_ids[0]

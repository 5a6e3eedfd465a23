"""agent-service settings."""
from functools import cached_property

from travel_platform.settings import AccountAttemptSettings, BaseServiceSettings, RdsSettings


class AgentSettings(BaseServiceSettings, RdsSettings, AccountAttemptSettings):
    """Token issuers, the RDS database, the Cognito app client used for sign-up and login,
    and the S3 bucket of agents' documents."""

    # The name aws/scripts/provision.py creates; set it where the bucket is named otherwise.
    aws_s3_bucket: str = "travel-agent-uploads"
    # Where browsers reach S3, if not where this service does (an emulator inside a
    # container network): presigned forms and links are made for this address. Unset on AWS.
    aws_s3_public_endpoint_url: str | None = None
    # Attempts at each account flow (sign-up, confirmation, login, refresh) one account may
    # make per window, a login's per account and client address: AccountAttemptSettings.
    # The gateway limits the same flows per address.

    @cached_property
    def dashboard_client_id(self) -> str:
        """The app client agents sign up and log in with (the first configured one)."""
        return self.cognito_client_ids[0]

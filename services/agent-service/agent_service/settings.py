"""agent-service settings."""
from functools import cached_property

from travel_platform.settings import BaseServiceSettings, RdsSettings


class AgentSettings(BaseServiceSettings, RdsSettings):
    """Token issuers, the RDS database, the Cognito app client used for sign-up and login,
    and the S3 bucket of agents' documents."""

    # The name aws/scripts/provision.py creates; set it where the bucket is named otherwise.
    aws_s3_bucket: str = "travel-agent-uploads"

    @cached_property
    def dashboard_client_id(self) -> str:
        """The app client agents sign up and log in with (the first configured one)."""
        return self.cognito_client_ids[0]

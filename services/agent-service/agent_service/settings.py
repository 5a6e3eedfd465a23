"""agent-service settings."""
from shared.settings import BaseServiceSettings, RdsSettings


class AgentSettings(BaseServiceSettings, RdsSettings):
    """Token issuers, the RDS database and the Cognito app client used for logins."""

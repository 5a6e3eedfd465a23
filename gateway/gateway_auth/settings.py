"""gateway-auth's settings, from the environment, failing fast."""
from travel_platform.settings import BaseServiceSettings, RdsSettings


class GatewayAuthSettings(BaseServiceSettings, RdsSettings):
    """Token issuers, and RDS, where it reads which issuers operators use now and which
    operator a sign-in of the operators' pool is (a role that may read only those)."""

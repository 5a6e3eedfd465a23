"""operator-service settings."""
from pydantic import SecretStr

from travel_platform.settings import BaseServiceSettings, RdsSettings


class OperatorSettings(BaseServiceSettings, RdsSettings):
    """Token issuers, the Supabase project's PostgreSQL database, and RDS, which holds the
    migration state (where each operator table lives) and the tables already moved."""

    # A role that can only become `anon` or `authenticated`, so RLS applies to every query.
    supabase_db_url: SecretStr

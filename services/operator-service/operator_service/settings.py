"""operator-service settings."""
from pydantic import SecretStr

from shared.settings import BaseServiceSettings


class OperatorSettings(BaseServiceSettings):
    """Token issuers and the Supabase project's PostgreSQL database."""

    # A role that can only become `anon` or `authenticated`, so RLS applies to every query.
    supabase_db_url: SecretStr

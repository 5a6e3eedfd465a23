"""operator-service settings."""
from pydantic import SecretStr

from travel_platform.settings import BaseServiceSettings, RdsSettings


class OperatorSettings(BaseServiceSettings, RdsSettings):
    """Token issuers, the Supabase project's PostgreSQL database, and RDS, which holds the
    migration state (where each operator table lives) and the tables already moved; and
    what operators' logins need while they move to Cognito (docs/operator-logins.md)."""

    # A role that can only become `anon` or `authenticated`, so RLS applies to every query.
    supabase_db_url: SecretStr
    # Supabase Auth's API keys: the anon key checks an operator's password (a password grant,
    # as the UserMigration trigger does); the service role key sets a changed password there
    # too while both logins are open, so a rollback costs nobody their password.
    supabase_anon_key: SecretStr
    supabase_service_role_key: SecretStr

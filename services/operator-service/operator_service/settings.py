"""operator-service settings."""
from typing import ClassVar

from pydantic import SecretStr

from travel_platform.settings import AccountAttemptSettings, BaseServiceSettings, RdsSettings


class OperatorSettings(BaseServiceSettings, RdsSettings, AccountAttemptSettings):
    """Token issuers, the Supabase project's PostgreSQL database, and RDS, which holds the
    migration state (where each operator table lives) and the tables already moved; and
    what operators' logins need while they move to Cognito (docs/operator-logins.md), and how
many failed attempts at an operator's password it lets through (AccountAttemptSettings).
    With no Supabase setting at all ("Supabase off", docs/deployment.md) it serves every
    operator table from RDS, and starts only once the whole move is finalized."""

    # A role that can only become `anon` or `authenticated`, so RLS applies to every query.
    supabase_db_url: SecretStr | None = None
    # Supabase Auth's service role key is in every service's settings (the window's account
    # check); here it also sets a changed password there while both logins are open, so a
    # rollback costs nobody their password.

    SUPABASE_GROUP: ClassVar[tuple[str, ...]] = (*BaseServiceSettings.SUPABASE_GROUP,
                                                 "supabase_db_url")

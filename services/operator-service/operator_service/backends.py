"""What operator-service talks to, opened from its settings: the databases that hold the
operator tables (Supabase and, as they move, RDS), and the two issuers operators sign in
with while their logins move (Supabase Auth and the operators' Cognito pool).

With Supabase off (no Supabase setting, docs/deployment.md) there is no Supabase pool and
no Supabase Auth: the service starts only once every unit of the move is finalized, so every
operator table lives on RDS (`require_everything_on_rds`)."""
import boto3
import psycopg
import user_migration
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from operator_service.datasource import (
    OPERATOR_TABLES,
    RDS,
    SUPABASE,
    DataSources,
    Routing,
    Shadow,
)
from operator_service.logins import OperatorAccounts
from operator_service.settings import OperatorSettings
from travel_platform.auth.operator_logins import OperatorLogins
from travel_platform.cognito import CognitoAccounts
from travel_platform.db import create_pool, with_default_tls
from travel_platform.rate_limits import PasswordAttemptLimit
from travel_platform.settings import SettingsError

# Every table on RDS, for reads and writes: where the routing stands once the move is final.
ALL_ON_RDS = {table: RDS for table in OPERATOR_TABLES}


def open_data_sources(settings: OperatorSettings, *, rds: ConnectionPool,
                      name: str) -> DataSources:
    """The databases that hold operator tables, and the routing between them that the
    migration state in RDS decides."""
    if settings.supabase_db_url is None:
        require_everything_on_rds(rds)
        return DataSources({RDS: rds}, table_sources=ALL_ON_RDS,
                           routing=Routing(rds, defaults=ALL_ON_RDS), shadow=Shadow(rds))
    supabase = create_pool(name=name, database="supabase",
                           conninfo=with_default_tls(settings.supabase_db_url.get_secret_value()))
    return DataSources({SUPABASE: supabase, RDS: rds}, routing=Routing(rds), shadow=Shadow(rds))


def require_everything_on_rds(rds: ConnectionPool) -> None:
    """Refuse to start with Supabase off unless every unit of the move is finalized (or
    dropped): one line naming the units still on Supabase and what to do. Read once, at
    start; a unit is final when both its reads and writes are on RDS and its move is no
    longer under way (`migration.routing`)."""
    try:
        with rds.connection(timeout=5.0) as conn:
            rows = conn.cursor(row_factory=dict_row).execute(
                "select table_name, unit, reads_from, writes_to, moving"
                "  from migration.routing").fetchall()
    except psycopg.errors.UndefinedTable:   # no migration schema: nothing ever moved
        rows = []
    placed = {row["table_name"]: row for row in rows}
    pending: dict[str, str] = {}
    for table in OPERATOR_TABLES:
        row = placed.get(table)
        if row is None:
            pending[f"table {table}"] = "never moved"
        elif row["moving"] or SUPABASE in (row["reads_from"], row["writes_to"]):
            pending[row["unit"]] = (f"reads on {row['reads_from']}, writes on "
                                    f"{row['writes_to']}, not finalized")
    if pending:
        named = "; ".join(f"{what} ({why})" for what, why in pending.items())
        raise SettingsError(
            f"Supabase is off (no SUPABASE_* setting) but these units are still on Supabase: "
            f"{named}. Finalize them (`python -m migrate finalize UNIT`, "
            "docs/migration-runbook.md) or set the Supabase settings")


def open_operator_accounts(settings: OperatorSettings, *, rds: ConnectionPool,
                           logins: OperatorLogins) -> OperatorAccounts:
    """The operators' Cognito pool and Supabase Auth, which operators' sign-in spans while
    their logins move (operator_service/logins.py)."""
    cognito = CognitoAccounts(boto3.client("cognito-idp", region_name=settings.aws_region),
                              user_pool_id=settings.aws_cognito_operator_pool_id,
                              client_id=settings.aws_cognito_operator_client_id)
    supabase: user_migration.SupabaseAuthHttp = SupabaseAuthOff()
    if (settings.supabase_url is not None and settings.supabase_anon_key is not None
            and settings.supabase_service_role_key is not None):
        supabase = user_migration.SupabaseAuthHttp(
            url=settings.supabase_url, anon_key=settings.supabase_anon_key.get_secret_value(),
            service_role_key=settings.supabase_service_role_key.get_secret_value())
    attempts = PasswordAttemptLimit(
        per_address=settings.account_attempts_per_window,
        all_addresses=settings.account_attempts_per_window_all_addresses,
        window_seconds=settings.account_attempt_window_seconds)
    return OperatorAccounts(cognito=cognito, supabase=supabase, rds=rds, logins=logins,
                            attempts=attempts, region=settings.aws_region,
                            pool_id=settings.aws_cognito_operator_pool_id,
                            client_id=settings.aws_cognito_operator_client_id)



class SupabaseAuthOff(user_migration.SupabaseAuthHttp):
    """Supabase Auth where Supabase is off: every call is `user_migration.Unavailable`, which
    the sign-in code already answers as an outage (a JSON 503), never a stack trace. Nothing
    should reach it: with the operators' logins finalized only the operators' pool signs in.
    A subclass, so OperatorAccounts keeps one type instead of an Optional at every use."""

    def __init__(self) -> None:
        super().__init__(url="", anon_key="")

    def _call_with_headers(self, method: str, path: str, *, key: str, token: str | None = None,
                           body: dict | None = None):
        raise user_migration.Unavailable("Supabase Auth is off here (no SUPABASE_* setting)")

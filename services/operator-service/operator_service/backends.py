"""What operator-service talks to, opened from its settings: the databases that hold the
operator tables (Supabase and, as they move, RDS), and the two issuers operators sign in
with while their logins move (Supabase Auth and the operators' Cognito pool)."""
import boto3
import user_migration
from psycopg_pool import ConnectionPool

from operator_service.datasource import RDS, SUPABASE, DataSources, Routing, Shadow
from operator_service.logins import OperatorAccounts
from operator_service.settings import OperatorSettings
from travel_platform.auth.operator_logins import OperatorLogins
from travel_platform.cognito import CognitoAccounts
from travel_platform.db import create_pool, with_default_tls
from travel_platform.rate_limits import PasswordAttemptLimit


def open_data_sources(settings: OperatorSettings, *, rds: ConnectionPool,
                      name: str) -> DataSources:
    """The databases that hold operator tables, and the routing between them that the
    migration state in RDS decides."""
    supabase = create_pool(name=name, database="supabase",
                           conninfo=with_default_tls(settings.supabase_db_url.get_secret_value()))
    return DataSources({SUPABASE: supabase, RDS: rds}, routing=Routing(rds), shadow=Shadow(rds))


def open_operator_accounts(settings: OperatorSettings, *, rds: ConnectionPool,
                           logins: OperatorLogins) -> OperatorAccounts:
    """The operators' Cognito pool and Supabase Auth, which operators' sign-in spans while
    their logins move (operator_service/logins.py)."""
    cognito = CognitoAccounts(boto3.client("cognito-idp", region_name=settings.aws_region),
                              user_pool_id=settings.aws_cognito_operator_pool_id,
                              client_id=settings.aws_cognito_operator_client_id)
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

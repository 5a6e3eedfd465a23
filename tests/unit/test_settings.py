"""Settings are read once and a missing value stops the process at start-up, by name."""
import pytest
from agent_service.settings import AgentSettings

from travel_platform.settings import SettingsError, load_settings

COMPLETE = {"AWS_REGION": "eu-west-1", "AWS_COGNITO_USER_POOL_ID": "eu-west-1_abc",
            "AWS_COGNITO_CLIENT_ID": "one, two", "SUPABASE_URL": "https://proj.supabase.co/",
            "AWS_COGNITO_OPERATOR_POOL_ID": "eu-west-1_ops",
            "AWS_COGNITO_OPERATOR_CLIENT_ID": "console",
            "AWS_RDS_HOST": "db.example", "AWS_RDS_SECRET_ID": "travel-agent-db/agent-service",
            "SUPABASE_ANON_KEY": "the-projects-public-anon-key",
            "SUPABASE_SERVICE_ROLE_KEY": "the-projects-service-role-key"}


def test_missing_values_are_named(monkeypatch):
    for name in COMPLETE:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SettingsError) as error:
        load_settings(AgentSettings, {"AWS_REGION": "eu-west-1"})
    assert "AWS_RDS_HOST" in str(error.value)
    # No Supabase setting at all is a choice (Supabase off), not a missing value.
    assert "SUPABASE" not in str(error.value)


SUPABASE = ("SUPABASE_URL", "SUPABASE_ANON_KEY", "SUPABASE_SERVICE_ROLE_KEY")


def test_the_supabase_settings_go_together_or_not_at_all():
    without = {k: v for k, v in COMPLETE.items() if k not in SUPABASE}
    off = load_settings(AgentSettings, without)
    assert not off.supabase_on and off.supabase_url is None
    assert load_settings(AgentSettings, COMPLETE).supabase_on
    for kept in SUPABASE:
        with pytest.raises(SettingsError) as error:
            load_settings(AgentSettings, {**without, kept: COMPLETE[kept]})
        message = str(error.value)
        assert "\n" not in message and "set all of SUPABASE_URL, SUPABASE_ANON_KEY" in message
        missing = message.split("missing: ")[1]
        assert kept not in missing
        assert all(name in missing for name in SUPABASE if name != kept), message


def test_operator_service_counts_its_database_in_the_group():
    from operator_service.settings import OperatorSettings

    without = {k: v for k, v in COMPLETE.items() if k not in SUPABASE}
    assert load_settings(OperatorSettings, without).supabase_db_url is None
    with pytest.raises(SettingsError, match="missing: SUPABASE_DB_URL$"):
        load_settings(OperatorSettings, COMPLETE)
    with pytest.raises(SettingsError, match="missing: SUPABASE_URL, SUPABASE_ANON_KEY, "
                                            "SUPABASE_SERVICE_ROLE_KEY$"):
        load_settings(OperatorSettings, {**without, "SUPABASE_DB_URL": "postgresql://x/y"})


def test_defaults_point_at_real_aws_and_supabase_with_verified_tls():
    settings = load_settings(AgentSettings, COMPLETE)
    assert settings.cognito_issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"
    assert settings.cognito_jwks_url == settings.cognito_issuer + "/.well-known/jwks.json"
    assert settings.cognito_client_ids == ("one", "two")
    assert settings.cognito_operator_issuer == (
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_ops")
    assert settings.cognito_operator_jwks_url == (
        settings.cognito_operator_issuer + "/.well-known/jwks.json")
    assert settings.supabase_issuer == "https://proj.supabase.co/auth/v1"
    assert settings.supabase_jwks == "https://proj.supabase.co/auth/v1/.well-known/jwks.json"
    assert settings.aws_rds_sslmode == "verify-full"


def test_jwks_location_can_differ_from_the_issuer():
    settings = load_settings(AgentSettings, {**COMPLETE,
                                             "AWS_COGNITO_JWKS_URL": "http://127.0.0.1:5050/p/jwks"})
    assert settings.cognito_jwks_url == "http://127.0.0.1:5050/p/jwks"
    assert settings.cognito_issuer.startswith("https://cognito-idp.")


LOCAL_STACK = {**COMPLETE, "SUPABASE_URL": "http://127.0.0.1:54321",
               "AWS_ENDPOINT_URL": "http://127.0.0.1:5050",
               "AWS_COGNITO_JWKS_URL": "http://127.0.0.1:5050/p/.well-known/jwks.json",
               "AWS_RDS_SSLMODE": "require",
               "SUPABASE_JWT_SECRET": "dev-only-jwt-secret-change-me-32-bytes"}


def test_the_issuer_tokens_name_can_differ_from_where_auth_is_reached():
    # In a container network Auth is reached by its service name; clients, and so tokens,
    # know it by its published address.
    settings = load_settings(AgentSettings, {
        **COMPLETE, "SUPABASE_URL": "http://supabase-auth:54321",
        "SUPABASE_JWT_ISSUER": "http://127.0.0.1:54321/auth/v1"})
    assert settings.supabase_issuer == "http://127.0.0.1:54321/auth/v1"
    assert settings.supabase_jwks == "http://supabase-auth:54321/auth/v1/.well-known/jwks.json"


def test_a_local_stack_starts_as_it_is_by_default():
    assert load_settings(AgentSettings, LOCAL_STACK).environment == "local"


def test_production_refuses_every_local_setting_by_name():
    with pytest.raises(SettingsError) as error:
        load_settings(AgentSettings, {**LOCAL_STACK, "ENVIRONMENT": "production"})
    message = str(error.value)
    for name in ("AWS_ENDPOINT_URL", "SUPABASE_URL", "AWS_COGNITO_JWKS_URL", "AWS_RDS_SSLMODE",
                 "SUPABASE_JWT_SECRET"):
        assert name in message, name
    with pytest.raises(SettingsError) as error:
        load_settings(AgentSettings, {**COMPLETE, "ENVIRONMENT": "production",
                                      "SUPABASE_JWT_ISSUER": "http://127.0.0.1:54321/auth/v1",
                                      "AWS_S3_PUBLIC_ENDPOINT_URL": "http://127.0.0.1:5050"})
    assert "SUPABASE_JWT_ISSUER" in str(error.value)
    assert "AWS_S3_PUBLIC_ENDPOINT_URL" in str(error.value)


def test_production_refuses_an_operator_database_without_verified_tls():
    from operator_service.settings import OperatorSettings

    url = "postgresql://operator_service:s3cret@db.proj.supabase.co/postgres?sslmode=require"
    with pytest.raises(SettingsError, match="SUPABASE_DB_URL must reach the project"):
        load_settings(OperatorSettings, {**COMPLETE, "ENVIRONMENT": "production",
                                         "SUPABASE_DB_URL": url, "SUPABASE_ANON_KEY": "anon",
                                         "SUPABASE_SERVICE_ROLE_KEY": "service"})


def test_production_takes_real_endpoints():
    settings = load_settings(AgentSettings, {**COMPLETE, "ENVIRONMENT": "production"})
    assert settings.environment == "production"

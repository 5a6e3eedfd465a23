"""Settings are read once and a missing value stops the process at start-up, by name."""
import pytest
from agent_service.settings import AgentSettings

from travel_platform.settings import SettingsError, load_settings

COMPLETE = {"AWS_REGION": "eu-west-1", "AWS_COGNITO_USER_POOL_ID": "eu-west-1_abc",
            "AWS_COGNITO_CLIENT_ID": "one, two", "SUPABASE_URL": "https://proj.supabase.co/",
            "AWS_RDS_HOST": "db.example", "AWS_RDS_SECRET_ID": "travel-agent-db/agent-service"}


def test_missing_values_are_named(monkeypatch):
    for name in COMPLETE:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SettingsError) as error:
        load_settings(AgentSettings, {"AWS_REGION": "eu-west-1"})
    assert "AWS_RDS_HOST" in str(error.value) and "SUPABASE_URL" in str(error.value)


def test_defaults_point_at_real_aws_and_supabase_with_verified_tls():
    settings = load_settings(AgentSettings, COMPLETE)
    assert settings.cognito_issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"
    assert settings.cognito_jwks_url == settings.cognito_issuer + "/.well-known/jwks.json"
    assert settings.cognito_client_ids == ("one", "two")
    assert settings.supabase_issuer == "https://proj.supabase.co/auth/v1"
    assert settings.supabase_jwks == "https://proj.supabase.co/auth/v1/.well-known/jwks.json"
    assert settings.aws_rds_sslmode == "verify-full"


def test_jwks_location_can_differ_from_the_issuer():
    settings = load_settings(AgentSettings, {**COMPLETE,
                                             "AWS_COGNITO_JWKS_URL": "http://127.0.0.1:5050/p/jwks"})
    assert settings.cognito_jwks_url == "http://127.0.0.1:5050/p/jwks"
    assert settings.cognito_issuer.startswith("https://cognito-idp.")

"""CORS_ALLOWED_ORIGINS: exact origins only, and a local stack's default list."""
from pathlib import Path

import pytest

from devstack.api import Layout, cors_origins
from travel_platform.cors import CorsSettings, parse_origins


def test_origins_are_read_as_browsers_send_them():
    assert parse_origins(" https://App.example.com,http://localhost:5173  http://[::1]:8080, ") \
        == ("https://app.example.com", "http://localhost:5173", "http://[::1]:8080")


@pytest.mark.parametrize("bad", ["https://app.example.com/", "*", "https://*.example.com",
                                 "app.example.com", "https://app.example.com/path",
                                 "ftp://app.example.com"])
def test_anything_but_an_origin_is_refused_by_name(bad):
    with pytest.raises(ValueError, match="is not an origin"):
        parse_origins(bad)


def test_a_local_stack_allows_itself_and_the_usual_dev_servers(monkeypatch):
    monkeypatch.delenv("CORS_ALLOWED_ORIGINS", raising=False)
    origins = cors_origins(Layout(state=Path("/nowhere"), port_offset=1000))
    assert {"http://127.0.0.1:9080", "http://localhost:9080", "http://localhost:6173",
            "http://localhost:4000"} <= set(origins)


def test_the_setting_replaces_the_default(monkeypatch):
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", "https://dashboard.example.com")
    assert CorsSettings().cors_allowed_origins == ("https://dashboard.example.com",)
    assert cors_origins(Layout(state=Path("/nowhere"))) == ("https://dashboard.example.com",)


@pytest.mark.parametrize("origin", ["http://dashboard.example.com", "https://localhost:8080",
                                    "https://127.0.0.1"])
def test_production_refuses_origins_only_a_local_stack_may_allow(origin):
    with pytest.raises(ValueError, match="production refuses CORS_ALLOWED_ORIGINS"):
        CorsSettings(environment="production", cors_allowed_origins=origin)
    assert CorsSettings(environment="local", cors_allowed_origins=origin).cors_allowed_origins


def test_production_takes_public_https_origins():
    settings = CorsSettings(environment="production",
                            cors_allowed_origins="https://dashboard.example.com")
    assert settings.cors_allowed_origins == ("https://dashboard.example.com",)

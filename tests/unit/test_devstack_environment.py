"""devstack gives each Python part exactly what its own Settings class reads (plus its
runtime's own variables), out of everything the stack knows: one list of a service's
variables, and no part holds another part's secret."""
from __future__ import annotations

from pathlib import Path

from devstack.api import (
    AUTH_STANDIN,
    PYTHON_PARTS,
    SERVICES,
    Layout,
    part_environment,
    settings_class,
    settings_variables,
)

LAYOUT = Layout(state=Path("/nonexistent-state"), port_offset=5000)
KEYS = {"operator_service_password": "op-secret-password"}
AWS = {f"{name.upper().replace('-', '_')}_RDS_SECRET_ID": f"secret-of-{name}"
       for name in SERVICES}
ADMINS = {"supabase-db": "postgresql://postgres:admin@127.0.0.1/postgres", "rds": "x"}
RUNTIME = {"PATH", "LANG", "HOME", "PYTHONUNBUFFERED", "PYTHONPATH", "BIND", "ACCESS_LOG",
           "PROMETHEUS_MULTIPROC_DIR", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID",
           "AWS_SECRET_ACCESS_KEY"}


def _env(part: str, known: dict[str, str]) -> dict[str, str]:
    return part_environment(LAYOUT, part, known, stack_secrets=KEYS, aws=AWS, admin_urls=ADMINS)


def test_each_part_gets_what_its_settings_read_and_nothing_else():
    known = {"UNRELATED_SECRET": "x", "AWS_REGION": "eu-west-1", "AWS_S3_BUCKET": "docs",
             "AGENT_SERVICE_URL": "http://a", "DISPLAY_MAX_AGE_SECONDS": "3"}
    for part in PYTHON_PARTS:
        env = _env(part, known)
        declared = set(settings_variables(settings_class(part)))
        assert set(env) - RUNTIME <= declared, part
        assert "UNRELATED_SECRET" not in env
    assert _env("agent-service", known)["AWS_S3_BUCKET"] == "docs"
    booking = _env("booking-service", known)
    assert (booking["AGENT_SERVICE_URL"], booking["DISPLAY_MAX_AGE_SECONDS"]) == ("http://a", "3")
    assert "AWS_S3_BUCKET" not in booking


def test_a_service_holds_only_its_own_database_login():
    envs = {name: _env(name, {}) for name in SERVICES}
    assert "op-secret-password" in envs["operator-service"]["SUPABASE_DB_URL"]
    assert [name for name, env in envs.items() if "SUPABASE_DB_URL" in env] == ["operator-service"]
    for name, env in envs.items():
        assert env["AWS_RDS_SECRET_ID"] == f"secret-of-{name}"
    standin = _env(AUTH_STANDIN, {})
    assert standin["AUTH_DB_URL"] == ADMINS["supabase-db"]
    assert not any(name.startswith("AWS_") for name in standin)

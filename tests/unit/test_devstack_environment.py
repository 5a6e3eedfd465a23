"""devstack gives each Python part exactly what its own Settings class reads (plus its
runtime's own variables), out of everything the stack knows: one list of a service's
variables, and no part holds another part's secret."""
from __future__ import annotations

from pathlib import Path

from devstack import environment, python_parts
from devstack.layout import Layout

LAYOUT = Layout(state=Path("/nonexistent-state"), port_offset=5000)
KEYS = {"operator_service_password": "op-secret-password"}
AWS = {f"{part.name.upper().replace('-', '_')}_RDS_SECRET_ID": f"secret-of-{part.name}"
       for part in python_parts.SERVICES}
ADMINS = {"supabase-db": "postgresql://postgres:admin@127.0.0.1/postgres", "rds": "x"}
RUNTIME = {"PATH", "LANG", "HOME", "PYTHONUNBUFFERED", "PYTHONPATH", "BIND", "ACCESS_LOG",
           "PROMETHEUS_MULTIPROC_DIR", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID",
           "AWS_SECRET_ACCESS_KEY"}


def _env(part: python_parts.PythonPart, known: dict[str, str]) -> dict[str, str]:
    own = python_parts.own_values(LAYOUT, KEYS, AWS, ADMINS).get(part.name, {})
    return python_parts.process(LAYOUT, part, {**known, **own}).env


def test_each_part_gets_what_its_settings_read_and_nothing_else():
    known = {"UNRELATED_SECRET": "x", "AWS_REGION": "eu-west-1", "AWS_S3_BUCKET": "docs",
             "AGENT_SERVICE_URL": "http://a", "DISPLAY_MAX_AGE_SECONDS": "3"}
    for part in [python_parts.AUTH_STANDIN, *python_parts.SERVICES]:
        env = _env(part, known)
        declared = set(environment.variables(environment.settings_class(part.settings)))
        assert set(env) - RUNTIME <= declared, part.name
        assert "UNRELATED_SECRET" not in env
    assert _env(python_parts.SERVICES[0], known)["AWS_S3_BUCKET"] == "docs"   # agent-service
    booking = _env(python_parts.SERVICES[2], known)
    assert (booking["AGENT_SERVICE_URL"], booking["DISPLAY_MAX_AGE_SECONDS"]) == ("http://a", "3")
    assert "AWS_S3_BUCKET" not in booking


def test_a_service_holds_only_its_own_database_login():
    envs = {part.name: _env(part, {}) for part in python_parts.SERVICES}
    assert "op-secret-password" in envs["operator-service"]["SUPABASE_DB_URL"]
    assert [name for name, env in envs.items() if "SUPABASE_DB_URL" in env] == ["operator-service"]
    for name, env in envs.items():
        assert env["AWS_RDS_SECRET_ID"] == f"secret-of-{name}"
    standin = _env(python_parts.AUTH_STANDIN, {})
    assert standin["AUTH_DB_URL"] == ADMINS["supabase-db"]
    assert not any(name.startswith("AWS_") for name in standin)

"""The stack's settings: every value a client of the stack, a tool or a service is
configured with, written to `<state>/stack.env`."""
from __future__ import annotations

import shlex
from pathlib import Path

from devstack import environment, gateway
from devstack.layout import Layout

# The Supabase Auth stand-in mints the project's keys; it is not an installed package.
from devstack.supabase.auth_standin.keys import make_api_key
from travel_platform.registry import registry


def supabase_env(layout: Layout, keys: dict[str, str],
                 admins: dict[str, str]) -> dict[str, str]:
    """The Supabase project's settings: where its Auth is, its keys, its database's
    superuser (for seeding and tests). None of them with Supabase off."""
    return {
        "SUPABASE_URL": layout.url("supabase-auth"),
        "SUPABASE_ANON_KEY": make_api_key(keys["supabase_jwt_secret"], "anon",
                                          issued_at=int(keys["api_keys_issued_at"])),
        "SUPABASE_SERVICE_ROLE_KEY": make_api_key(keys["supabase_jwt_secret"], "service_role",
                                                  issued_at=int(keys["api_keys_issued_at"])),
        "SUPABASE_JWT_SECRET": keys["supabase_jwt_secret"],
        "SUPABASE_DB_ADMIN_URL": admins["supabase-db"]}


def stack_env(layout: Layout, keys: dict[str, str], aws: dict[str, str],
              admins: dict[str, str], *, supabase: bool = True) -> dict[str, str]:
    """Everything a client of the stack, or a service, is configured with (with
    `supabase=False`, Supabase off: no Supabase setting at all)."""
    pool_id = aws["AWS_COGNITO_USER_POOL_ID"]
    operator_pool_id = aws["AWS_COGNITO_OPERATOR_POOL_ID"]
    return {
        "GATEWAY_URL": layout.url("gateway"),
        # The Travel Agent Dashboard, served by the gateway.
        "DASHBOARD_URL": f"{layout.url('gateway')}/",
        "CORS_ALLOWED_ORIGINS": ",".join(gateway.cors_origins(layout)),
        **(supabase_env(layout, keys, admins) if supabase else {}),
        **environment.aws_sdk_env(layout),
        "AWS_COGNITO_USER_POOL_ID": pool_id,
        "AWS_COGNITO_CLIENT_ID": aws["AWS_COGNITO_CLIENT_ID"],
        "AWS_COGNITO_JWKS_URL": f"{layout.url('moto')}/{pool_id}/.well-known/jwks.json",
        "AWS_COGNITO_OPERATOR_POOL_ID": operator_pool_id,
        "AWS_COGNITO_OPERATOR_CLIENT_ID": aws["AWS_COGNITO_OPERATOR_CLIENT_ID"],
        "AWS_COGNITO_OPERATOR_JWKS_URL":
            f"{layout.url('moto')}/{operator_pool_id}/.well-known/jwks.json",
        "AWS_S3_BUCKET": aws["AWS_S3_BUCKET"],
        "AWS_RDS_HOST": layout.host_of("rds"),
        "AWS_RDS_PORT": str(layout.port("rds")),
        "AWS_RDS_DATABASE": "travel_agent_db",
        "AWS_RDS_SSLMODE": "verify-full",
        "AWS_RDS_SSLROOTCERT": str(layout.tls / "ca.pem"),
        # The gateway's nginx connects to the services from loopback: only its
        # X-Forwarded-For is believed (shared/travel_platform/client_address.py).
        "CLIENT_ADDRESS_PROXIES": "127.0.0.1/32",
        # Each service's own address (AGENT_SERVICE_URL...), for the services that call it
        # and for tests and benchmarks that skip the gateway.
        **{part.url_variable: layout.url(part.name) for part in registry().services},
        # Superuser connection of RDS (Supabase's: above), for seeding and for tests.
        "RDS_ADMIN_URL": admins["rds"],
        # Where `python -m migrate backup` writes its dumps.
        "MIGRATE_BACKUP_DIR": str(layout.state / "backups"),
        # The instance `switch-writes` snapshots first (moto's record of the local server).
        "MIGRATE_RDS_INSTANCE_ID": aws.get("MIGRATE_RDS_INSTANCE_ID", ""),
        # Prometheus of this stack (devstack/monitoring.py), with the alert rules of monitoring/.
        "PROMETHEUS_URL": layout.url("prometheus"),
    }


def write(layout: Layout, env: dict[str, str]) -> None:
    """`<state>/stack.env` (see write_file)."""
    write_file(layout.state / "stack.env", env)


def write_file(path: Path, env: dict[str, str]) -> None:
    """KEY=value lines, quoted where a shell needs it, so `set -a; . .dev/stack.env` and
    env-file readers (docker, python-dotenv) read the same values; only its owner reads it."""
    lines = [f"{key}={shlex.quote(value)}" for key, value in env.items()]
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text("\n".join(lines) + "\n")


def read_file(path: Path) -> dict[str, str]:
    """The values of a stack.env file (as `write_file` wrote them)."""
    values = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, raw = line.split("=", 1)
            values[key] = " ".join(shlex.split(raw))
    return values

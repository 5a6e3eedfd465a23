"""Bring a whole local stack up, or down, in dependency order."""
from __future__ import annotations

import hashlib
import json
import os
import pwd
import shlex
import shutil
import subprocess
from pathlib import Path

import gateway_config
import psycopg
from psycopg import sql

from devstack import monitoring, postgres, processes, secrets, seed
from devstack.layout import REPO, Layout, code_path
from devstack.processes import Process

# The Supabase Auth stand-in mints the project's keys; it is not an installed package.
from devstack.supabase.auth_standin.keys import generate_signing_key, make_api_key  # noqa: E402
from travel_platform.migrations import apply_migrations

SERVICES = {"agent-service": "agent_service", "operator-service": "operator_service",
            "booking-service": "booking_service"}
# Started in this order, stopped in the reverse one.
PROCESS_ORDER = ["moto", "supabase-auth", *SERVICES, "gateway-auth", "gateway",
                 *monitoring.PARTS]
AWS_REGION = "us-east-1"
_SYSTEM_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
# Written once the demo data exists; its absence is what makes `up` seed.
SEEDED_MARKER = "demo-data-seeded"


class StackError(RuntimeError):
    """A part of the stack could not be brought up."""


def _say(message: str) -> None:
    print(f"[devstack] {message}", flush=True)


def _python_env(layout: Layout, *paths: str) -> dict[str, str]:
    # Only what we choose: a part's environment is part of its restart fingerprint, and
    # nothing from the caller's shell (AWS profiles, say) should leak into a part. Not even
    # PATH and HOME: after `. .venv/bin/activate` (another PATH) or under sudo (another
    # HOME) a `make up` must not restart every part.
    return {"PATH": os.pathsep.join([str(layout.python.parent), *_SYSTEM_PATH]),
            "LANG": "C.UTF-8", "HOME": pwd.getpwuid(os.getuid()).pw_dir,
            "PYTHONUNBUFFERED": "1", "PYTHONPATH": os.pathsep.join([code_path(), *paths])}


def _aws_env(layout: Layout) -> dict[str, str]:
    # moto accepts any credentials; real AWS takes them from the usual places.
    return {"AWS_ENDPOINT_URL": layout.url("moto"), "AWS_REGION": AWS_REGION,
            "AWS_DEFAULT_REGION": AWS_REGION, "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local"}


def _dependencies_fingerprint(layout: Layout) -> str:
    """Changes when the interpreter or the pinned packages change (`make venv` reinstalls
    from these files), so a part runs with the dependencies it was started with."""
    digest = hashlib.sha256(str(layout.python.resolve()).encode())
    for name in ("requirements.txt", "requirements-dev.txt", "constraints.txt"):
        digest.update((REPO / name).read_bytes())
    return digest.hexdigest()


def _code_fingerprint(layout: Layout, *folders: str) -> str:
    """Changes when the content of a Python file the part runs changes (not its mtime: a
    `git checkout` back and forth restarts nothing), or its dependencies do."""
    digest = hashlib.sha256(_dependencies_fingerprint(layout).encode())
    for folder in folders:
        root = REPO / folder
        for path in ([root] if root.is_file() else sorted(root.rglob("*.py"))):
            digest.update(f"{path.relative_to(REPO)}:".encode() + path.read_bytes())
    return digest.hexdigest()


def _databases_fingerprint(layout: Layout) -> str:
    # A service's pooled connections die with a PostgreSQL server that crashed, and the
    # pool hands each dead one out once (a 500) before replacing it; so a server that
    # (re)started since a service did restarts the service too, and every request after
    # `make up` finds live connections.
    return ",".join(postgres.started_at(layout, part) for part in ("supabase-db", "rds"))


def _gunicorn(layout: Layout, name: str, app: str, env: dict[str, str], *, code: str,
              ready_path: str = "/ready") -> Process:
    """A gunicorn part serving `app` from the installed distributions (`code` is the folder
    whose changes restart it)."""
    env = {**_python_env(layout), **env,
           "BIND": f"{layout.host}:{layout.port(name)}",
           "ACCESS_LOG": str(layout.logs / f"{name}.access.log"),
           # Each worker's metrics, added up by whichever worker serves /metrics.
           "PROMETHEUS_MULTIPROC_DIR": str(layout.run / "metrics" / name)}
    return Process(name=name,
                   argv=[layout.bin("gunicorn"), "-c", "python:travel_platform.gunicorn_config",
                         app],
                   env=env, ready_url=f"{layout.url(name)}{ready_path}", url=layout.url(name),
                   config_fingerprint=(_code_fingerprint(layout, "travel_platform", code) + ":"
                                       + _databases_fingerprint(layout)))


def _render_nginx(layout: Layout) -> tuple[str, str]:
    import openapi_ui_bundles.swagger_ui as swagger_ui

    values = {"STATE_DIR": str(layout.state), "LOG_DIR": str(layout.logs),
              "SWAGGER_UI_DIR": str(swagger_ui.static_path), "GATEWAY_HOST": layout.host,
              "GATEWAY_PORT": str(layout.port("gateway")),
              **{f"{n.upper().replace('-', '_')}_PORT": str(layout.port(n))
                 for n in ("gateway-auth", "gateway-status")}}
    config = gateway_config.render_nginx(values, port=layout.port, host=layout.host,
                                         gateway_dir=REPO / "gateway")
    for sub in ("tmp", "auth-cache"):
        (layout.state / "gateway" / sub).mkdir(parents=True, exist_ok=True)
    path = layout.state / "gateway" / "nginx.conf"
    path.write_text(config)
    includes = "".join(p.read_text() for p in sorted((REPO / "gateway").glob("*.conf"))
                       + sorted((REPO / "gateway").glob("*.js")))
    return str(path), hashlib.sha256((config + includes).encode()).hexdigest()


def _nginx_binary() -> str:
    # Debian puts nginx in /usr/sbin, which a non-root PATH may lack.
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if not found:
        raise StackError("nginx is not installed: run `apt-get install nginx` (Debian/Ubuntu) "
                         "or install nginx >= 1.18 with the auth_request module")
    return found


def _prepare_databases(layout: Layout, keys: dict[str, str]) -> dict[str, str]:
    """Both PostgreSQL servers up, Supabase-like and migrated; returns admin conninfos."""
    admins = {}
    for part, password_key, dbname in (("supabase-db", "supabase_db_password", "postgres"),
                                       ("rds", "rds_admin_password", "travel_agent_db")):
        postgres.ensure_cluster(layout, part, password=keys[password_key])
        if not postgres.is_running(layout, part):
            _say(f"{part}: starting PostgreSQL on port {layout.port(part)}")
            postgres.start(layout, part)
        postgres.ensure_database(
            postgres.admin_conninfo(layout, part, password=keys[password_key], dbname="postgres"),
            dbname)
        admins[part] = postgres.admin_conninfo(layout, part, password=keys[password_key],
                                               dbname=dbname)
    postgres.run_sql_file(admins["supabase-db"], REPO / "devstack" / "supabase" / "bootstrap.sql")
    for part, folder in (("supabase-db", REPO / "supabase" / "migrations"),
                         ("rds", REPO / "aws" / "migrations")):
        applied = apply_migrations(conninfo=admins[part], directory=folder)
        _say(f"{part}: migrations applied now: {', '.join(applied) or 'none (up to date)'}")
    with psycopg.connect(admins["supabase-db"], autocommit=True) as conn:
        conn.execute(sql.SQL("alter role operator_service with login password {}").format(
            sql.Literal(keys["operator_service_password"])))
    return admins


def _provision_aws(layout: Layout, admins: dict[str, str]) -> dict[str, str]:
    """Run the provisioning script against moto, as one would against AWS."""
    result = subprocess.run(
        [str(layout.python), str(REPO / "aws" / "scripts" / "provision.py"),
         "--rds-admin-url", admins["rds"], "--rds-host", layout.host,
         "--rds-port", str(layout.port("rds"))],
        env={**_python_env(layout), **_aws_env(layout)}, capture_output=True, text=True)
    if result.returncode != 0:
        raise StackError(f"AWS provisioning failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout)


def stack_env(layout: Layout, keys: dict[str, str], aws: dict[str, str]) -> dict[str, str]:
    """Everything a client of the stack, or a service, is configured with."""
    pool_id = aws["AWS_COGNITO_USER_POOL_ID"]
    operator_pool_id = aws["AWS_COGNITO_OPERATOR_POOL_ID"]
    return {
        "GATEWAY_URL": layout.url("gateway"),
        "SUPABASE_URL": layout.url("supabase-auth"),
        "SUPABASE_ANON_KEY": make_api_key(keys["supabase_jwt_secret"], "anon",
                                          issued_at=int(keys["api_keys_issued_at"])),
        "SUPABASE_SERVICE_ROLE_KEY": make_api_key(keys["supabase_jwt_secret"], "service_role",
                                                  issued_at=int(keys["api_keys_issued_at"])),
        "SUPABASE_JWT_SECRET": keys["supabase_jwt_secret"],
        **_aws_env(layout),
        "AWS_COGNITO_USER_POOL_ID": pool_id,
        "AWS_COGNITO_CLIENT_ID": aws["AWS_COGNITO_CLIENT_ID"],
        "AWS_COGNITO_JWKS_URL": f"{layout.url('moto')}/{pool_id}/.well-known/jwks.json",
        "AWS_COGNITO_OPERATOR_POOL_ID": operator_pool_id,
        "AWS_COGNITO_OPERATOR_CLIENT_ID": aws["AWS_COGNITO_OPERATOR_CLIENT_ID"],
        "AWS_COGNITO_OPERATOR_JWKS_URL":
            f"{layout.url('moto')}/{operator_pool_id}/.well-known/jwks.json",
        "AWS_S3_BUCKET": aws["AWS_S3_BUCKET"],
        "AWS_RDS_HOST": layout.host,
        "AWS_RDS_PORT": str(layout.port("rds")),
        "AWS_RDS_DATABASE": "travel_agent_db",
        "AWS_RDS_SSLMODE": "verify-full",
        "AWS_RDS_SSLROOTCERT": str(layout.tls / "ca.pem"),
        "AGENT_SERVICE_URL": layout.url("agent-service"),
        "OPERATOR_SERVICE_URL": layout.url("operator-service"),
        "BOOKING_SERVICE_URL": layout.url("booking-service"),
    }


def _service_processes(layout: Layout, env: dict[str, str], aws: dict[str, str],
                       keys: dict[str, str]) -> list[Process]:
    common = {k: env[k] for k in (
        "SUPABASE_URL", "SUPABASE_JWT_SECRET", "AWS_ENDPOINT_URL", "AWS_REGION",
        "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
        "AWS_COGNITO_USER_POOL_ID", "AWS_COGNITO_CLIENT_ID", "AWS_COGNITO_JWKS_URL",
        "AWS_COGNITO_OPERATOR_POOL_ID", "AWS_COGNITO_OPERATOR_CLIENT_ID",
        "AWS_COGNITO_OPERATOR_JWKS_URL")}
    rds = {k: env[k] for k in ("AWS_RDS_HOST", "AWS_RDS_PORT", "AWS_RDS_DATABASE",
                               "AWS_RDS_SSLMODE", "AWS_RDS_SSLROOTCERT")}
    supabase_db = (f"postgresql://operator_service:{keys['operator_service_password']}@"
                   f"{layout.host}:{layout.port('supabase-db')}/postgres?sslmode=verify-full"
                   f"&sslrootcert={layout.tls / 'ca.pem'}")
    service_env = {
        "agent-service": {**common, **rds, "AWS_S3_BUCKET": env["AWS_S3_BUCKET"],
                          "AWS_RDS_SECRET_ID": aws["AGENT_SERVICE_RDS_SECRET_ID"]},
        "operator-service": {**common, **rds, "SUPABASE_DB_URL": supabase_db,
                             "SUPABASE_ANON_KEY": env["SUPABASE_ANON_KEY"],
                             "SUPABASE_SERVICE_ROLE_KEY": env["SUPABASE_SERVICE_ROLE_KEY"],
                             "AWS_RDS_SECRET_ID": aws["OPERATOR_SERVICE_RDS_SECRET_ID"]},
        "booking-service": {**common, **rds,
                            "AWS_RDS_SECRET_ID": aws["BOOKING_SERVICE_RDS_SECRET_ID"],
                            "AGENT_SERVICE_URL": env["AGENT_SERVICE_URL"],
                            "OPERATOR_SERVICE_URL": env["OPERATOR_SERVICE_URL"]},
    }
    procs = [_gunicorn(layout, name, f"{module}:create_app()", service_env[name],
                       code=f"services/{name}") for name, module in SERVICES.items()]
    procs.append(_gunicorn(layout, "gateway-auth", "gateway_auth:create_app()",
                           {**common, **rds,
                            "AWS_RDS_SECRET_ID": aws["GATEWAY_AUTH_RDS_SECRET_ID"]},
                           code="gateway"))
    return procs


def up(layout: Layout) -> dict[str, str]:
    """Start (or keep) every part; return the stack's environment."""
    layout.state.mkdir(parents=True, exist_ok=True)
    for folder in (layout.logs, layout.run):
        folder.mkdir(parents=True, exist_ok=True)
    gone = processes.crashed(layout, PROCESS_ORDER)
    for name in gone:
        _say(f"{name} had crashed; its log is {layout.logs / (name + '.log')}")
    keys = secrets.load_or_create(layout)
    secrets.ensure_tls(layout)
    admins = _prepare_databases(layout, keys)

    report = {}
    # moto's state is replayed from its journal on every start (devstack/aws_emulator.py),
    # so ids, users and their subs, objects and secrets survive a restart or a crash.
    report["moto"] = processes.ensure(layout, Process(
        name="moto", argv=[str(layout.python), "-m", "devstack.aws_emulator", "--host",
                           layout.host, "--port", str(layout.port("moto")),
                           "--journal", str(aws_journal(layout))],
        env=_python_env(layout), ready_url=f"{layout.url('moto')}/moto-api/data.json",
        url=layout.url("moto"),
        config_fingerprint=_code_fingerprint(layout, "devstack/aws_emulator.py")),
        timeout=300)
    aws = _provision_aws(layout, admins)
    env = stack_env(layout, keys, aws)
    # Superuser connections of the local databases, for seeding and for tests.
    env["SUPABASE_DB_ADMIN_URL"] = admins["supabase-db"]
    env["RDS_ADMIN_URL"] = admins["rds"]
    # Where `python -m migrate backup` writes its dumps.
    env["MIGRATE_BACKUP_DIR"] = str(layout.state / "backups")
    # Prometheus of this stack (devstack/monitoring.py), with the alert rules of monitoring/.
    env["PROMETHEUS_URL"] = layout.url("prometheus")

    signing_key = layout.state / "supabase" / "signing-key.pem"
    generate_signing_key(signing_key)
    report["supabase-auth"] = processes.ensure(layout, _gunicorn(
        layout, "supabase-auth", "devstack.supabase.auth_standin:create_app()",
        {"SUPABASE_URL": env["SUPABASE_URL"], "SUPABASE_JWT_SECRET": keys["supabase_jwt_secret"],
         "AUTH_DB_URL": admins["supabase-db"], "AUTH_SIGNING_KEY_FILE": str(signing_key),
         # Addresses a stack's own callers use, exempt from its rate limits (a test run's).
         "AUTH_RATE_LIMIT_EXEMPT": os.environ.get("AUTH_RATE_LIMIT_EXEMPT", "")},
        code="devstack/supabase", ready_path="/auth/v1/health"))

    # Seeded once, with the data: a later `up` must not undo what a user did since (an
    # agent suspended, an operator renamed). Deleting the state folder starts afresh.
    marker = layout.state / SEEDED_MARKER
    if not marker.exists():
        seed.seed_demo_data(env, keys)
        marker.write_text("The demo data was created; `make up` will not seed again.\n")
        _say("demo data: seeded")
    env.update(seed.demo_credentials(keys))

    for proc in _service_processes(layout, env, aws, keys):
        report[proc.name] = processes.ensure(layout, proc)
    nginx_conf, nginx_fingerprint = _render_nginx(layout)
    nginx = _nginx_binary()
    report["gateway"] = processes.ensure(layout, Process(
        name="gateway", argv=[nginx, "-c", nginx_conf, "-p", str(layout.state / "gateway")],
        env=_python_env(layout), ready_url=f"{layout.url('gateway')}/health",
        url=layout.url("gateway"),
        # an upgraded nginx package is a new dependency
        config_fingerprint=f"{nginx_fingerprint}:{os.stat(nginx).st_mtime_ns}"))
    for proc in monitoring.processes(layout, admins):
        report[proc.name] = processes.ensure(layout, proc)

    for name, what in report.items():
        _say(f"{name}: {what} ({layout.url(name)})")
    write_env_file(layout, env)
    return env


def aws_journal(layout: Layout) -> Path:
    """The file moto's state is kept in (its requests that changed state)."""
    return layout.state / "aws" / "journal.jsonl"


def write_env_file(layout: Layout, env: dict[str, str]) -> None:
    """KEY=value lines, quoted where a shell needs it, so `set -a; . .dev/stack.env` and
    env-file readers (docker, python-dotenv) read the same values."""
    lines = [f"{key}={shlex.quote(value)}" for key, value in env.items()]
    path = layout.state / "stack.env"
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)


def down(layout: Layout) -> None:
    """Stop every part, newest first; leaves the data for the next `up`."""
    for name in reversed(PROCESS_ORDER):
        if processes.stop(layout, name):
            _say(f"{name}: stopped")
    for part in ("rds", "supabase-db"):
        if postgres.stop(layout, part):
            _say(f"{part}: stopped")


def status(layout: Layout) -> int:
    """Per part: its state from its health check, URL and log; then where the settings
    are. Non-zero if a part has crashed or is unhealthy."""
    bad = 0
    print(f"{'part':18} {'state':34} {'url':28} log")
    for name in PROCESS_ORDER:
        record = processes.read_record(layout, name)
        url, log = layout.url(name), layout.logs / f"{name}.log"
        if record is None:
            state = "stopped"
        elif processes.running_pid(layout, name) is None:
            state, bad = "CRASHED (`make up` restarts it)", bad + 1
        else:
            state = processes.health(record.get("ready_url") or url)
            bad += state != "healthy"
        print(f"{name:18} {state:34} {url:28} {log}")
    for part in ("supabase-db", "rds"):
        url = f"postgresql://{layout.host}:{layout.port(part)}"
        if not postgres.is_running(layout, part):
            state = "stopped"
        else:
            state = "healthy" if postgres.accepts_connections(layout, part) else (
                "UNHEALTHY (not accepting connections)")
            bad += state != "healthy"
        print(f"{part:18} {state:34} {url:28} {layout.logs / (part + '.log')}")
    monitoring.print_targets(layout)
    env_file = layout.state / "stack.env"
    print(f"\nsettings: {env_file}" + ("" if env_file.exists() else " (not written yet: `make up`)")
          + f"\nlogs:     {layout.logs}")
    return 1 if bad else 0

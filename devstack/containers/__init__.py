"""The local stack as containers (docker-compose.yml): the one-shot jobs that make, migrate,
provision and seed it, with the same code `make up` runs, for parts that find each other by
name on the container network instead of on 127.0.0.1.

    python -m devstack.containers init    # as root: secrets, TLS, folders (stack-init)
    python -m devstack.containers setup   # migrations, AWS, each part's settings (stack-setup)
    python -m devstack.containers seed    # demo data, then .compose/stack.env (stack-seed)

Three places: the `secrets` volume (passwords, TLS key, the Auth stand-in's signing key:
the databases and the stand-in mount it), the `settings` volume (each part's settings file
and the CA certificate: every part mounts it read-only) and `./.compose` on the host (what
a user of the stack reads: stack.env, the CA, the logs, the stand-in's e-mails)."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from devstack import (
    aws,
    databases,
    gateway,
    monitoring,
    postgres,
    python_parts,
    secrets,
    seed,
    stackenv,
)
from devstack.layout import Layout
from devstack.supabase.auth_standin.keys import generate_signing_key
from travel_platform.settings import load_settings

SECRETS = Path("/stack/secrets")
SETTINGS = Path("/stack/settings")
OUT = Path("/out")
APP_UID = 10001   # the user every image runs as (Dockerfile)
SIGNING_KEY = SECRETS / "signing-key.pem"
PROVISIONED = SECRETS / "provisioned.json"


class JobSettings(BaseSettings):
    """Where ./.compose is on the host: stack.env names the CA certificate by that path."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    host_state_dir: Path


def _say(message: str) -> None:
    print(f"[stack] {message}", flush=True)


def _inside() -> Layout:
    """The stack as its parts see it: each part a host of its own name."""
    return Layout(state=SETTINGS, named_hosts=True)


def _outside() -> Layout:
    """The stack as the host sees it: the published ports on 127.0.0.1."""
    return Layout(state=load_settings(JobSettings).host_state_dir)


def _keys() -> dict[str, str]:
    return json.loads((SECRETS / "secrets.json").read_text())


def _own(path: Path, uid: int = APP_UID, gid: int = APP_UID) -> None:
    os.chown(path, uid, gid)


def init() -> None:
    """As root, once per volume: the stack's passwords, its CA and server certificate (for
    `rds` and `supabase-db` too), the stand-in's key, and folders the parts may write."""
    layout = Layout(state=SECRETS)
    keys = secrets.load_or_create(layout)
    secrets.ensure_tls(layout, hosts=postgres.SERVERS)
    for part, name in (("supabase-db", "supabase_db_password"), ("rds", "rds_admin_password")):
        (SECRETS / f"{part}.password").write_text(keys[name])
    generate_signing_key(SIGNING_KEY)
    for folder in (SETTINGS / "tls", OUT / "tls", OUT / "logs", OUT / "supabase"):
        folder.mkdir(parents=True, exist_ok=True)
    for target in (SETTINGS / "tls", OUT / "tls"):
        shutil.copy(layout.tls / "ca.pem", target / "ca.pem")
    for path in (SECRETS, *SECRETS.rglob("*"), SETTINGS, *SETTINGS.rglob("*"),
                 OUT / "logs", OUT / "supabase"):
        _own(path)
        if path.is_file() and path.name != "ca.pem":
            path.chmod(0o600)
    # Beside the stack's other files, as `make up` keeps it: tests forge tokens with it.
    shutil.copy(SIGNING_KEY, OUT / "supabase" / "signing-key.pem")
    host = OUT.stat()
    for path in (OUT / "tls", OUT / "tls" / "ca.pem", OUT / "supabase" / "signing-key.pem"):
        _own(path, host.st_uid, host.st_gid)
    _say("secrets and TLS: ready")


def _env(layout: Layout, keys: dict[str, str], provisioned: dict[str, str]) -> dict[str, str]:
    """stack.env's values as seen from `layout`."""
    admins = {part: databases.admin_url(layout, part, keys, dbname)
              for part, dbname in (("supabase-db", "postgres"), ("rds", "travel_agent_db"))}
    return stackenv.stack_env(layout, keys, provisioned, admins)


def setup() -> None:
    """Migrate both databases, provision AWS (moto), and write each part's settings file."""
    inside, outside = _inside(), _outside()
    keys = _keys()
    admins = databases.migrate(inside, keys)
    origins = gateway.cors_origins(outside)
    provisioned = aws.provision(inside, admins, origins=origins)
    PROVISIONED.write_text(json.dumps(provisioned))
    PROVISIONED.chmod(0o600)
    env = _env(inside, keys, provisioned)
    public = _env(outside, keys, provisioned)
    # What browsers and the host's clients use, and tokens name: the published addresses.
    env.update(CORS_ALLOWED_ORIGINS=public["CORS_ALLOWED_ORIGINS"],
               SUPABASE_JWT_ISSUER=f"{public['SUPABASE_URL']}/auth/v1",
               AWS_S3_PUBLIC_ENDPOINT_URL=public["AWS_ENDPOINT_URL"],
               # The gateway's container reaches the services over the compose network,
               # whose address docker picks among the private ranges.
               CLIENT_ADDRESS_PROXIES="10.0.0.0/8,172.16.0.0/12,192.168.0.0/16")
    values = python_parts.own_values(inside, keys, provisioned, admins)
    values[python_parts.AUTH_STANDIN.name].update(
        # The stand-in's own address is its public one: it is the `iss` of its tokens.
        SUPABASE_URL=public["SUPABASE_URL"], AUTH_SIGNING_KEY_FILE=str(SIGNING_KEY),
        AUTH_MAIL_FILE=str(OUT / "supabase" / "mail.jsonl"))
    values[python_parts.AUTH_STANDIN.name].pop("AUTH_RATE_LIMIT_EXEMPT", None)
    for part in (python_parts.AUTH_STANDIN, *python_parts.SERVICES):
        stackenv.write_file(SETTINGS / f"{part.name}.env", python_parts.settings_env(
            inside, part, {**env, **values.get(part.name, {})}))
    stackenv.write_file(SETTINGS / "gateway.env", {
        "SUPABASE_URL": public["SUPABASE_URL"], "SUPABASE_ANON_KEY": env["SUPABASE_ANON_KEY"],
        "CORS_ALLOWED_ORIGINS": env["CORS_ALLOWED_ORIGINS"],
        # Where the dashboard's uploads go, for its Content-Security-Policy.
        "AWS_S3_BUCKET": env["AWS_S3_BUCKET"], "AWS_REGION": env["AWS_REGION"],
        "AWS_S3_PUBLIC_ENDPOINT_URL": env["AWS_S3_PUBLIC_ENDPOINT_URL"]})
    # Monitoring: Prometheus's scrape targets by name, each exporter's database and queries.
    monitoring.write_prometheus_config(inside)
    for exporter, server in monitoring.DATABASES.items():
        monitoring.queries_file(inside, server)
        stackenv.write_file(SETTINGS / f"{exporter}.env", {"DATA_SOURCE_NAME": admins[server]})
    _say("databases migrated, AWS provisioned, settings written")


def seed_demo() -> None:
    """The demo data (once per volume), then the host's stack.env: the stack is ready."""
    keys = _keys()
    provisioned = json.loads(PROVISIONED.read_text())
    if seed.seed_once(SECRETS, _env(_inside(), keys, provisioned), keys):
        _say("demo data: seeded")
    env = {**_env(_outside(), keys, provisioned), **seed.demo_credentials(keys)}
    path = OUT / "stack.env"
    stackenv.write_file(path, env)
    host = OUT.stat()
    _own(path, host.st_uid, host.st_gid)
    _say(f"settings for the host: {_outside().state / 'stack.env'}")

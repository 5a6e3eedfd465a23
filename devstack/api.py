"""The public API of devstack, for tests, benchmarks and tools: start, stop and inspect a
local stack or one part of it. Everything else in devstack may change without notice, so
tests/, bench/ and mutation/ import devstack only through this module (a unit test,
test_devstack_api_only.py, fails naming any that does not): what they need belongs here.

A stack is named by its `Layout` (state folder and port offset). Its parts are the
supervised processes (`PROCESSES`, in start order) and the two PostgreSQL servers
(`DATABASES`); every function taking a `part` accepts both kinds.

    from devstack.api import Layout, up, down, stop_part, main_pid
    layout = Layout(state=Path("/tmp/my-stack"), port_offset=20000)
    env = up(layout)            # what stack.env holds
    stop_part(layout, "agent-service")
    up(layout)                  # starts what is missing, changes nothing else
    down(layout)
"""
from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pydantic_settings import BaseSettings

from devstack import (
    databases,
    environment,
    gateway,
    monitoring,
    postgres,
    processes,
    python_parts,
    secrets,
    stack,
)
from devstack.layout import BASE_PORTS as _BASE_PORTS
from devstack.layout import PG_BIN, Layout, StackError
from devstack.layout import code_path as _code_path
from devstack.stackenv import read_file as read_stack_env
from devstack.supabase.auth_standin.keys import SigningKey, load_signing_key
from devstack.supabase.auth_standin.settings import RATE_LIMIT_WINDOW as _STANDIN_WINDOW

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

__all__ = ["AUTH_STANDIN", "AUTH_STANDIN_RATE_LIMIT_WINDOW", "BASE_PORTS", "DATABASES",
           "Layout", "PARTS", "PG_BIN", "PROCESSES",
           "PYTHON_PARTS", "SERVICES", "SigningKey", "StackError", "auth_mail_file",
           "auth_signing_key", "auth_signing_key_file", "code_path", "compose_build",
           "compose_replicas", "cors_origins", "down", "fresh_stack", "main_pid", "part_pids",
           "part_environment", "process_group", "prometheus_config", "read_stack_env",
           "running_parts", "settings_class", "settings_variables", "start_database", "status",
           "stop_part", "up"]

# Supervised processes, in the order `up` starts them (`down` stops them in reverse).
PROCESSES: tuple[str, ...] = tuple(stack.PROCESS_ORDER)
# The PostgreSQL servers: the Supabase project's database and RDS.
DATABASES: tuple[str, ...] = postgres.SERVERS
PARTS: tuple[str, ...] = (*PROCESSES, *DATABASES)
# The Python parts, each run by gunicorn with exactly the environment its Settings class
# reads: the platform's services (every part of the registry of services, as deployed)
# and, local only, the Supabase Auth stand-in.
SERVICES: tuple[str, ...] = tuple(part.name for part in python_parts.SERVICES)
AUTH_STANDIN: str = python_parts.AUTH_STANDIN.name
PYTHON_PARTS: tuple[str, ...] = (AUTH_STANDIN, *SERVICES)
# The stand-in counts each address's attempts in fixed windows of this many seconds, as
# GoTrue's limits are per 5 minutes.
AUTH_STANDIN_RATE_LIMIT_WINDOW: int = _STANDIN_WINDOW
# The port of every part of a stack at offset 0 (`make up`), and of what it makes room for
# (the monitoring's, the usual frontend dev servers'); `Layout.port` adds a stack's offset.
BASE_PORTS: Mapping[str, int] = MappingProxyType(_BASE_PORTS)
# PG_BIN: the folder of the PostgreSQL binaries the stack's servers run; its pg_dump and
# psql are the clients of the same version (bench/migration_move.py times them).


def up(layout: Layout, *, supabase: bool = True) -> dict[str, str]:
    """Start every part that is not running, restart those whose code, configuration or
    dependencies changed, or that crashed; return the stack's settings (stack.env). With
    `supabase=False`, "Supabase off": the Supabase project's parts stopped, and no part given
    a Supabase setting (for a stack whose move to RDS is finalized)."""
    return stack.up(layout, supabase=supabase)


@contextmanager
def fresh_stack(layout: Layout) -> Iterator[dict[str, str]]:
    """A stack started from nothing (its state folder emptied first), yielding its settings;
    stopped at the end, also when the body fails. For tests that need a stack of their own."""
    stack.down(layout)
    shutil.rmtree(layout.state, ignore_errors=True)
    try:
        yield stack.up(layout)
    finally:
        stack.down(layout)


def down(layout: Layout) -> None:
    """Stop every part, its whole process tree included; the data stays for the next `up`."""
    stack.down(layout)


def status(layout: Layout) -> int:
    """Print each part's state (from its health check), URL and log; 1 if a part has
    crashed or is unhealthy, else 0."""
    return stack.status(layout)


def main_pid(layout: Layout, part: str) -> int | None:
    """The pid of a running part's main process (for a supervised process also the id of
    its process group; for a database its postmaster), or None if it is not running."""
    if part in DATABASES:
        return postgres.postmaster_pid(layout, part) if postgres.is_running(layout, part) else None
    return processes.running_pid(layout, _process(part))


def stop_part(layout: Layout, part: str) -> bool:
    """Stop one part cleanly (a process with its whole group, a database with a fast
    shutdown), as if it had gone away; the next `up` starts it again. True if it ran."""
    if part in DATABASES:
        return postgres.stop(layout, part)
    return processes.stop(layout, _process(part))


def running_parts(layout: Layout) -> list[str]:
    """Parts that run or that devstack still tracks (a crashed process not yet cleaned
    up by `up` or `down`); empty after a complete `down`."""
    tracked = [name for name in PROCESSES if processes.read_record(layout, name)]
    return tracked + [part for part in DATABASES if postgres.is_running(layout, part)]


def process_group(pid: int) -> list[int]:
    """Live processes of the process group a part's main process led (its workers, say):
    after `up` replaced a crashed part, nothing of the old group may be left."""
    return processes.group_members(pid)


def part_pids(layout: Layout, part: str) -> list[int]:
    """Every live process of a running part, for what a benchmark measures per part (memory,
    CPU): a supervised process's whole group (nginx's or gunicorn's master and workers); a
    database's postmaster and its children (PostgreSQL's backends leave the postmaster's
    process group, so only their parent says whose they are). Empty if it is not running."""
    pid = main_pid(layout, part)
    if pid is None:
        return []
    if part not in DATABASES:
        return process_group(pid)
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue   # a process that just exited
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return [pid, *children]


def start_database(layout: Layout, part: str = "rds") -> Callable[[str], str]:
    """Start one PostgreSQL server of a stack on its own (made on first use, with the
    stack's TLS certificate and superuser password kept in its state folder), for tests of
    one database; returns `url(dbname)`, the superuser's URI for a database of it.
    `stop_part(layout, part)` stops it."""
    if part not in DATABASES:
        raise ValueError(f"{part!r} is not a database; the databases are: {', '.join(DATABASES)}")
    for folder in (layout.logs, layout.run):
        folder.mkdir(parents=True, exist_ok=True)
    keys = secrets.load_or_create(layout)
    secrets.ensure_tls(layout)
    databases.start(layout, part, keys)
    return lambda dbname: databases.admin_url(layout, part, keys, dbname)


def start_databases(layout: Layout) -> dict[str, str]:
    """Start both PostgreSQL servers of a stack, and nothing else, prepared and migrated as
    `up` leaves them (the Supabase project's roles, both sides' migrations), for tests of
    the migration tool that need two real servers and logical replication between them but
    no service; returns the superuser URIs as SUPABASE_DB_ADMIN_URL and RDS_ADMIN_URL.
    `stop_part(layout, part)` stops each."""
    for folder in (layout.logs, layout.run):
        folder.mkdir(parents=True, exist_ok=True)
    keys = secrets.load_or_create(layout)
    secrets.ensure_tls(layout)
    admins = databases.prepare(layout, keys)
    return {"SUPABASE_DB_ADMIN_URL": admins["supabase-db"], "RDS_ADMIN_URL": admins["rds"]}


def auth_mail_file(layout: Layout) -> Path:
    """The e-mails the stack's Supabase Auth stand-in would have sent, one JSON line each
    (for tests that read the codes a user receives)."""
    return python_parts.auth_mail_file(layout)


def auth_signing_key_file(layout: Layout) -> Path:
    """The private key the stack's Supabase Auth stand-in signs user tokens with (for
    tests that forge tokens exactly as it issues them)."""
    return python_parts.signing_key_file(layout)


def auth_signing_key(layout: Layout) -> SigningKey:
    """The key the stack's Supabase Auth stand-in signs user tokens with, and its `kid`
    (for tests that forge tokens exactly as it issues them)."""
    return load_signing_key(auth_signing_key_file(layout))


def cors_origins(layout: Layout) -> tuple[str, ...]:
    """The origins the stack's gateway answers CORS requests for: CORS_ALLOWED_ORIGINS when
    set, else the dashboard's own and the usual frontend dev servers' at its offset."""
    return gateway.cors_origins(layout)


def prometheus_config(layout: Layout) -> dict[str, Any]:
    """The configuration the stack's Prometheus runs with (what it scrapes, its alert
    rules), as devstack writes it to prometheus.yml."""
    return monitoring.prometheus_config(layout)


def settings_class(part: str) -> type[BaseSettings]:
    """The Settings class of a Python part (`PYTHON_PARTS`): its fields are the environment
    devstack gives it, the one list of its variables."""
    return environment.settings_class(_python_part(part).settings)


def settings_variables(settings: type[BaseSettings]) -> list[str]:
    """The environment variables a Settings class reads (its fields, upper-cased, after its
    env_prefix): what devstack passes, and what a deployment must set."""
    return environment.variables(settings)


def part_environment(layout: Layout, part: str, known: Mapping[str, str], *,
                     stack_secrets: Mapping[str, str], aws: Mapping[str, str],
                     admin_urls: Mapping[str, str]) -> dict[str, str]:
    """The environment devstack starts a Python part with, without starting anything: of
    `known` (everything the stack knows, by variable), what the part's Settings reads, plus
    its own values, made from `stack_secrets` (the passwords the stack generated, by name),
    `aws` (the ids provisioning created, by stack.env variable) and `admin_urls` (each
    database's superuser URL), plus what its runtime reads (PATH, gunicorn's BIND, ...)."""
    own = python_parts.own_values(layout, dict(stack_secrets), dict(aws), dict(admin_urls))
    values = {**known, **own.get(part, {})}
    return python_parts.process(layout, _python_part(part), values).env


# The containers' stack (docker-compose.yml): `make deploy` itself is the command
# `python -m devstack.containers.deploy SERVICE [--scale N]`. docker's SDK is imported only
# here, where containers are driven.

def compose_build(service: str) -> None:
    """Build one service's image from this checkout, as `make images` builds them all."""
    from devstack.containers import deploy

    deploy.build(service)


def compose_replicas(client: DockerClient, service: str) -> list[Container]:
    """The running containers of a service of the containers' stack, oldest first: those
    `make deploy` replaces or scales."""
    from devstack.containers import deploy

    return deploy.replicas(client, service)


def code_path(checkout: Path) -> str:
    """The PYTHONPATH that runs the code of `checkout` (a scratch copy of the repository,
    say) ahead of the checkout the virtualenv's in-place installs point to."""
    return _code_path(checkout)


def _python_part(name: str) -> python_parts.PythonPart:
    for part in (python_parts.AUTH_STANDIN, *python_parts.SERVICES):
        if part.name == name:
            return part
    raise ValueError(f"{name!r} is not a Python part; they are: {', '.join(PYTHON_PARTS)}")


def _process(part: str) -> str:
    if part not in PROCESSES:
        raise ValueError(f"unknown part {part!r}; the parts are: {', '.join(PARTS)}")
    return part


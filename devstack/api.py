"""The public API of devstack, for tests, benchmarks and tools: start, stop and inspect a
local stack or one part of it. Everything else in devstack may change without notice.

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from devstack import databases, postgres, processes, python_parts, secrets, stack
from devstack.layout import PG_BIN, Layout, StackError
from devstack.stackenv import read_file as read_stack_env

__all__ = ["DATABASES", "PARTS", "PG_BIN", "PROCESSES", "Layout", "StackError", "auth_mail_file",
           "auth_signing_key_file", "down", "fresh_stack", "main_pid", "part_pids",
           "process_group", "read_stack_env", "running_parts", "start_database", "status",
           "stop_part", "up"]

# Supervised processes, in the order `up` starts them (`down` stops them in reverse).
PROCESSES: tuple[str, ...] = tuple(stack.PROCESS_ORDER)
# The PostgreSQL servers: the Supabase project's database and RDS.
DATABASES: tuple[str, ...] = postgres.SERVERS
PARTS: tuple[str, ...] = (*PROCESSES, *DATABASES)
# PG_BIN: the folder of the PostgreSQL binaries the stack's servers run; its pg_dump and
# psql are the clients of the same version (bench/migration_move.py times them).


def up(layout: Layout) -> dict[str, str]:
    """Start every part that is not running, restart those whose code, configuration or
    dependencies changed, or that crashed; return the stack's settings (stack.env)."""
    return stack.up(layout)


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


def auth_mail_file(layout: Layout) -> Path:
    """The e-mails the stack's Supabase Auth stand-in would have sent, one JSON line each
    (for tests that read the codes a user receives)."""
    return python_parts.auth_mail_file(layout)


def auth_signing_key_file(layout: Layout) -> Path:
    """The private key the stack's Supabase Auth stand-in signs user tokens with (for
    tests that forge tokens exactly as it issues them)."""
    return python_parts.signing_key_file(layout)


def _process(part: str) -> str:
    if part not in PROCESSES:
        raise ValueError(f"unknown part {part!r}; the parts are: {', '.join(PARTS)}")
    return part


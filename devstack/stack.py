"""Bring a whole local stack up, or down, in dependency order.

`up` is the table of contents; each step lives in its own module:

- `secrets`, `databases`: the stack's passwords and TLS, both PostgreSQL servers migrated;
- `aws`: moto (state replayed from its journal) and the provisioning script run against it;
- `stackenv`: every setting of the stack, written to `<state>/stack.env`;
- `python_parts`: the Auth stand-in, the three services and gateway-auth under gunicorn,
  each given what its own Settings class reads;
- `gateway`, `monitoring`: nginx, the exporters and Prometheus;
- `processes`: starts each part as its own process group and restarts it only when it
  crashed or what it runs with changed (see that module for why not supervisord/honcho).
"""
from __future__ import annotations

from devstack import (
    aws,
    databases,
    gateway,
    monitoring,
    processes,
    python_parts,
    secrets,
    seed,
    stackenv,
)
from devstack.layout import Layout, StackError
from devstack.report import status as _status
from devstack.supabase.auth_standin.keys import generate_signing_key

__all__ = ["PROCESS_ORDER", "StackError", "down", "status", "up"]

# Started in this order, stopped in the reverse one.
PROCESS_ORDER = ["moto", python_parts.AUTH_STANDIN.name,
                 *(part.name for part in python_parts.SERVICES), "gateway", *monitoring.PARTS]


def _say(message: str) -> None:
    print(f"[devstack] {message}", flush=True)


def up(layout: Layout, *, supabase: bool = True) -> dict[str, str]:
    """Start (or keep) every part; return the stack's environment.

    `supabase=False` is "Supabase off" (docs/deployment.md), for a stack whose move to RDS
    is finalized: the Supabase project's database and the Auth stand-in are stopped, not
    started, and no part is given a Supabase setting (so operator-service, gateway-auth and
    the gateway run as they would with none configured, and refuse to start before then)."""
    for folder in (layout.state, layout.logs, layout.run):
        folder.mkdir(parents=True, exist_ok=True)
    for name in processes.crashed(layout, PROCESS_ORDER):
        _say(f"{name} had crashed; its log is {layout.logs / (name + '.log')}")
    keys = secrets.load_or_create(layout)
    secrets.ensure_tls(layout)
    if not supabase:
        for name in (python_parts.AUTH_STANDIN.name, *monitoring.SUPABASE_PARTS):
            if processes.stop(layout, name):
                _say(f"{name}: stopped (Supabase off)")
    admins = databases.prepare(layout, keys, supabase=supabase)

    report = {"moto": processes.ensure(layout, aws.emulator(layout), timeout=300)}
    provisioned = aws.provision(layout, admins)
    env = stackenv.stack_env(layout, keys, provisioned, admins, supabase=supabase)
    values = python_parts.own_values(layout, keys, provisioned, admins, supabase=supabase)

    if supabase:
        generate_signing_key(python_parts.signing_key_file(layout))
        standin = python_parts.AUTH_STANDIN
        report[standin.name] = processes.ensure(layout, python_parts.process(
            layout, standin, {**env, **values[standin.name]}))
        if seed.seed_once(layout.state, env, keys):
            _say("demo data: seeded")
    elif not seed.seeded(layout.state):
        raise StackError("Supabase off needs a stack whose operator tables have moved to RDS "
                         "and been finalized: start it with Supabase first (`up`), move them "
                         "(docs/migration-runbook.md), then `up --supabase off`")
    env.update(seed.demo_credentials(keys))

    parts = [*(python_parts.process(layout, part, {**env, **values.get(part.name, {})})
               for part in python_parts.SERVICES),
             gateway.process(layout, env), *monitoring.processes(layout, admins)]
    for proc in parts:
        report[proc.name] = processes.ensure(layout, proc)

    for name, what in report.items():
        _say(f"{name}: {what} ({layout.url(name)})")
    stackenv.write(layout, env)
    return env


def down(layout: Layout) -> None:
    """Stop every part, newest first; leaves the data for the next `up`."""
    for name in reversed(PROCESS_ORDER):
        if processes.stop(layout, name):
            _say(f"{name}: stopped")
    for part in databases.stop(layout):
        _say(f"{part}: stopped")


def status(layout: Layout) -> int:
    """Per part: its state from its health check, URL and log; then where the settings
    are. Non-zero if a part has crashed or is unhealthy."""
    return _status(layout, PROCESS_ORDER)

"""The Python parts of the stack, one table: each runs under gunicorn with the environment
its own Settings class declares, taken from what the stack knows.

A service's variables are written once, in its Settings class: devstack reads the class's
fields and passes exactly those (plus gunicorn's, and the AWS SDK's own for a part whose
Settings talk to AWS), so a new setting needs no second list here."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from devstack import databases, environment, fingerprints
from devstack.layout import Layout
from devstack.processes import Process
from travel_platform.registry import registry


@dataclass(frozen=True)
class PythonPart:
    """One gunicorn-served part."""

    name: str
    app: str        # gunicorn's APP_MODULE
    settings: str   # "module:Class" whose fields are the part's environment
    code: str       # the folder whose changes restart it (with travel_platform)
    ready_path: str = "/ready"


AUTH_STANDIN = PythonPart(
    "supabase-auth", "devstack.supabase.auth_standin:create_app()",
    "devstack.supabase.auth_standin.settings:AuthStandinSettings", "devstack/supabase",
    ready_path="/auth/v1/health")
# The services and gateway-auth: every part of the registry, in its order.
SERVICES = [PythonPart(part.name, part.app, part.settings, part.folder)
            for part in registry().parts]


def own_values(layout: Layout, keys: dict[str, str], aws: dict[str, str],
               admins: dict[str, str], *, supabase: bool = True) -> dict[str, dict[str, str]]:
    """Values that differ by part, by the variable its Settings reads: each service's own
    RDS secret, operator-service's own database login, the stand-in's database and key
    (the last two not with Supabase off)."""
    own: dict[str, dict[str, str]] = {} if not supabase else {
        AUTH_STANDIN.name: {"AUTH_DB_URL": admins["supabase-db"],
                            "AUTH_SIGNING_KEY_FILE": str(signing_key_file(layout)),
                            "AUTH_MAIL_FILE": str(auth_mail_file(layout)),
                            # Addresses a stack's own callers use, exempt from its rate
                            # limits (a test run's); the caller's environment decides.
                            "AUTH_RATE_LIMIT_EXEMPT": os.environ.get("AUTH_RATE_LIMIT_EXEMPT",
                                                                     ""),
                            # Supabase's per-address sign-in budget, as a project sets it
                            # (Auth > Rate Limits); unset, Supabase's default.
                            **{k: os.environ[k] for k in ("AUTH_RATE_LIMIT_SIGN_IN_SIGN_UPS",)
                               if os.environ.get(k)}},
        "operator-service": {"SUPABASE_DB_URL": databases.operator_service_url(layout, keys)}}
    for part in SERVICES:
        secret = aws.get(f"{part.name.upper().replace('-', '_')}_RDS_SECRET_ID")
        if secret:
            own.setdefault(part.name, {})["AWS_RDS_SECRET_ID"] = secret
    return own


def auth_mail_file(layout: Layout) -> Path:
    """The e-mails the Supabase Auth stand-in would have sent (JSON lines)."""
    return layout.state / "supabase" / "mail.jsonl"


def signing_key_file(layout: Layout) -> Path:
    """The Auth stand-in's ES256 key (made once, kept with the stack's data)."""
    return layout.state / "supabase" / "signing-key.pem"


def settings_env(layout: Layout, part: PythonPart, values: dict[str, str]) -> dict[str, str]:
    """Of `values`, the variables the part's Settings class reads, and the AWS SDK's own for
    a part that talks to AWS."""
    settings = environment.settings_class(part.settings)
    env = environment.settings_env(settings, values)
    if "AWS_REGION" in environment.variables(settings):
        env = {**environment.aws_sdk_env(layout), **env}
    return env


def process(layout: Layout, part: PythonPart, values: dict[str, str]) -> Process:
    """`part` under gunicorn, with the variables its Settings and gunicorn's read out of
    `values` (the stack's settings and the part's own values)."""
    env = {**environment.python_env(layout), **settings_env(layout, part, values),
           # travel_platform.gunicorn.config's GunicornSettings
           "BIND": f"{layout.host}:{layout.port(part.name)}",
           "ACCESS_LOG": str(layout.logs / f"{part.name}.access.log"),
           # Each worker's metrics, added up by whichever worker serves /metrics (read by
           # prometheus_client itself).
           "PROMETHEUS_MULTIPROC_DIR": str(layout.run / "metrics" / part.name)}
    return Process(name=part.name,
                   argv=[layout.bin("gunicorn"), "-c", "python:travel_platform.gunicorn.config",
                         part.app],
                   env=env, ready_url=f"{layout.url(part.name)}{part.ready_path}",
                   url=layout.url(part.name),
                   config_fingerprint=(
                       fingerprints.code(layout, "shared/travel_platform", part.code)
                       + ":" + fingerprints.databases(layout)))

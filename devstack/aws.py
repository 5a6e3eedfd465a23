"""The stack's AWS: moto as the emulator (its state replayed from a journal on every start,
devstack/aws_emulator.py), provisioned by the same script that provisions real AWS."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import boto3

from devstack import environment, fingerprints, gateway
from devstack.layout import REPO, Layout, StackError
from devstack.processes import Process


def journal(layout: Layout) -> Path:
    """The file moto's state is kept in (its requests that changed state)."""
    return layout.state / "aws" / "journal.jsonl"


def emulator(layout: Layout) -> Process:
    """moto, replaying its journal, so ids, users and their subs, objects and secrets
    survive a restart or a crash. Ready when its dashboard answers (not /moto-api/data.json,
    which fails as soon as moto knows an RDS instance: a write-only property)."""
    return Process(
        name="moto", argv=[str(layout.python), "-m", "devstack.aws_emulator", "--host",
                           layout.host, "--port", str(layout.port("moto")),
                           "--journal", str(journal(layout))],
        env=environment.python_env(layout), ready_url=f"{layout.url('moto')}/moto-api/",
        url=layout.url("moto"),
        config_fingerprint=fingerprints.code(layout, "devstack/aws_emulator.py"))


def provision(layout: Layout, admins: dict[str, str], *,
              origins: tuple[str, ...] | None = None) -> dict[str, str]:
    """Run the provisioning script against moto, as one would against AWS; what it made
    (pool and client ids, bucket, each service's RDS secret). The bucket's CORS allows
    `origins`, by default the gateway's."""
    origin_args = [arg for origin in (origins or gateway.cors_origins(layout))
                   for arg in ("--dashboard-origin", origin)]
    result = subprocess.run(
        [str(layout.python), str(REPO / "aws" / "scripts" / "provision.py"),
         "--rds-admin-url", admins["rds"], "--rds-host", layout.host_of("rds"),
         "--rds-port", str(layout.port("rds")), *origin_args],
        env={**environment.python_env(layout), **environment.aws_sdk_env(layout)},
        capture_output=True, text=True)
    if result.returncode != 0:
        raise StackError(f"AWS provisioning failed:\n{result.stderr[-3000:]}")
    return {**json.loads(result.stdout), "MIGRATE_RDS_INSTANCE_ID": register_rds(layout)}


# The RDS instance as moto knows it: Terraform creates the real one (aws/infrastructure/
# rds.tf); here the local PostgreSQL stands in for it, and this record lets `python -m
# migrate switch-writes` call CreateDBSnapshot as it does on AWS (moto keeps the snapshot's
# record, not the data).
RDS_INSTANCE_ID = "travel-agent-db"


def register_rds(layout: Layout) -> str:
    """Make moto know the stack's RDS instance (idempotent); its identifier."""
    sdk = environment.aws_sdk_env(layout)
    rds = boto3.client("rds", endpoint_url=sdk["AWS_ENDPOINT_URL"], region_name=sdk["AWS_REGION"],
                       aws_access_key_id=sdk["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=sdk["AWS_SECRET_ACCESS_KEY"])
    try:
        rds.describe_db_instances(DBInstanceIdentifier=RDS_INSTANCE_ID)
    except rds.exceptions.DBInstanceNotFoundFault:
        rds.create_db_instance(DBInstanceIdentifier=RDS_INSTANCE_ID, Engine="postgres",
                               DBInstanceClass="db.t4g.micro", AllocatedStorage=20,
                               DBName="travel_agent_db", MasterUsername="postgres",
                               MasterUserPassword="not-used-locally")
    return RDS_INSTANCE_ID

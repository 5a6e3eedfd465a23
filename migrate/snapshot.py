"""An RDS snapshot before the write cutover (the design note: "snapshot before
migration").

From `switch-writes` on, RDS holds the only copy that takes writes; `rollback` can bring
them back to Supabase, but a mistake made on RDS itself (a bad deploy, a careless DELETE in
the first hours) has no older copy to come back to unless one was taken. A snapshot costs
nothing to the move: RDS takes no writes yet (they still go to Supabase) and an RDS
snapshot is taken online. `switch-writes` refuses to go on without one unless told so in as
many words (`--without-snapshot`), because the moment to take it is exactly then."""
from __future__ import annotations

import datetime
import time

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from migrate.state import GateRefused, ToolError
from migrate.units import Unit


def before_switch(run, unit: Unit, *, skip: bool) -> str | None:
    """Take a snapshot of the RDS instance and wait until it is available; its identifier
    (None when skipped on purpose)."""
    settings = run.settings
    if skip:
        run.say("no RDS snapshot before this cutover (--without-snapshot)")
        return None
    instance = settings.migrate_rds_instance_id
    if not instance:
        raise GateRefused("cannot switch-writes: no RDS snapshot can be taken before the "
                          "cutover: set MIGRATE_RDS_INSTANCE_ID to the instance's identifier "
                          "(or run `switch-writes --without-snapshot` to go on without one)")
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
    name = f"migrate-{unit.name}-before-switch-{stamp}"
    rds = boto3.client("rds", region_name=settings.aws_region)
    started = time.monotonic()
    try:
        rds.create_db_snapshot(DBSnapshotIdentifier=name, DBInstanceIdentifier=instance,
                               Tags=[{"Key": "created-by", "Value": "python -m migrate"},
                                     {"Key": "unit", "Value": unit.name}])
        run.say(f"rds: taking snapshot {name} of {instance}")
        deadline = started + settings.migrate_snapshot_timeout_seconds
        while True:
            [found] = rds.describe_db_snapshots(DBSnapshotIdentifier=name)["DBSnapshots"]
            if found["Status"] == "available":
                break
            if found["Status"] in ("failed", "deleted") or time.monotonic() > deadline:
                raise ToolError(f"snapshot {name} is {found['Status']} after "
                                f"{time.monotonic() - started:.0f} s; writes stay on Supabase: "
                                "see the RDS console, then run `switch-writes` again")
            run.say(f"rds: snapshot {name} {found.get('PercentProgress', 0)}%")
            time.sleep(10)
    except (BotoCoreError, ClientError) as exc:
        raise ToolError(f"could not snapshot RDS instance {instance} ({exc}); writes stay on "
                        "Supabase: fix that, or run `switch-writes --without-snapshot`") from None
    took = time.monotonic() - started
    run.state.event(unit, "switch-writes", "progress", f"snapshot {name} available",
                    {"snapshot": name, "instance": instance, "seconds": took})
    run.say(f"rds: snapshot {name} available after {took:.1f} s")
    return name

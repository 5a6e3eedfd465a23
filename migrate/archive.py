"""The end of the move (the design note's Phase 4: "archive the Supabase project, keep
backups 30 days"): once every unit is finalized, one last dump of what remains on Supabase,
the logins' `auth` schema included, checked, stored in S3 under a rule that deletes it
after the retention, and recorded in RDS; and the local backups pruned to the same
retention.

Why S3 and not the Supabase project's own backups: the project is switched off after the
move, and its daily backups go with it. Why a lifecycle rule and not a note in a runbook:
operator data must not outlive its retention because somebody forgot."""
from __future__ import annotations

import datetime
import hashlib
import subprocess

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from migrate.backup import pg_tool, sha256_of
from migrate.state import GateRefused, ToolError, one
from migrate.units import UNITS

# The lifecycle rule the tool keeps on the archive prefix (also in aws/infrastructure/s3.tf).
RULE_ID = "migration-archive-retention"


def archive(run) -> int:
    """Dump Supabase's remaining schemas (auth included) once every unit is finalized,
    upload the dump with its SHA-256, check the stored copy, and print where it is."""
    settings = run.settings
    left = [u.name for u in UNITS
            if run.state.row(u)["state"] not in ("finalized", "dropped")]
    if left:
        raise GateRefused(f"cannot archive: {', '.join(left)} not finalized, so Supabase still "
                          "serves them; finalize every unit first")
    if not settings.aws_s3_bucket:
        raise GateRefused("cannot archive: AWS_S3_BUCKET is not set (the bucket the archive "
                          "goes to)")
    wanted = [s.strip() for s in settings.migrate_archive_schemas.split(",") if s.strip()]
    schemas = [r["nspname"] for r in run.supabase.execute(
        "select nspname from pg_namespace where nspname = any(%s) order by nspname",
        (wanted,)).fetchall()]
    folder = settings.migrate_backup_dir
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"supabase-final-{stamp}.dump"
    run.say(f"supabase: dumping schemas {', '.join(schemas)}")
    result = subprocess.run(
        [pg_tool(settings.migrate_pg_bin, "pg_dump"), "--format=custom", f"--file={path}",
         *[f"--schema={s}" for s in schemas],
         f"--dbname={settings.supabase_db_admin_url.get_secret_value()}"],
        capture_output=True, text=True)
    if result.returncode != 0:
        path.unlink(missing_ok=True)
        raise ToolError(f"pg_dump of Supabase failed: "
                        f"{(result.stderr.strip().splitlines() or ['?'])[-1]}")
    path.chmod(0o600)
    digest, size = sha256_of(path), path.stat().st_size
    key = f"{settings.migrate_archive_prefix}supabase-final-{stamp}.dump"
    s3 = boto3.client("s3", region_name=settings.aws_region)
    bucket, days = settings.aws_s3_bucket, settings.migrate_archive_days
    try:
        _keep_for(s3, bucket, settings.migrate_archive_prefix, days)
        s3.upload_file(str(path), bucket, key, ExtraArgs={"Metadata": {"sha256": digest}})
        stored = _stored_digest(s3, bucket, key)
    except (BotoCoreError, ClientError) as exc:
        raise ToolError(f"uploading the archive to s3://{bucket}/{key} failed ({exc}); the "
                        f"dump is kept at {path}: run `archive` again") from None
    if stored != digest:
        raise ToolError(f"the stored archive s3://{bucket}/{key} does not match the dump "
                        f"(sha256 {stored} vs {digest}); run `archive` again")
    tables = one(run.supabase.execute(
        "select count(*) as n from pg_tables where schemaname = any(%s)", (schemas,)
    ).fetchone())["n"]
    details = {"uri": f"s3://{bucket}/{key}", "sha256": digest, "bytes": size,
               "schemas": schemas, "tables": tables, "keep_days": days}
    for unit in UNITS:
        run.state.event(unit, "archive", "done", f"archived to s3://{bucket}/{key}", details)
    run.say(f"archived {tables} tables of schemas {', '.join(schemas)} to s3://{bucket}/{key} "
            f"({size:,} bytes, sha256 {digest}, read back and checked); S3 deletes it after "
            f"{days} days (lifecycle rule {RULE_ID}); a local copy is at {path}")
    return 0


def _keep_for(s3, bucket: str, prefix: str, days: int) -> None:
    """Make sure a lifecycle rule deletes what is under `prefix` after `days` (the other
    rules of the bucket kept: S3 replaces the whole configuration at once)."""
    try:
        rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchLifecycleConfiguration":
            raise
        rules = []
    for rule in rules:
        if (rule.get("Status") == "Enabled"
                and (rule.get("Filter") or {}).get("Prefix", rule.get("Prefix")) == prefix
                and 0 < (rule.get("Expiration") or {}).get("Days", 0) <= days):
            return
    ours = {"ID": RULE_ID, "Status": "Enabled", "Filter": {"Prefix": prefix},
            "Expiration": {"Days": days}}
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={"Rules": [r for r in rules if r.get("ID") != RULE_ID] + [ours]})


def _stored_digest(s3, bucket: str, key: str) -> str:
    """SHA-256 of the object as S3 serves it back (streamed; the dump may be large)."""
    digest = hashlib.sha256()
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    for block in iter(lambda: body.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()

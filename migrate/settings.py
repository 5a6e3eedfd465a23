"""What `python -m migrate` is configured with: the same variables as the rest of the
platform (`set -a; . .dev/stack.env` gives all of them locally)."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class MigrateSettings(BaseSettings):
    """Connections and limits of the migration tool."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    # The Supabase project's database as `postgres`, over a direct connection (the pooler
    # cannot create publications or serve replication).
    supabase_db_admin_url: SecretStr
    # RDS `travel_agent_db` as the master user (rds_superuser can create subscriptions).
    rds_admin_url: SecretStr
    # How the RDS server itself reaches Supabase for the subscription; by default the URL
    # above (set it where RDS sees Supabase under another address or needs another CA path).
    migrate_publisher_url: SecretStr | None = None
    migrate_backup_dir: Path = Path("migration-backups")
    # The publication, subscription and replication slot of a unit are named <prefix><unit>.
    # Slots live per server, so a rehearsal on the same servers as the real move
    # (`rehearse`) gives its steps a prefix of their own; the real move keeps `migrate_`
    # (monitoring/ watches those names).
    migrate_replication_prefix: str = Field(default="migrate_", pattern=r"^[a-z][a-z0-9_]{0,40}_$")
    # `rehearse`: the servers its scratch pair of databases is made on, as admin URLs (any
    # database of each server; the scratch ones are created beside it). By default the
    # servers of SUPABASE_DB_ADMIN_URL and RDS_ADMIN_URL. The rehearsal's subscription reaches
    # its Supabase side as MIGRATE_PUBLISHER_URL would (or this URL, when it is set), with
    # the scratch database's name.
    migrate_rehearsal_supabase_url: SecretStr | None = None
    migrate_rehearsal_rds_url: SecretStr | None = None
    # The longest writes may be held during a cutover before the tool gives up and reopens.
    migrate_max_hold_seconds: float = 5.0
    # How long a hold waits for one lock (the fence rows, the tables) before it lets go,
    # writes flowing as before, and how many times it tries: gh-ost's cut-over lock timeout
    # and retries. A hold that cannot get its locks gives up within about 15 s, naming the
    # session in its way.
    migrate_lock_timeout_ms: int = Field(default=500, ge=10, le=5000)
    migrate_hold_attempts: int = Field(default=3, ge=1, le=10)
    # A hold does not begin while a transaction older than this touches the unit's tables
    # (a stuck worker, a forgotten psql session): it would only wait for it.
    migrate_old_transaction_seconds: float = Field(default=2.0, gt=0)
    # A hold does not begin when more rows than this were written since the last full
    # verify (each is checked inside the hold, by key).
    migrate_max_hold_keys: int = Field(default=100_000, ge=1)
    # `verify` (migrate/verify.py): rows per key-range chunk summed on both sides at once
    # (each table is read in as many paced steps as it has chunks); a differing chunk is
    # halved down to a few hundred rows, then compared row by row.
    migrate_verify_chunk_rows: int = Field(default=100_000, ge=100, le=1_000_000)
    # Pacing of `verify` (gh-ost's --max-lag-millis and --max-load): before each chunk it
    # waits while RDS applies what Supabase committed more than this many seconds late, or
    # while more sessions than this run a statement on Supabase, and gives up (exit 1,
    # one line) once it has waited this long in all.
    migrate_max_lag_seconds: float = Field(default=10.0, gt=0)
    migrate_max_active_sessions: int = Field(default=40, ge=1)
    migrate_max_pacing_seconds: float = Field(default=600.0, gt=0)
    # Failpoints (for fault-injection drills and tests): a comma-separated list of named
    # points (migrate/failpoints.py) at which the tool stops and waits to be killed. It
    # changes nothing else.
    migrate_pause_at: str = ""
    # A relation whose initial copy shows no progress for this long is named stuck and
    # `start` stops (migrate/copywatch.py; a failing copy or a lost slot is named sooner).
    migrate_copy_stall_seconds: float = 60.0
    # Where pg_dump and pg_restore of the servers' major version are.
    migrate_pg_bin: Path = Path("/usr/lib/postgresql/15/bin")
    # Backups of units older than this are deleted by the next `backup` or `archive` (the
    # newest of each unit and side is always kept): the design note's 30 days.
    migrate_backup_keep_days: int = Field(default=30, ge=1)
    # `archive`: Supabase's schemas dumped once every unit is finalized, and where the dump
    # goes: the platform's bucket (AWS_S3_BUCKET), under a prefix a lifecycle rule empties
    # after the retention.
    migrate_archive_schemas: str = "auth,public,storage,supabase_backup,migration"
    migrate_archive_prefix: str = Field(default="migration-archive/", pattern=r"^[\w.-]+/$")
    migrate_archive_days: int = Field(default=30, ge=1)
    aws_s3_bucket: str | None = None
    # The RDS instance `switch-writes` snapshots first (its DBInstanceIdentifier), and how
    # long it waits for the snapshot to be available.
    migrate_rds_instance_id: str | None = None
    migrate_snapshot_timeout_seconds: float = Field(default=3600, gt=0)

    # The operators' logins (migrate/logins.py): Supabase Auth's admin API, and the
    # operators' Cognito pool. Only the `operators` unit's logins need them.
    supabase_url: str | None = None
    supabase_service_role_key: SecretStr | None = None
    aws_cognito_operator_pool_id: str | None = None
    aws_region: str | None = None

    @property
    def publisher_url(self) -> str:
        """Connection string the subscription on RDS uses."""
        own = self.migrate_publisher_url.get_secret_value() if self.migrate_publisher_url else ""
        return own or self.supabase_db_admin_url.get_secret_value()

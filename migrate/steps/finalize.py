"""`finalize`, `import-logins` and `drop`: the end of a unit's move."""
from __future__ import annotations

from psycopg import sql

from migrate import capture, fences, logins, replication
from migrate.gates import require_carrier, require_state
from migrate.replication import qualified
from migrate.run import BACKUP_SCHEMA, LOGINS_UNIT, Run
from migrate.state import GateRefused, ToolError, one
from migrate.units import Unit, switch_group


def finalize(run: Run, unit: Unit) -> int:
    """Drop replication and capture; keep the Supabase tables in schema supabase_backup."""
    require_carrier(unit, "finalize")
    group = switch_group(unit)
    for member in group:
        require_state(run, member, ("writes_switched", "finalized"), "finalize")
    if unit.name == LOGINS_UNIT and run.state.row(unit)["state"] != "finalized":
        logins.refuse_lockout(logins.census(run.settings, run.rds))
        disabled = logins.carry_bans_over(run.settings, run.rds, say=run.say)
        run.state.event(unit, "finalize", "progress", f"bans carried over: {disabled} "
                        "operators' pool users disabled")
    if unit.name == LOGINS_UNIT and not run.settings.aws_cognito_operator_pool_id:
        raise ToolError("finalize operators needs AWS_COGNITO_OPERATOR_POOL_ID: it detaches "
                        "the operators' pool's UserMigration trigger")
    run.supabase.execute(sql.SQL("create schema if not exists {}").format(
        sql.Identifier(BACKUP_SCHEMA)))
    run.supabase.execute(sql.SQL("revoke all on schema {} from public").format(
        sql.Identifier(BACKUP_SCHEMA)))
    for member in group:
        replication.drop_subscription(run.rds, run.supabase, member)
        replication.drop_publication(run.supabase, member)
        for table in member.tables:
            if one(run.supabase.execute("select to_regclass(%s) is not null as ok",
                                        (f"public.{table}",)).fetchone())["ok"]:
                fences.ddl(run.supabase, sql.SQL("alter table {} set schema {}").format(
                    qualified(table), sql.Identifier(BACKUP_SCHEMA)))
        run.supabase.execute("delete from migration.heartbeat where unit = %s", (member.name,))
        with run.rds.transaction():
            fences.clear_fence(run.rds, member.tables)
            run.state.update(member, conn=run.rds, state="finalized", shadow=False)
        capture.remove_capture(run.rds, member)
        # RDS holds the tables for good: no fence left to enforce there. (Supabase's copies,
        # now in supabase_backup, keep refusing writes until `drop`.)
        fences.remove_guard(run.rds, member)
        for side in (run.rds, run.supabase):
            fences.allow_ddl(side, member)
    run.state.event(unit, "finalize", "done", "replication dropped; Supabase tables kept")
    if unit.name == LOGINS_UNIT:
        run.say(logins.detach_user_migration(run.settings))
    run.say(f"{', '.join(m.name for m in group)} finalized: no publication, subscription, slot "
            f"or capture left; the Supabase tables are kept in schema {BACKUP_SCHEMA} until "
            f"`python -m migrate drop {unit.name}`")
    return 0


def import_logins(run: Run, unit: Unit) -> int:
    """Give every operator who has not signed in yet a Cognito user (password reset)."""
    if unit.name != LOGINS_UNIT:
        raise GateRefused(f"{unit.name} has no logins: import-logins is for {LOGINS_UNIT}")
    imported = logins.import_remaining(run.settings, run.rds, run.state.row(unit)["state"],
                                       say=run.say)
    run.state.event(unit, "import-logins", "done", f"{imported} operators imported")
    return 0


def drop(run: Run, unit: Unit) -> int:
    """Delete the Supabase backup tables of a finalized unit's group."""
    require_carrier(unit, "drop")
    group = switch_group(unit)
    for member in group:
        require_state(run, member, ("finalized", "dropped"), "drop")
    for member in group:
        with run.supabase.transaction():
            for table in member.tables:
                run.supabase.execute(sql.SQL("drop table if exists {}.{} cascade").format(
                    sql.Identifier(BACKUP_SCHEMA), sql.Identifier(table)))
            fences.clear_fence(run.supabase, member.tables)
        run.state.update(member, state="dropped")
    run.state.event(unit, "drop", "done", "Supabase backup tables dropped")
    run.say(f"the Supabase copies of {', '.join(m.name for m in group)} are dropped")
    return 0

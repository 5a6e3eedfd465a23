-- The write fence enforced by the database itself, for every writer (both databases: RDS
-- gets supabase/migrations from `python -m migrate start`).
--
-- migration.claim_writes (20261127090000_write_fence.sql) is cooperative: operator-service
-- calls it, but supabase-js through PostgREST (`anon`, `authenticated`, `service_role`),
-- Studio, cron jobs and scripts never do. `python -m migrate start` therefore puts a
-- statement-level trigger calling migration.guard_writes() on each table of a unit, on both
-- sides. Before any row of an INSERT, UPDATE, DELETE or TRUNCATE is touched it share-locks
-- the table's fence row (so a cutover closing the fence waits for it, exactly as for
-- claim_writes, and it waits for a cutover in progress) and refuses the statement with
-- SQLSTATE MG001 while the fence is closed. No table is refused until a move starts: a
-- table without a fence row accepts writes.
--
-- Why a trigger and not REVOKE: privileges would have to be taken from and given back to
-- every role, including the owner (Studio and psql sessions run as `postgres`, who owns
-- the tables and could grant them back), and a role added later would slip through. A
-- trigger fires for every role. It does not fire in replica mode
-- (`session_replication_role = replica`): that is how logical replication applies changes
-- and how the tool replays a rollback, and setting it takes a superuser (on Supabase the
-- `postgres` role, on RDS `rds_superuser`): the one deliberate way around the fence.

alter table migration.fence add column if not exists held_by text;
alter table migration.fence add column if not exists lease_until timestamptz;
comment on column migration.fence.held_by is
  'while a cutover or rollback holds writes: the run holding them (python -m migrate status)';
comment on column migration.fence.lease_until is
  'while a hold runs: when it ends at the latest; a hold past it was left by a dead run';

create or replace function migration.guard_writes() returns trigger
  language plpgsql security definer set search_path = ''
as $$
declare
  fenced record;
begin
  select f.accepting, f.reason into fenced from migration.fence f
   where f.table_name = tg_table_name for share;
  if found and not fenced.accepting then
    raise exception 'writes to % are refused on this database: %', tg_table_name, fenced.reason
      using errcode = 'MG001',
            hint = 'the table is moving between databases (python -m migrate); write '
                   'through the API, which sends each write to the database that holds it';
  end if;
  return null;
end
$$;
revoke all on function migration.guard_writes() from public;

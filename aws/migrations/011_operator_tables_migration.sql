-- What RDS needs before operator tables can move here from Supabase (design note, phase 4):
-- the roles operator-service's queries run as, operator-service's own login role, and the
-- state of the move (`python -m migrate`), from which operator-service reads where each
-- table lives. The operator tables themselves come from supabase/migrations/, applied here
-- by `python -m migrate start` (one schema, two databases).

do $$ begin
  -- As on Supabase: API roles that row-level security policies name.
  if not exists (select from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  -- operator-service logs in as this role (password from Secrets Manager, set by
  -- provisioning) and can only become `anon` or `authenticated`: RLS decides every row.
  if not exists (select from pg_roles where rolname = 'operator_service') then
    create role operator_service nologin noinherit;
  end if;
end $$;
grant anon, authenticated to operator_service;

create schema if not exists migration;
revoke all on schema migration from public;

-- One row per unit of the move: its tables, how far it got, and what gates it passed.
create table if not exists migration.units (
  unit               text primary key,
  position           integer not null,
  tables             text[] not null,
  state              text not null default 'new'
                       check (state in ('new', 'copying', 'replicating', 'reads_switched',
                                        'writes_switched', 'rolled_back', 'finalized',
                                        'dropped')),
  shadow             boolean not null default false,
  -- Set while `switch-writes` or `rollback` holds writes; writers wait until it passes.
  hold_until         timestamptz,
  started_at         timestamptz,
  verified_at        timestamptz,
  verify_mismatches  integer,
  verify_details     jsonb,
  shadow_compared    bigint not null default 0,
  shadow_mismatched  bigint not null default 0,
  shadow_lagged      bigint not null default 0,
  shadow_last        jsonb,
  -- Foreign keys dropped on RDS while the table they reference takes writes elsewhere.
  suspended_fks      jsonb not null default '[]',
  updated_at         timestamptz not null default now()
);

create table if not exists migration.events (
  id      bigint generated always as identity primary key,
  at      timestamptz not null default now(),
  unit    text,
  command text not null,
  outcome text not null check (outcome in ('started', 'done', 'refused', 'failed', 'progress')),
  message text not null,
  details jsonb
);

create table if not exists migration.backups (
  id         bigint generated always as identity primary key,
  unit       text not null references migration.units (unit),
  side       text not null check (side in ('supabase', 'rds')),
  path       text not null,
  sha256     text not null,
  bytes      bigint not null,
  row_counts jsonb not null,
  created_at timestamptz not null default now()
);

-- Changes written on RDS after the write cutover, replayed onto Supabase by `rollback`.
create table if not exists migration.changelog (
  id         bigint generated always as identity primary key,
  unit       text not null,
  table_name text not null,
  operation  text not null check (operation in ('upsert', 'delete')),
  pk         jsonb not null,
  row_data   jsonb,
  at         timestamptz not null default now()
);

-- Where operator-service reads and writes each table; every worker polls this view.
create or replace view migration.routing as
select t.table_name, u.unit,
       case when u.state in ('reads_switched', 'writes_switched', 'finalized', 'dropped')
            then 'rds' else 'supabase' end as reads_from,
       case when u.state in ('writes_switched', 'finalized', 'dropped')
            then 'rds' else 'supabase' end as writes_to,
       u.shadow and u.state in ('replicating', 'reads_switched') as shadow,
       u.hold_until
  from migration.units u cross join unnest(u.tables) as t (table_name);

-- operator-service counts what its shadow reads found; it may do nothing else here.
create or replace function migration.record_shadow(unit_names text[], outcome text, sample jsonb)
  returns void language sql security definer set search_path = ''
as $$
  update migration.units
     set shadow_compared = shadow_compared + 1,
         shadow_mismatched = shadow_mismatched + (outcome = 'mismatch')::int,
         shadow_lagged = shadow_lagged + (outcome = 'lagged')::int,
         shadow_last = case when outcome = 'mismatch' then sample else shadow_last end
   where unit = any(unit_names)
$$;
revoke all on function migration.record_shadow(text[], text, jsonb) from public;

grant usage on schema migration to operator_service;
grant select on migration.routing to operator_service;
grant execute on function migration.record_shadow(text[], text, jsonb) to operator_service;

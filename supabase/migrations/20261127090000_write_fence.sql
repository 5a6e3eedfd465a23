-- The write fence of the move to RDS (`python -m migrate`), on both databases.
--
-- Every write transaction of operator-service first calls migration.claim_writes() with the
-- tables it is about to change, on the database it means to write. The call takes a share
-- lock on each table's fence row, so a cutover that closes the fence (an UPDATE of those
-- rows) waits for the writes in flight and holds back new ones; once it commits, the held
-- writes are refused with SQLSTATE MG001 and operator-service retries them where the table
-- now lives. A table with no fence row accepts writes: nothing changes until a move starts.

create schema if not exists migration;
revoke all on schema migration from public;
grant usage on schema migration to anon, authenticated;

create table if not exists migration.fence (
  table_name text primary key,
  accepting  boolean not null,
  reason     text not null
);

create or replace function migration.claim_writes(tables text[]) returns void
  language plpgsql security definer set search_path = ''
as $$
declare
  fenced record;
  refused text[] := '{}';
begin
  for fenced in select f.table_name, f.accepting, f.reason from migration.fence f
                 where f.table_name = any(tables) order by f.table_name for share loop
    if not fenced.accepting then
      refused := refused || (fenced.table_name || ' (' || fenced.reason || ')');
    end if;
  end loop;
  if cardinality(refused) > 0 then
    raise exception 'writes refused here: %', array_to_string(refused, ', ')
      using errcode = 'MG001';
  end if;
end
$$;
revoke all on function migration.claim_writes(text[]) from public;
grant execute on function migration.claim_writes(text[]) to anon, authenticated;

-- One row per unit of the move, published with the unit's tables: a cutover bumps `beat`
-- on Supabase and waits until RDS shows it, which proves that every change committed
-- before it has been applied there (a subscription applies in commit order).
create table if not exists migration.heartbeat (
  unit    text primary key,
  beat    bigint not null default 0,
  beat_at timestamptz not null default now()
);

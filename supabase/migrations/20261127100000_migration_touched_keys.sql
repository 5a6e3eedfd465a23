-- Keys written on Supabase since the last `python -m migrate verify` of a unit. While a unit
-- replicates, a trigger on each of its tables (installed by `start`, removed at the write
-- cutover) records the primary key of every row a write changes. The cutover then checks,
-- while writes are held, only those rows and the row counts, after a full verify just
-- before the hold: the hold grows with the writes of the last seconds, not with the size
-- of the tables.
create table if not exists migration.touched (
  table_name text not null,
  key        text not null,
  primary key (table_name, key)
);

create or replace function migration.touch() returns trigger
  language plpgsql security definer set search_path = ''
as $$
declare
  old_key text := case when tg_op <> 'INSERT' then to_jsonb(old) ->> tg_argv[0] end;
  new_key text := case when tg_op <> 'DELETE' then to_jsonb(new) ->> tg_argv[0] end;
begin
  insert into migration.touched (table_name, key)
  select tg_table_name, k from (values (old_key), (new_key)) v (k) where k is not null
  on conflict do nothing;
  return null;
end
$$;
revoke all on function migration.touch() from public;

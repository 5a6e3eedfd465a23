-- The keys written on Supabase since the last verify (20261127100000_migration_touched_keys.sql)
-- are recorded whole: the text of a jsonb object {column: value} of every primary key column,
-- in the shape RDS's change capture records them (migration.changelog.pk). The first key
-- column alone named every row sharing it: for a table keyed by (operator_id, day), one
-- written day made the write cutover check all of the operator's days, and a key could not
-- be named exactly at all. The trigger's arguments are the key columns, in key order (a
-- trigger made with one argument still records its one-column key).
--
-- The keys recorded so far are forgotten: every `switch-writes` begins with a full verify,
-- which forgets them anyway (migrate/steps/verify.py, full_verify).
drop table if exists migration.touched;
create table migration.touched (
  table_name text not null,
  key        jsonb not null,
  primary key (table_name, key)
);

-- UTC and PostgreSQL's interval style, whatever the writer's session says: one row, one key.
create or replace function migration.touch() returns trigger
  language plpgsql security definer set search_path = ''
  set timezone = 'UTC' set intervalstyle = 'postgres'
as $$
declare
  old_key jsonb := case when tg_op <> 'INSERT' then
    (select jsonb_object_agg(c, to_jsonb(old) -> c) from unnest(tg_argv) c) end;
  new_key jsonb := case when tg_op <> 'DELETE' then
    (select jsonb_object_agg(c, to_jsonb(new) -> c) from unnest(tg_argv) c) end;
begin
  insert into migration.touched (table_name, key)
  select tg_table_name, k from (values (old_key), (new_key)) v (k) where k is not null
  on conflict do nothing;
  return null;
end
$$;
revoke all on function migration.touch() from public;

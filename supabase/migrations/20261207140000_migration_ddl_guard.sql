-- Schema changes refused on tables while they move (both databases: RDS gets
-- supabase/migrations from `python -m migrate start`).
--
-- While a unit moves, its tables must keep one shape on both sides: logical replication
-- applies rows by column name and stops (an apply worker failing forever) at a column
-- RDS lacks; a column, index or policy added by hand on one side makes `verify` report
-- mismatches that are not there, or hides real ones. Studio, psql and migrations written
-- for the old project do not know a move is under way, so the database refuses them.
--
-- `start` lists the unit's tables in migration.ddl_refused and makes sure the event
-- triggers below exist; `finalize` and `rollback` take the unit's tables out and drop the
-- triggers once nothing is listed. Every command that changes a listed table, or anything
-- on it (an index, a trigger, a policy, a constraint, a rule, a default), is refused with
-- SQLSTATE MG002 naming the unit. GRANT, REVOKE and COMMENT change no shape and pass.
-- An index or a statistics object dropped by name is not caught: PostgreSQL no longer says
-- which table it belonged to when the event fires, and neither breaks replication.
--
-- The tool's own schema changes (its triggers, suspended foreign keys, `finalize` moving
-- tables to supabase_backup) run with `set migrate.ddl = 'allowed'`, the one documented
-- way through; a person making a deliberate change on both sides may use it too.

create table if not exists migration.ddl_refused (
  relid oid primary key,
  table_name text not null,
  unit text not null
);
comment on table migration.ddl_refused is
  'tables whose schema changes are refused while their unit moves (python -m migrate)';
revoke all on migration.ddl_refused from public;

-- security definer: the trigger fires for every role's DDL (Supabase's own services run
-- migrations as their own roles), and those roles may not read the migration schema.
create or replace function migration.refuse_ddl() returns event_trigger
  language plpgsql security definer set search_path = ''
as $$
declare
  hit record;
begin
  if coalesce(current_setting('migrate.ddl', true), '') = 'allowed' then
    return;
  end if;
  if tg_event = 'sql_drop' then
    select r.table_name, r.unit into hit
      from pg_catalog.pg_event_trigger_dropped_objects() d
      join migration.ddl_refused r
        on (d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass and d.objid = r.relid)
        or (d.object_type in ('table constraint', 'trigger', 'policy', 'rule', 'default value')
            and d.address_names[1] || '.' || d.address_names[2] = r.table_name)
     limit 1;
  else
    select r.table_name, r.unit into hit
      from pg_catalog.pg_event_trigger_ddl_commands() c
      join migration.ddl_refused r on r.relid = case c.classid
          when 'pg_catalog.pg_class'::pg_catalog.regclass then coalesce(
            (select i.indrelid from pg_catalog.pg_index i where i.indexrelid = c.objid),
            c.objid)
          when 'pg_catalog.pg_trigger'::pg_catalog.regclass then
            (select t.tgrelid from pg_catalog.pg_trigger t where t.oid = c.objid)
          when 'pg_catalog.pg_policy'::pg_catalog.regclass then
            (select p.polrelid from pg_catalog.pg_policy p where p.oid = c.objid)
          when 'pg_catalog.pg_constraint'::pg_catalog.regclass then
            (select k.conrelid from pg_catalog.pg_constraint k where k.oid = c.objid)
          when 'pg_catalog.pg_rewrite'::pg_catalog.regclass then
            (select w.ev_class from pg_catalog.pg_rewrite w where w.oid = c.objid)
          when 'pg_catalog.pg_attrdef'::pg_catalog.regclass then
            (select a.adrelid from pg_catalog.pg_attrdef a where a.oid = c.objid)
        end
     where c.command_tag not in ('GRANT', 'REVOKE', 'COMMENT')
     limit 1;
  end if;
  if hit.table_name is not null then
    raise exception '% on % is refused: the table is moving to another database (unit %)',
        tg_tag, hit.table_name, hit.unit
      using errcode = 'MG002',
            hint = format('run `python -m migrate finalize %s` or `rollback %s` first; a '
                          'change made deliberately on both databases may `set migrate.ddl '
                          '= ''allowed''` in its session', hit.unit, hit.unit);
  end if;
end
$$;
revoke all on function migration.refuse_ddl() from public;

-- What lets `python -m migrate rollback` replay RDS's writes in rounds, and every run see
-- (and undo) what a dead run left.
--
-- The transaction that wrote each captured change: `rollback` replays, before it holds
-- writes, everything captured so far (in rounds, each the changes committed since the last
-- round's snapshot: `pg_visible_in_snapshot`), so that inside the hold it replays only the
-- last seconds. Ids alone cannot say that: an id is taken when a row is written, not when
-- its transaction commits, so a later id can commit first. The index serves the rounds
-- (and the oldest transaction still open bounds each round's scan from below).
alter table migration.changelog add column if not exists xid xid8 not null
  default pg_current_xact_id();
create index if not exists changelog_unit_xid_idx on migration.changelog (unit, xid);

-- Which run holds writes of a unit now (`status` shows it; the next run undoes what a dead
-- one left): `hold_until` is the hold's lease, after which operator-service stops waiting.
alter table migration.units add column if not exists held_by text;

-- operator-service stops serving the tables of a move under way when it cannot read this
-- view for a few seconds (a switch may have happened that it cannot see): `moving` says
-- which (operator_service/datasource.py, ROUTING_BLIND_AFTER).
create or replace view migration.routing as
select t.table_name, u.unit,
       case when u.state in ('reads_switched', 'writes_switched', 'finalized', 'dropped')
            then 'rds' else 'supabase' end as reads_from,
       case when u.state in ('writes_switched', 'finalized', 'dropped')
            then 'rds' else 'supabase' end as writes_to,
       u.shadow and u.state in ('replicating', 'reads_switched') as shadow,
       u.hold_until,
       u.state in ('copying', 'replicating', 'reads_switched', 'writes_switched') as moving
  from migration.units u cross join unnest(u.tables) as t (table_name);

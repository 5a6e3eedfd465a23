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

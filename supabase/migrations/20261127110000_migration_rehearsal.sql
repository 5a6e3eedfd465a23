-- A table to rehearse the move to RDS on the real servers before any operator data moves
-- (`python -m migrate ... rehearsal`): the same roles, row-level security, write fence and
-- routing as the operator tables, holding nothing anyone needs. Each signed-in operator may
-- keep rows of their own here; nothing in the product reads them.
create table if not exists public.migration_rehearsal (
  id         uuid primary key default gen_random_uuid(),
  owner      uuid not null default auth.uid(),
  note       text not null check (length(note) between 1 and 200),
  version    integer not null default 1 check (version >= 1),
  updated_at timestamptz not null default now()
);
alter table public.migration_rehearsal enable row level security;
revoke all on public.migration_rehearsal from anon, authenticated;
grant select, insert, update, delete on public.migration_rehearsal to authenticated;
drop policy if exists "operators use own rehearsal rows" on public.migration_rehearsal;
create policy "operators use own rehearsal rows" on public.migration_rehearsal
  for all to authenticated
  using (owner = (select auth.uid())) with check (owner = (select auth.uid()));

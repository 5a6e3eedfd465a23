-- Operators get the gate agents have (issue 10, item 4): anyone with the public anon key can
-- sign up to Supabase Auth, so a new operator's profile is `pending` until an administrator
-- approves it. Only an active operator publishes a package or confirms a booking
-- (operator-service and booking-service check it: a package and its operator's profile may
-- live in different databases while the tables move, so no constraint can); administrators
-- list, approve, suspend and reactivate operators. Who was an operator before the gate
-- existed stays active.

alter table public.users
  add column if not exists status text not null default 'pending'
    check (status in ('pending', 'active', 'suspended')),
  add column if not exists status_changed_at timestamptz,
  -- The administrator's Cognito sub.
  add column if not exists status_changed_by text;
update public.users set status = 'active';

-- An operator writes their own contact details, never their status.
revoke insert, update on public.users from authenticated;
grant insert (id, company_name, contact_email, contact_phone) on public.users to authenticated;
grant update (company_name, contact_email, contact_phone) on public.users to authenticated;

-- Administrators (Cognito group `admins`, checked by operator-service, which alone may
-- become this role) read every profile and change only its status.
do $$ begin
  if not exists (select from pg_roles where rolname = 'operator_admin') then
    create role operator_admin nologin noinherit;
  end if;
end $$;
grant operator_admin to operator_service;
grant usage on schema public to operator_admin;
grant select on public.users to operator_admin;
grant update (status, status_changed_at, status_changed_by) on public.users to operator_admin;
grant usage on schema migration to operator_admin;
grant execute on function migration.claim_writes(text[]) to operator_admin;

drop policy if exists "administrators read operators" on public.users;
create policy "administrators read operators" on public.users
  for select to operator_admin using (true);
drop policy if exists "administrators set operators' status" on public.users;
create policy "administrators set operators' status" on public.users
  for update to operator_admin using (true) with check (true);

create index if not exists users_status_idx on public.users (status, created_at);

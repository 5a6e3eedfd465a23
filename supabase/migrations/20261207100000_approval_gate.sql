-- The operators' approval gate in the database (issue 21, finding 5). Both databases: RDS
-- gets supabase/migrations from `python -m migrate start` (migrate/sql/rds_compat_*.sql).
--
-- 1. A package's status is written by operator-service alone. `authenticated` (what
--    supabase-js runs as through PostgREST) keeps every column but `status`: a draft it
--    inserts is a draft, and no UPDATE it sends, whatever columns, publishes, un-archives
--    or un-publishes. operator-service checks that the operator is active (their profile
--    may live in the other database while the tables move, so that check cannot be a
--    constraint here) and then becomes `package_publisher`, a role only its login role
--    holds, for the one statement that sets the status: publish a draft, archive a draft
--    or a published package, nothing else, only the caller's own packages.
-- 2. A suspended operator's packages leave the catalogue (the read policy of published
--    packages, so every reader: agents' listing and search, booking-service's lookup
--    before it books, and supabase-js), and none of their packages or parts can be
--    inserted, changed or deleted (restrictive policies). Reactivation brings them back as
--    they were: nothing is written to the packages on suspension, so their status,
--    contents and bookings are untouched. The suspended operators are read from `users`
--    on the database that serves the packages (a live replica on RDS from
--    `start operators` on; see docs/security.md, "Security model").
-- 3. Administrators see the sign-in e-mail the operator verified with Supabase Auth beside
--    the contact e-mail the operator typed.
--
-- The helper functions live in schema `private`, which PostgREST does not expose: a
-- supabase-js client cannot call them through the Data API (`rpc`).

create schema if not exists private;
revoke all on schema private from public;

do $$ begin
  if not exists (select from pg_roles where rolname = 'package_publisher') then
    create role package_publisher nologin noinherit;
  end if;
end $$;
grant package_publisher to operator_service;
grant usage on schema public, private to package_publisher;
grant usage on schema private to anon, authenticated, operator_admin;

-- Who is suspended, read once per statement (`(select private.suspended_operator_ids())`
-- in the policies is an init plan, not a call per row). SECURITY DEFINER: the callers may
-- not read other operators' profiles; this tells them one fact about them and no more.
create or replace function private.suspended_operator_ids() returns uuid[]
  language sql stable security definer set search_path = ''
as $$
  select coalesce(array_agg(id), '{}') from public.users where status = 'suspended'
$$;
revoke all on function private.suspended_operator_ids() from public;
grant execute on function private.suspended_operator_ids()
  to anon, authenticated, package_publisher;

-- 1. The status column ----------------------------------------------------------------------
-- Every column of the table but `status` (and those added after this migration, until a
-- migration grants them), as column privileges: a table-wide INSERT or UPDATE grant would
-- cover `status` too.
revoke insert, update on public.multi_city_hotel_packages from authenticated;
do $$
declare
  writable text;
begin
  select string_agg(quote_ident(attname), ', ' order by attnum) into writable
    from pg_attribute
   where attrelid = 'public.multi_city_hotel_packages'::regclass and attnum > 0
     and not attisdropped and attname <> 'status';
  execute format('grant insert (%s), update (%s) on public.multi_city_hotel_packages '
                 'to authenticated', writable, writable);
end $$;

grant select, update (status) on public.multi_city_hotel_packages to package_publisher;

drop policy if exists "operator-service sets the status of own packages"
  on public.multi_city_hotel_packages;
create policy "operator-service sets the status of own packages"
  on public.multi_city_hotel_packages for update to package_publisher
  using (operator_id = (select auth.uid()) and status in ('draft', 'published'))
  with check (operator_id = (select auth.uid()) and status in ('published', 'archived'));
drop policy if exists "operator-service reads own packages" on public.multi_city_hotel_packages;
create policy "operator-service reads own packages"
  on public.multi_city_hotel_packages for select to package_publisher
  using (operator_id = (select auth.uid()));

-- 2. Suspended operators ----------------------------------------------------------------------
drop policy if exists "anyone reads published packages" on public.multi_city_hotel_packages;
create policy "anyone reads published packages" on public.multi_city_hotel_packages
  for select to anon, authenticated
  using (status = 'published'
         and operator_id <> all ((select private.suspended_operator_ids())::uuid[]));
-- The parts' read policies look their package up through this policy, so a suspended
-- operator's stops, add-ons and exclusions leave with their packages.

do $$
declare
  t text;
  op text;
begin
  foreach t in array array['multi_city_hotel_packages', 'multi_city_hotel_package_cities',
                           'multi_city_hotel_package_addons',
                           'multi_city_hotel_package_exclusions'] loop
    foreach op in array array['insert', 'update', 'delete'] loop
      execute format('drop policy if exists %I on public.%I',
                     'suspended operators write nothing: ' || op, t);
      execute format(
        'create policy %I on public.%I as restrictive for %s to authenticated, package_publisher %s',
        'suspended operators write nothing: ' || op, t, op,
        case op
          when 'insert' then 'with check (not ((select auth.uid()) = any ((select private.suspended_operator_ids())::uuid[])))'
          when 'update' then 'using (not ((select auth.uid()) = any ((select private.suspended_operator_ids())::uuid[]))) with check (not ((select auth.uid()) = any ((select private.suspended_operator_ids())::uuid[])))'
          else 'using (not ((select auth.uid()) = any ((select private.suspended_operator_ids())::uuid[])))'
        end);
    end loop;
  end loop;
end $$;

-- 3. The verified sign-in e-mail, for administrators --------------------------------------------
-- Supabase Auth's own record of the account (auth.users), which the operator cannot write:
-- the address they signed up and confirmed with. On RDS there is no auth.users (the
-- identities are in Supabase Auth, then Cognito: operator_identities): the function
-- answers nothing there, and operator-service asks it on Supabase only. PL/pgSQL, so that
-- it can be created where auth.users lacks the columns.
create or replace function private.operator_sign_in_emails(ids uuid[])
  returns table (id uuid, email text, confirmed boolean)
  language plpgsql stable security definer set search_path = ''
as $$
begin
  if to_regclass('auth.users') is null or not exists (
       select from pg_attribute where attrelid = to_regclass('auth.users')
          and attname = 'email_confirmed_at' and not attisdropped) then
    return;
  end if;
  return query execute
    'select u.id, u.email::text, u.email_confirmed_at is not null
       from auth.users u where u.id = any($1)' using ids;
end
$$;
revoke all on function private.operator_sign_in_emails(uuid[]) from public;
grant execute on function private.operator_sign_in_emails(uuid[]) to operator_admin;

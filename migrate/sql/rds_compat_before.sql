-- Applied to RDS by `python -m migrate start` before supabase/migrations/, so that the
-- operator tables' migrations run on RDS unchanged: the parts of a Supabase project they
-- rely on (aws/migrations/011_operator_tables_migration.sql made the roles). Safe to run any
-- number of times.

grant usage on schema public to anon, authenticated;

create schema if not exists auth;
grant usage on schema auth to anon, authenticated;

-- The request's JWT claims, set per transaction by operator-service as PostgREST does on
-- Supabase; the definitions are Supabase's own (see devstack/supabase/bootstrap.sql).
create or replace function auth.uid() returns uuid
  language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role() returns text
  language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

grant execute on function auth.uid(), auth.role() to anon, authenticated;

-- supabase/migrations reference auth.users (Supabase Auth's table, which RDS does not have).
-- A placeholder lets them apply; rds_compat_after.sql removes it again.
do $$ begin
  if not exists (select from supabase_migrations.schema_migrations
                  where version = '20261125120000') then
    create table if not exists auth.users (id uuid primary key);
  end if;
end $$;

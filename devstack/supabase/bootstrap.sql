-- Prepare a plain PostgreSQL 15 database the way a Supabase project comes, so that the files
-- in supabase/migrations/ apply here exactly as on a real project, and so that the local
-- auth stand-in (devstack/supabase/auth_standin) finds GoTrue's tables.
--
--   psql -X -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f devstack/supabase/bootstrap.sql
--
-- Run it as a superuser, and as the role that will later apply the migrations: the default
-- privileges below are those of the role running this file. Safe to run any number of times.
-- Definitions follow github.com/supabase/postgres (roles, grants, auth.* functions) and
-- github.com/supabase/auth (the auth.* tables, trimmed to the columns the stand-in and our
-- migrations use).

begin;

-- Roles ---------------------------------------------------------------------------------
-- Created only when missing, never altered: provisioning may later give `authenticator`
-- and `supabase_auth_admin` a password and LOGIN, and a second run must not undo that.
do $$
begin
  if not exists (select from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticator') then
    create role authenticator noinherit nologin;
  end if;
  if not exists (select from pg_roles where rolname = 'supabase_auth_admin') then
    create role supabase_auth_admin noinherit nologin;
  end if;
end
$$;

grant anon, authenticated, service_role to authenticator;

-- Extensions ----------------------------------------------------------------------------
create schema if not exists extensions;
grant usage on schema extensions to anon, authenticated, service_role;

-- Supabase installs these into `extensions`; a server without contrib still bootstraps.
do $$
begin
  if exists (select from pg_available_extensions where name = 'pgcrypto') then
    create extension if not exists pgcrypto with schema extensions;
  else
    raise notice 'pgcrypto is not available on this server: skipped';
  end if;
  if exists (select from pg_available_extensions where name = 'uuid-ossp') then
    create extension if not exists "uuid-ossp" with schema extensions;
  else
    raise notice 'uuid-ossp is not available on this server: skipped';
  end if;
  -- As on every Supabase project: which role ran which statement (`python -m migrate plan`
  -- lists the writers of each table from it). Needs shared_preload_libraries.
  if exists (select from pg_available_extensions where name = 'pg_stat_statements')
     and current_setting('shared_preload_libraries') ~ 'pg_stat_statements' then
    create extension if not exists pg_stat_statements with schema extensions;
  else
    raise notice 'pg_stat_statements is not loaded on this server: skipped';
  end if;
end
$$;

-- Schema public: API roles get everything, row-level security decides which rows --------
grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public
  grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public
  grant all on sequences to anon, authenticated, service_role;
alter default privileges in schema public
  grant all on functions to anon, authenticated, service_role;

-- Schema auth ---------------------------------------------------------------------------
create schema if not exists auth authorization supabase_auth_admin;
alter schema auth owner to supabase_auth_admin;

create table if not exists auth.users (
  instance_id        uuid,
  id                 uuid not null primary key,
  aud                varchar(255),
  role               varchar(255),
  email              varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  last_sign_in_at    timestamptz,
  raw_app_meta_data  jsonb,
  raw_user_meta_data jsonb,
  is_super_admin     boolean,
  created_at         timestamptz,
  updated_at         timestamptz,
  phone              text unique default null,
  phone_confirmed_at timestamptz,
  -- GoTrue derives it the same way; nothing writes it directly.
  confirmed_at       timestamptz
                       generated always as (least(email_confirmed_at, phone_confirmed_at)) stored,
  banned_until       timestamptz,
  deleted_at         timestamptz,
  is_sso_user        boolean not null default false,
  is_anonymous       boolean not null default false
);
-- GoTrue's one-time codes (hashes only) for confirming a sign-up and recovering a password;
-- added to tables made before the stand-in sent them.
alter table auth.users add column if not exists confirmation_token   varchar(255);
alter table auth.users add column if not exists confirmation_sent_at timestamptz;
alter table auth.users add column if not exists recovery_token       varchar(255);
alter table auth.users add column if not exists recovery_sent_at     timestamptz;
create unique index if not exists users_email_lower_key
  on auth.users (lower(email)) where email is not null;
create index if not exists users_instance_id_idx on auth.users (instance_id);

-- Second factors (GoTrue's auth.mfa_factors, its columns that a user's JSON shows): the
-- stand-in enrolls none itself; they are seeded by SQL, so that what reads users (the
-- migration tool's plan) meets operators with MFA as on a real project.
create table if not exists auth.mfa_factors (
  id             uuid not null primary key,
  user_id        uuid not null references auth.users (id) on delete cascade,
  friendly_name  text,
  factor_type    text not null check (factor_type in ('totp', 'webauthn', 'phone')),
  status         text not null check (status in ('unverified', 'verified')),
  created_at     timestamptz not null default now(),
  updated_at     timestamptz not null default now()
);

create table if not exists auth.sessions (
  id         uuid not null primary key,
  user_id    uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz,
  updated_at timestamptz,
  aal        text,
  not_after  timestamptz
);
create index if not exists sessions_user_id_idx on auth.sessions (user_id);

create table if not exists auth.refresh_tokens (
  instance_id uuid,
  id          bigserial primary key,
  token       varchar(255) unique,
  user_id     varchar(255),
  revoked     boolean,
  created_at  timestamptz,
  updated_at  timestamptz,
  parent      varchar(255),
  session_id  uuid references auth.sessions (id) on delete cascade
);
create index if not exists refresh_tokens_session_id_revoked_idx
  on auth.refresh_tokens (session_id, revoked);
create index if not exists refresh_tokens_parent_idx on auth.refresh_tokens (parent);

-- The stand-in's rate limit counters (not a Supabase table: GoTrue keeps its counters in
-- memory); here, so that every worker of the stand-in counts the same requests.
create table if not exists auth.rate_limit_attempts (
  bucket       text not null,
  key          bytea not null,
  window_start timestamptz not null,
  attempts     integer not null,
  primary key (bucket, key, window_start)
);

alter table auth.users owner to supabase_auth_admin;
alter table auth.sessions owner to supabase_auth_admin;
alter table auth.refresh_tokens owner to supabase_auth_admin;

-- The request's JWT claims, as PostgREST (and our services) set them per transaction:
-- `request.jwt.claims` (jsonb text), or the legacy one-setting-per-claim `request.jwt.claim.*`.
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

create or replace function auth.email() returns text
  language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;

create or replace function auth.jwt() returns jsonb
  language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

alter function auth.uid() owner to supabase_auth_admin;
alter function auth.role() owner to supabase_auth_admin;
alter function auth.email() owner to supabase_auth_admin;
alter function auth.jwt() owner to supabase_auth_admin;

grant usage on schema auth to anon, authenticated, service_role;
grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt()
  to anon, authenticated, service_role;

commit;

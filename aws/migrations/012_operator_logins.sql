-- Operators' logins move from Supabase Auth to the operators' Cognito pool,
-- `tour-operators-pool` (docs/operator-logins.md).

-- A Cognito sub cannot be chosen, so each operators'-pool user is linked here to the id the
-- operator's rows are owned by (their Supabase user id). One Cognito user per operator, one
-- operator per Cognito user; a link is never changed.
create table if not exists operator_identities (
  cognito_sub  text primary key check (cognito_sub <> ''),
  operator_id  uuid not null unique,
  email        text not null check (email <> ''),
  -- `login`: the operator signed in (lazy migration, password kept); `import`: created by
  -- `python -m migrate import-logins operators` (password reset required).
  linked_via   text not null check (linked_via in ('login', 'import')),
  linked_at    timestamptz not null default now()
);

-- gateway-auth reads which issuers operators may use now, and nothing else.
do $$ begin
  if not exists (select from pg_roles where rolname = 'gateway_auth') then
    create role gateway_auth nologin;
  end if;
end $$;

-- The `operators` unit's state decides which issuers operators' tokens may come from
-- (shared/travel_platform/auth/operator_logins.py): every service and gateway-auth read this.
create or replace view migration.operators_state as
select coalesce((select state from migration.units where unit = 'operators'), 'new') as state;

grant usage on schema public to booking_service, operator_service, gateway_auth;
grant usage on schema migration to agent_service, booking_service, operator_service, gateway_auth;
grant select on migration.operators_state to agent_service, booking_service, operator_service,
  gateway_auth;
grant select on operator_identities to agent_service, booking_service, operator_service,
  gateway_auth;
-- Only operator-service links a sign-in (its login endpoint).
grant insert on operator_identities to operator_service;

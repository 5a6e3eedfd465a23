-- Travel agents (RDS travel_agent_db). agent-service connects as `agent_service`, which
-- may read and write these tables and nothing else. Its password is set by provisioning
-- (aws/scripts/provision.py) from Secrets Manager, never here.
do $$ begin
  if not exists (select from pg_roles where rolname = 'agent_service') then
    create role agent_service nologin;
  end if;
end $$;

create table if not exists travel_agents (
  id              uuid primary key default gen_random_uuid(),
  cognito_sub     text not null unique,
  email           text not null,
  agency_name     text not null check (length(agency_name) between 1 and 200),
  status          text not null default 'pending'
                    check (status in ('pending', 'active', 'suspended')),
  commission_rate numeric(5, 4) not null default 0.1000
                    check (commission_rate >= 0 and commission_rate <= 1),
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now()
);
create unique index if not exists travel_agents_email_key on travel_agents (lower(email));

revoke all on schema public from public;
grant usage on schema public to agent_service;
grant select, insert, update on travel_agents to agent_service;

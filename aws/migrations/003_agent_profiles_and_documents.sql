-- Travel agents' contact details and who last changed their status; their documents on S3
-- (the bytes live in the bucket, the row says what was declared and whether it arrived);
-- and updated_at kept by the database, so no code path can forget it.

alter table travel_agents
  add column if not exists phone text
    check (phone ~ '^\+[1-9][0-9]{6,14}$'),                 -- E.164
  add column if not exists country text
    check (country ~ '^[A-Z]{2}$'),                         -- ISO 3166-1 alpha-2
  add column if not exists status_changed_at timestamptz,
  add column if not exists status_changed_by text;          -- Cognito sub of the admin

-- The administrators' list: by status, oldest first.
create index if not exists travel_agents_status_idx on travel_agents (status, created_at, id);

create or replace function set_updated_at() returns trigger
language plpgsql as $$
begin
  -- An update that changes nothing keeps the old time.
  if new is distinct from old then
    new.updated_at := now();
  end if;
  return new;
end $$;

drop trigger if exists travel_agents_set_updated_at on travel_agents;
create trigger travel_agents_set_updated_at before update on travel_agents
  for each row execute function set_updated_at();

create table if not exists agent_documents (
  id           uuid primary key default gen_random_uuid(),
  -- Cascade: the demo seed replaces an agent row when the emulator gives the demo agent a
  -- new sub; whoever deletes an agent on real AWS also removes agents/<sub>/ from S3.
  agent_id     uuid not null references travel_agents (id) on delete cascade,
  s3_key       text not null unique check (length(s3_key) <= 1024),
  file_name    text not null check (length(file_name) between 1 and 255),
  content_type text not null
                 check (content_type in ('application/pdf', 'image/jpeg', 'image/png')),
  size_bytes   bigint not null check (size_bytes between 1 and 10485760),
  kind         text not null check (kind in ('licence', 'id', 'contract', 'other')),
  status       text not null default 'pending_upload'
                 check (status in ('pending_upload', 'uploaded')),
  uploaded_at  timestamptz,
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  check ((status = 'uploaded') = (uploaded_at is not null))
);
create index if not exists agent_documents_agent_idx on agent_documents (agent_id, created_at desc);

drop trigger if exists agent_documents_set_updated_at on agent_documents;
create trigger agent_documents_set_updated_at before update on agent_documents
  for each row execute function set_updated_at();

-- travel_agents keeps select, insert, update (001): agent rows are never deleted by the
-- service. Documents are deleted with their S3 object.
grant select, insert, update, delete on agent_documents to agent_service;

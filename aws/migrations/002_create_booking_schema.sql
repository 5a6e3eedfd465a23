-- Bookings live in their own schema, owned by booking-service's tables only.
do $$ begin
  if not exists (select from pg_roles where rolname = 'booking_service') then
    create role booking_service nologin;
  end if;
end $$;

create schema if not exists bookings;

create table if not exists bookings.bookings (
  id          uuid primary key default gen_random_uuid(),
  agent_sub   text not null,
  package_id  uuid not null,
  operator_id uuid not null,
  status      text not null default 'pending'
                check (status in ('pending', 'confirmed', 'declined', 'cancelled')),
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);
create index if not exists bookings_agent_idx on bookings.bookings (agent_sub, created_at desc);
create index if not exists bookings_operator_idx on bookings.bookings (operator_id, created_at desc);

grant usage on schema bookings to booking_service;
grant select, insert, update on bookings.bookings to booking_service;

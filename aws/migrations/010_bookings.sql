-- Bookings, their frozen prices, and seat counts per departure. 002's placeholder table
-- never held a booking (no route wrote to it), so it is replaced rather than altered.
drop table if exists bookings.bookings;

create table bookings.bookings (
  id                   uuid primary key default gen_random_uuid(),
  agent_sub            text not null,
  package_id           uuid not null,
  operator_id          uuid not null,
  departure_date       date not null,
  traveller_count      integer not null check (traveller_count between 1 and 50),
  travellers           jsonb not null,
  lead_traveller_name  text not null,
  lead_traveller_email text not null,
  addons               jsonb not null default '[]',
  price_breakdown      jsonb not null,
  total_price          numeric(12, 2) not null check (total_price >= 0),
  commission_rate      numeric(5, 4) not null check (commission_rate between 0 and 1),
  commission_amount    numeric(12, 2) not null check (commission_amount >= 0),
  currency             char(3) not null,
  status               text not null default 'pending'
                         check (status in ('pending', 'confirmed', 'declined', 'cancelled')),
  idempotency_key      text not null check (length(idempotency_key) between 1 and 200),
  request_fingerprint  text not null,
  created_at           timestamptz not null default now(),
  updated_at           timestamptz not null default now(),
  -- A retried POST with the same key finds the first booking instead of making a second.
  unique (agent_sub, idempotency_key)
);
create index bookings_agent_idx on bookings.bookings (agent_sub, created_at desc);
create index bookings_operator_idx on bookings.bookings (operator_id, created_at desc);

-- Seats taken per package and departure date. The check makes overbooking impossible
-- whatever the concurrency: each booking adds its seats in one upsert that locks the row.
create table bookings.departures (
  package_id     uuid not null,
  departure_date date not null,
  capacity       integer not null check (capacity >= 0),
  seats_taken    integer not null default 0 check (seats_taken >= 0),
  primary key (package_id, departure_date),
  constraint departures_within_capacity check (seats_taken <= capacity)
);

grant select, insert, update on bookings.bookings, bookings.departures to booking_service;

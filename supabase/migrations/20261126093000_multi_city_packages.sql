-- Multi-city hotel packages as operators sell them: price, traveller bounds, capacity and
-- bookable window on the package; its ordered stops, add-ons and exclusions in child
-- tables; an audit of every change to a published package. Row-level security as on any
-- Supabase project used from supabase-js: an operator reads and writes only their own rows
-- (child rows through their package), anyone reads published packages and their children.
--
-- Drafts may be incomplete, so the new package columns are nullable: what a package needs
-- before it is published is operator-service's rule (it answers 422 with what is missing).

-- Operator profile ------------------------------------------------------------------------
alter table public.users
  add column contact_phone text,
  -- Supabase accounts made with a phone number have no e-mail.
  alter column contact_email drop not null,
  add constraint users_contact_email_format
    check (length(contact_email) <= 254 and contact_email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
  add constraint users_contact_phone_format
    check (contact_phone ~ '^\+?[0-9][0-9 ()./-]{3,30}$');

-- Packages ----------------------------------------------------------------------------------
alter table public.multi_city_hotel_packages
  add column min_travellers         integer,
  add column max_travellers         integer,
  add column capacity_per_departure integer,
  add column first_departure_date   date,
  add column last_departure_date    date,
  add constraint multi_city_hotel_packages_description_length
    check (length(description) <= 5000),
  add constraint multi_city_hotel_packages_currency_format check (currency ~ '^[A-Z]{3}$'),
  -- bookings.bookings allows 1 to 50 travellers per booking.
  add constraint multi_city_hotel_packages_min_travellers check (min_travellers between 1 and 50),
  add constraint multi_city_hotel_packages_max_travellers check (max_travellers between 1 and 50),
  add constraint multi_city_hotel_packages_traveller_bounds
    check (max_travellers >= min_travellers),
  add constraint multi_city_hotel_packages_capacity
    check (capacity_per_departure between 1 and 10000),
  add constraint multi_city_hotel_packages_max_within_capacity
    check (max_travellers <= capacity_per_departure),
  add constraint multi_city_hotel_packages_window
    check (last_departure_date >= first_departure_date);

create index multi_city_hotel_packages_published_price_idx
  on public.multi_city_hotel_packages (price_per_traveller) where status = 'published';
create index multi_city_hotel_packages_published_window_idx
  on public.multi_city_hotel_packages (first_departure_date, last_departure_date)
  where status = 'published';

-- Stops, in travel order. Positions are 1..n; the unique key is checked at the end of each
-- statement so that inserting a stop in the middle can shift the later ones in one update.
create table public.multi_city_hotel_package_cities (
  id          uuid primary key default gen_random_uuid(),
  package_id  uuid not null references public.multi_city_hotel_packages (id) on delete cascade,
  position    integer not null check (position between 1 and 30),
  city        text not null check (length(city) between 1 and 100),
  country     text not null check (country ~ '^[A-Z]{2}$'),   -- ISO 3166-1 alpha-2
  nights      integer not null check (nights between 1 and 60),
  hotel_name  text not null check (length(hotel_name) between 1 and 200),
  star_rating smallint not null check (star_rating between 1 and 5),
  created_at  timestamptz not null default now(),
  constraint multi_city_hotel_package_cities_position_key
    unique (package_id, position) deferrable initially immediate
);
create index multi_city_hotel_package_cities_city_idx
  on public.multi_city_hotel_package_cities (lower(city));
create index multi_city_hotel_package_cities_country_idx
  on public.multi_city_hotel_package_cities (country);

create table public.multi_city_hotel_package_addons (
  id         uuid primary key default gen_random_uuid(),
  package_id uuid not null references public.multi_city_hotel_packages (id) on delete cascade,
  position   integer not null check (position between 1 and 30),
  name       text not null check (length(name) between 1 and 200),
  price      numeric(12, 2) not null check (price >= 0),
  pricing    text not null check (pricing in ('per_traveller', 'per_booking')),
  created_at timestamptz not null default now(),
  constraint multi_city_hotel_package_addons_position_key
    unique (package_id, position) deferrable initially immediate
);

create table public.multi_city_hotel_package_exclusions (
  id         uuid primary key default gen_random_uuid(),
  package_id uuid not null references public.multi_city_hotel_packages (id) on delete cascade,
  position   integer not null check (position between 1 and 50),
  text       text not null check (length(text) between 1 and 500),
  created_at timestamptz not null default now(),
  constraint multi_city_hotel_package_exclusions_position_key
    unique (package_id, position) deferrable initially immediate
);

-- Audit of published packages: written by the triggers below, never by a client.
create table public.multi_city_hotel_package_changes (
  id         bigint generated always as identity primary key,
  package_id uuid not null references public.multi_city_hotel_packages (id) on delete cascade,
  changed_at timestamptz not null default now(),
  changed_by uuid,               -- auth.uid() of the writer; null for admin and seed scripts
  change     jsonb not null
);
create index multi_city_hotel_package_changes_package_idx
  on public.multi_city_hotel_package_changes (package_id, id desc);

-- updated_at -------------------------------------------------------------------------------
create or replace function public.set_updated_at() returns trigger
  language plpgsql
as $$
begin
  new.updated_at := now();
  return new;
end
$$;

create trigger users_set_updated_at before update on public.users
  for each row execute function public.set_updated_at();
create trigger multi_city_hotel_packages_set_updated_at
  before update on public.multi_city_hotel_packages
  for each row execute function public.set_updated_at();

-- Audit triggers ---------------------------------------------------------------------------
-- SECURITY DEFINER so that they write the audit table, which clients may only read; they
-- see only rows the caller's statement already changed, so they widen nobody's access.

-- A package update is recorded when the package is or becomes published: the fields that
-- changed, old and new (updated_at alone is not a change).
create or replace function public.multi_city_hotel_packages_audit() returns trigger
  language plpgsql security definer set search_path = ''
as $$
begin
  insert into public.multi_city_hotel_package_changes (package_id, changed_by, change)
  select n.id, auth.uid(),
         jsonb_build_object('table', tg_table_name, 'operation', 'update', 'fields', diff.fields)
    from old_rows o
    join new_rows n on n.id = o.id
   cross join lateral (
     select jsonb_object_agg(ov.key, jsonb_build_object('old', ov.value, 'new', nv.value)) as fields
       from jsonb_each(to_jsonb(o)) ov
       join jsonb_each(to_jsonb(n)) nv on nv.key = ov.key
      where ov.value is distinct from nv.value and ov.key <> 'updated_at') diff
   where (o.status = 'published' or n.status = 'published') and diff.fields is not null;
  return null;
end
$$;

create trigger multi_city_hotel_packages_audit after update on public.multi_city_hotel_packages
  referencing old table as old_rows new table as new_rows
  for each statement execute function public.multi_city_hotel_packages_audit();

-- A change to stops, add-ons or exclusions bumps the package's updated_at, and is recorded
-- (one row per package and statement) when the package is published.
create or replace function public.multi_city_hotel_package_parts_audit() returns trigger
  language plpgsql security definer set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    insert into public.multi_city_hotel_package_changes (package_id, changed_by, change)
    select r.package_id, auth.uid(),
           jsonb_build_object('table', tg_table_name, 'operation', 'insert',
                              'new', jsonb_agg(to_jsonb(r) - 'package_id' order by r.position))
      from new_rows r
      join public.multi_city_hotel_packages p on p.id = r.package_id and p.status = 'published'
     group by r.package_id;
    update public.multi_city_hotel_packages set updated_at = now()
     where id in (select package_id from new_rows);
  elsif tg_op = 'DELETE' then
    insert into public.multi_city_hotel_package_changes (package_id, changed_by, change)
    select r.package_id, auth.uid(),
           jsonb_build_object('table', tg_table_name, 'operation', 'delete',
                              'old', jsonb_agg(to_jsonb(r) - 'package_id' order by r.position))
      from old_rows r
      join public.multi_city_hotel_packages p on p.id = r.package_id and p.status = 'published'
     group by r.package_id;
    update public.multi_city_hotel_packages set updated_at = now()
     where id in (select package_id from old_rows);
  else
    insert into public.multi_city_hotel_package_changes (package_id, changed_by, change)
    select n.package_id, auth.uid(),
           jsonb_build_object('table', tg_table_name, 'operation', 'update',
                              'old', jsonb_agg(to_jsonb(o) - 'package_id' order by o.position),
                              'new', jsonb_agg(to_jsonb(n) - 'package_id' order by n.position))
      from new_rows n
      join old_rows o on o.id = n.id
      join public.multi_city_hotel_packages p on p.id = n.package_id and p.status = 'published'
     where to_jsonb(o) is distinct from to_jsonb(n)
     group by n.package_id;
    update public.multi_city_hotel_packages set updated_at = now()
     where id in (select package_id from new_rows union select package_id from old_rows);
  end if;
  return null;
end
$$;

create trigger multi_city_hotel_package_cities_audit_insert
  after insert on public.multi_city_hotel_package_cities referencing new table as new_rows
  for each statement execute function public.multi_city_hotel_package_parts_audit();
create trigger multi_city_hotel_package_cities_audit_update
  after update on public.multi_city_hotel_package_cities
  referencing old table as old_rows new table as new_rows
  for each statement execute function public.multi_city_hotel_package_parts_audit();
create trigger multi_city_hotel_package_cities_audit_delete
  after delete on public.multi_city_hotel_package_cities referencing old table as old_rows
  for each statement execute function public.multi_city_hotel_package_parts_audit();

create trigger multi_city_hotel_package_addons_audit_insert
  after insert on public.multi_city_hotel_package_addons referencing new table as new_rows
  for each statement execute function public.multi_city_hotel_package_parts_audit();
create trigger multi_city_hotel_package_addons_audit_update
  after update on public.multi_city_hotel_package_addons
  referencing old table as old_rows new table as new_rows
  for each statement execute function public.multi_city_hotel_package_parts_audit();
create trigger multi_city_hotel_package_addons_audit_delete
  after delete on public.multi_city_hotel_package_addons referencing old table as old_rows
  for each statement execute function public.multi_city_hotel_package_parts_audit();

create trigger multi_city_hotel_package_exclusions_audit_insert
  after insert on public.multi_city_hotel_package_exclusions referencing new table as new_rows
  for each statement execute function public.multi_city_hotel_package_parts_audit();
create trigger multi_city_hotel_package_exclusions_audit_update
  after update on public.multi_city_hotel_package_exclusions
  referencing old table as old_rows new table as new_rows
  for each statement execute function public.multi_city_hotel_package_parts_audit();
create trigger multi_city_hotel_package_exclusions_audit_delete
  after delete on public.multi_city_hotel_package_exclusions referencing old table as old_rows
  for each statement execute function public.multi_city_hotel_package_parts_audit();

revoke execute on function public.multi_city_hotel_packages_audit(),
  public.multi_city_hotel_package_parts_audit() from public, anon, authenticated;

-- Grants -----------------------------------------------------------------------------------
-- Supabase's default privileges give anon and authenticated ALL on new tables, including
-- TRUNCATE, which row-level security does not govern: grant only what each role needs.
revoke all on public.users, public.multi_city_hotel_packages,
  public.multi_city_hotel_package_cities, public.multi_city_hotel_package_addons,
  public.multi_city_hotel_package_exclusions, public.multi_city_hotel_package_changes
  from anon, authenticated;
grant select on public.multi_city_hotel_packages, public.multi_city_hotel_package_cities,
  public.multi_city_hotel_package_addons, public.multi_city_hotel_package_exclusions to anon;
grant select, insert, update, delete on public.users, public.multi_city_hotel_packages,
  public.multi_city_hotel_package_cities, public.multi_city_hotel_package_addons,
  public.multi_city_hotel_package_exclusions to authenticated;
grant select on public.multi_city_hotel_package_changes to authenticated;

-- Row-level security -----------------------------------------------------------------------
-- `(select auth.uid())` is evaluated once per statement rather than once per row.
alter table public.multi_city_hotel_package_cities enable row level security;
alter table public.multi_city_hotel_package_addons enable row level security;
alter table public.multi_city_hotel_package_exclusions enable row level security;
alter table public.multi_city_hotel_package_changes enable row level security;

drop policy "operators manage own packages" on public.multi_city_hotel_packages;
create policy "operators manage own packages" on public.multi_city_hotel_packages
  for all to authenticated
  using (operator_id = (select auth.uid())) with check (operator_id = (select auth.uid()));

-- Child rows: readable with a published package, writable with one's own package. The
-- package lookup is itself filtered by the packages' policies above.
create policy "anyone reads stops of published packages"
  on public.multi_city_hotel_package_cities for select to anon, authenticated
  using (exists (select 1 from public.multi_city_hotel_packages p
                  where p.id = multi_city_hotel_package_cities.package_id
                    and p.status = 'published'));
create policy "operators manage stops of own packages"
  on public.multi_city_hotel_package_cities for all to authenticated
  using (exists (select 1 from public.multi_city_hotel_packages p
                  where p.id = multi_city_hotel_package_cities.package_id
                    and p.operator_id = (select auth.uid())))
  with check (exists (select 1 from public.multi_city_hotel_packages p
                       where p.id = multi_city_hotel_package_cities.package_id
                         and p.operator_id = (select auth.uid())));

create policy "anyone reads add-ons of published packages"
  on public.multi_city_hotel_package_addons for select to anon, authenticated
  using (exists (select 1 from public.multi_city_hotel_packages p
                  where p.id = multi_city_hotel_package_addons.package_id
                    and p.status = 'published'));
create policy "operators manage add-ons of own packages"
  on public.multi_city_hotel_package_addons for all to authenticated
  using (exists (select 1 from public.multi_city_hotel_packages p
                  where p.id = multi_city_hotel_package_addons.package_id
                    and p.operator_id = (select auth.uid())))
  with check (exists (select 1 from public.multi_city_hotel_packages p
                       where p.id = multi_city_hotel_package_addons.package_id
                         and p.operator_id = (select auth.uid())));

create policy "anyone reads exclusions of published packages"
  on public.multi_city_hotel_package_exclusions for select to anon, authenticated
  using (exists (select 1 from public.multi_city_hotel_packages p
                  where p.id = multi_city_hotel_package_exclusions.package_id
                    and p.status = 'published'));
create policy "operators manage exclusions of own packages"
  on public.multi_city_hotel_package_exclusions for all to authenticated
  using (exists (select 1 from public.multi_city_hotel_packages p
                  where p.id = multi_city_hotel_package_exclusions.package_id
                    and p.operator_id = (select auth.uid())))
  with check (exists (select 1 from public.multi_city_hotel_packages p
                       where p.id = multi_city_hotel_package_exclusions.package_id
                         and p.operator_id = (select auth.uid())));

create policy "operators read changes of own packages"
  on public.multi_city_hotel_package_changes for select to authenticated
  using (exists (select 1 from public.multi_city_hotel_packages p
                  where p.id = multi_city_hotel_package_changes.package_id
                    and p.operator_id = (select auth.uid())));

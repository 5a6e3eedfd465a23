-- Tour operators and their packages. Row-level security decides who sees what, as on any
-- Supabase project used from supabase-js; operator-service runs each query as the caller.

create table if not exists public.users (
  id            uuid primary key references auth.users (id) on delete cascade,
  company_name  text not null check (length(company_name) between 1 and 200),
  contact_email text not null,
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now()
);

create table if not exists public.multi_city_hotel_packages (
  id                  uuid primary key default gen_random_uuid(),
  operator_id         uuid not null references public.users (id) on delete cascade,
  title               text not null check (length(title) between 1 and 200),
  description         text not null default '',
  status              text not null default 'draft'
                        check (status in ('draft', 'published', 'archived')),
  price_per_traveller numeric(12, 2) check (price_per_traveller >= 0),
  currency            char(3) not null default 'EUR',
  created_at          timestamptz not null default now(),
  updated_at          timestamptz not null default now()
);
create index if not exists multi_city_hotel_packages_operator_idx
  on public.multi_city_hotel_packages (operator_id);
create index if not exists multi_city_hotel_packages_published_idx
  on public.multi_city_hotel_packages (created_at desc) where status = 'published';

grant select, insert, update, delete on public.users, public.multi_city_hotel_packages
  to authenticated;
grant select on public.multi_city_hotel_packages to anon;

alter table public.users enable row level security;
alter table public.multi_city_hotel_packages enable row level security;

drop policy if exists "operators read own profile" on public.users;
create policy "operators read own profile" on public.users
  for select to authenticated using (id = auth.uid());
drop policy if exists "operators write own profile" on public.users;
create policy "operators write own profile" on public.users
  for all to authenticated using (id = auth.uid()) with check (id = auth.uid());

drop policy if exists "anyone reads published packages" on public.multi_city_hotel_packages;
create policy "anyone reads published packages" on public.multi_city_hotel_packages
  for select to anon, authenticated using (status = 'published');
drop policy if exists "operators manage own packages" on public.multi_city_hotel_packages;
create policy "operators manage own packages" on public.multi_city_hotel_packages
  for all to authenticated using (operator_id = auth.uid()) with check (operator_id = auth.uid());

-- operator-service's login role holds no table rights of its own: it can only become
-- `anon` or `authenticated`, like Supabase's `authenticator`.
do $$ begin
  if not exists (select from pg_roles where rolname = 'operator_service') then
    create role operator_service nologin noinherit;
  end if;
end $$;
grant anon, authenticated to operator_service;

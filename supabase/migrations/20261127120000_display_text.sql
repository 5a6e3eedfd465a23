-- Text people read holds no control characters, line breaks or bidirectional controls
-- (a title with U+202E displays backwards): the rule of shared/travel_platform/text.py, kept by
-- the database too. aws/migrations/013_display_text.sql makes the same
-- public.is_display_text on RDS: keep the two equal. Descriptions may span lines.
create or replace function public.is_display_text(value text, multiline boolean default false)
  returns boolean language sql immutable parallel safe
  return value !~ ('[' || case when multiline then '\u0001-\u0008\u000b-\u001f' else '\u0001-\u001f' end
                   || '\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]');

-- Rows written before the rule: what it refuses becomes U+FFFD, visible rather than silently
-- dropped (a description keeps its line breaks), so that the constraints below hold.
create or replace function pg_temp.displayable(value text, multiline boolean default false)
  returns text language sql immutable
  return (select string_agg(case when public.is_display_text(c, multiline) then c else U&'\FFFD' end,
                            '' order by n) from regexp_split_to_table(value, '') with ordinality t (c, n));

update public.users set company_name = pg_temp.displayable(company_name)
 where not public.is_display_text(company_name);
update public.multi_city_hotel_packages
   set title = pg_temp.displayable(title), description = pg_temp.displayable(description, true)
 where not public.is_display_text(title) or not public.is_display_text(description, true);
update public.multi_city_hotel_package_cities
   set city = pg_temp.displayable(city), hotel_name = pg_temp.displayable(hotel_name)
 where not public.is_display_text(city) or not public.is_display_text(hotel_name);
update public.multi_city_hotel_package_addons set name = pg_temp.displayable(name)
 where not public.is_display_text(name);
update public.multi_city_hotel_package_exclusions set text = pg_temp.displayable(text)
 where not public.is_display_text(text);

alter table public.users
  add constraint users_company_name_display check (public.is_display_text(company_name));
alter table public.multi_city_hotel_packages
  add constraint multi_city_hotel_packages_title_display check (public.is_display_text(title)),
  add constraint multi_city_hotel_packages_description_display
    check (public.is_display_text(description, true));
alter table public.multi_city_hotel_package_cities
  add constraint multi_city_hotel_package_cities_display
    check (public.is_display_text(city) and public.is_display_text(hotel_name));
alter table public.multi_city_hotel_package_addons
  add constraint multi_city_hotel_package_addons_name_display
    check (public.is_display_text(name));
alter table public.multi_city_hotel_package_exclusions
  add constraint multi_city_hotel_package_exclusions_text_display
    check (public.is_display_text(text));

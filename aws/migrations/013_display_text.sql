-- Text people read holds no control characters, line breaks or bidirectional controls
-- (`licence\u202efdp.exe` shows as `licenceexe.pdf`): the rule of shared/travel_platform/text.py,
-- kept by the database too. supabase/migrations/20261127120000_display_text.sql makes the
-- same public.is_display_text (the operator tables move here with it): keep the two equal.
create or replace function public.is_display_text(value text, multiline boolean default false)
  returns boolean language sql immutable parallel safe
  return value !~ ('[' || case when multiline then '\u0001-\u0008\u000b-\u001f' else '\u0001-\u001f' end
                   || '\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]');

-- The `full_name` of each person in a jsonb array (a booking's travellers).
-- (SQL-standard bodies are bound when made: booking_service calls them without any access
-- to schema public.)
create or replace function public.are_display_names(people jsonb)
  returns boolean language sql immutable parallel safe
  return (select coalesce(bool_and(public.is_display_text(person ->> 'full_name')), true)
            from jsonb_array_elements(people) as person);

-- Rows written before the rule: what it refuses becomes U+FFFD, visible rather than silently
-- dropped, so that the constraints below hold for every row.
create or replace function pg_temp.displayable(value text, multiline boolean default false)
  returns text language sql immutable
  return (select string_agg(case when public.is_display_text(c, multiline) then c else U&'\FFFD' end,
                            '' order by n) from regexp_split_to_table(value, '') with ordinality t (c, n));

update travel_agents set agency_name = pg_temp.displayable(agency_name)
 where not public.is_display_text(agency_name);
update agent_documents set file_name = pg_temp.displayable(file_name)
 where not public.is_display_text(file_name);
update bookings.bookings
   set lead_traveller_name = pg_temp.displayable(lead_traveller_name),
       travellers = (select jsonb_agg(case when person ? 'full_name'
                                           then jsonb_set(person, '{full_name}', to_jsonb(
                                                  pg_temp.displayable(person ->> 'full_name')))
                                           else person end order by n)
                       from jsonb_array_elements(travellers) with ordinality as t (person, n))
 where not public.is_display_text(lead_traveller_name)
    or not public.are_display_names(travellers);

alter table travel_agents
  add constraint travel_agents_agency_name_display check (public.is_display_text(agency_name));
alter table agent_documents
  add constraint agent_documents_file_name_display check (public.is_display_text(file_name));
alter table bookings.bookings
  add constraint bookings_lead_traveller_name_display
    check (public.is_display_text(lead_traveller_name)),
  add constraint bookings_traveller_names_display check (public.are_display_names(travellers));

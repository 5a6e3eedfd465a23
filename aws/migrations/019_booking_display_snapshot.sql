-- What a booking shows of its package (title, stops) and of its agent (agency name), kept
-- on the booking itself, with when the owning service last told it, so that a bookings page
-- is one query of booking-service's own database and asks the other services only for rows
-- whose copy is older than the freshness bound (booking_service/display.py; the bound is
-- DISPLAY_MAX_AGE_SECONDS). A booking is made with both copies; rows made before this
-- migration have none (null *_seen_at: stale) and are filled the first time they are read.
alter table bookings.bookings
  add column package_title   text,
  add column package_stops   jsonb,
  add column package_seen_at timestamptz,
  add column agency_name     text,
  add column agency_seen_at  timestamptz,
  add constraint bookings_package_title_display check (public.is_display_text(package_title)),
  add constraint bookings_agency_name_display check (public.is_display_text(agency_name));

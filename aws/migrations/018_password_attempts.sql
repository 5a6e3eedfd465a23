-- Failed password attempts are counted per account AND client address, with a ceiling per
-- account across addresses (shared/travel_platform/rate_limits.password_attempt): buckets
-- '<flow>' (key: SHA-256 of e-mail and address) and '<flow>_all' (key: SHA-256 of the
-- e-mail). Agents' logins ('login', 'login_all'), and operators' logins and password changes,
-- which operator-service now limits too, before Supabase Auth is asked anything.
alter table account_attempts drop constraint if exists account_attempts_bucket_check;
alter table account_attempts add constraint account_attempts_bucket_check check (bucket in (
  'signup', 'confirm', 'login', 'login_all', 'refresh',
  'operator_login', 'operator_login_all', 'operator_password', 'operator_password_all'));

grant select, insert, update, delete on account_attempts to operator_service;

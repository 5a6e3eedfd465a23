-- Attempts at the account flows (sign-up, confirmation, login, refresh) per account, in
-- fixed windows: agent-service refuses an account's attempts beyond its limit with a 429.
-- Here, not in each worker's memory, so every worker and every instance counts the same
-- attempts. The account is a SHA-256 (of the lower-cased e-mail, or of the refresh token):
-- the table names no one and holds no token.
-- (bucket: the flow; key: the account; the shape shared/travel_platform/rate_limits.py counts in.)
create table if not exists account_attempts (
  bucket       text not null check (bucket in ('signup', 'confirm', 'login', 'refresh')),
  key          bytea not null check (length(key) = 32),
  window_start timestamptz not null,
  attempts     integer not null check (attempts > 0),
  primary key (bucket, key, window_start)
);
create index if not exists account_attempts_window_idx on account_attempts (window_start);

grant select, insert, update, delete on account_attempts to agent_service;

-- Applied to RDS by `python -m migrate start` after supabase/migrations/.
--
-- The foreign key public.users.id -> auth.users.id cannot exist on RDS: the identities live
-- in Supabase Auth (and, after the auth move, in Cognito), not in this database. What stands
-- in for it: the RLS policy "operators write own profile" (`with check (id = auth.uid())`),
-- so a profile can only be created by the verified identity it belongs to, and the
-- account-deletion path of the auth move, which deletes the profile with the account.
drop table if exists auth.users cascade;

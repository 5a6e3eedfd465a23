-- Administrators see the e-mail of an operator's operators'-pool (Cognito) user beside the
-- contact e-mail the operator typed (issue 21, finding 5): operator-service reads it from
-- operator_identities as `operator_admin`, the role it becomes for administrators
-- (supabase/migrations/20261127130000_operator_approval.sql makes it on Supabase; roles
-- here are this server's own). Only those two columns, only reading.
do $$ begin
  if not exists (select from pg_roles where rolname = 'operator_admin') then
    create role operator_admin nologin noinherit;
  end if;
end $$;
grant operator_admin to operator_service;
grant usage on schema public to operator_admin;
grant select (operator_id, email) on operator_identities to operator_admin;

"""What a real Supabase project has and the local stack must stand in for: the database
preparation (bootstrap.sql) and the Auth stand-in (auth_standin). Local only: nothing here
is deployed (see README.md)."""

"""`python -m migrate`: move the operator tables from Supabase to RDS with no downtime and
nothing lost (phase 4 of docs/migration-strategy.txt). See the README, "Moving off
Supabase"."""

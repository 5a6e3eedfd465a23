"""`python -m migrate`: move the operator tables from Supabase to RDS with no downtime and
nothing lost (phase 4 of docs/migration-strategy.md). The runbook:
docs/migration-runbook.md."""

"""The local stack: two PostgreSQL servers, moto, a Supabase Auth stand-in, the three
services under gunicorn and nginx as the gateway, started and stopped by one command
(`python -m devstack up|down|status`). Tests, benchmarks and tools use `devstack.api`; the
other modules are its inside."""

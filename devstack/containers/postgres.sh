#!/bin/sh
# PostgreSQL 15 of the local stack (the Supabase project's database, or RDS): made once in
# the data volume with the superuser password and TLS certificate the stack's secrets job
# wrote, then run as RDS and Supabase run theirs: TLS only, SCRAM passwords, logical
# replication on (the operator tables move from one to the other), settings as devstack's.
set -eu
: "${POSTGRES_PASSWORD_FILE:?set POSTGRES_PASSWORD_FILE to the superuser password file}"
: "${TLS_DIR:?set TLS_DIR to the folder with server.crt and server.key}"
DATA=/var/lib/postgresql/data/pgdata
if [ ! -s "$DATA/PG_VERSION" ]; then
    initdb -D "$DATA" -U postgres --pwfile="$POSTGRES_PASSWORD_FILE" --auth-local=peer \
        --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
    printf '%s\n' "# TLS and a password for TCP, like RDS and Supabase." \
        "local   all  all                peer" \
        "hostssl all  all  0.0.0.0/0     scram-sha-256" \
        "hostssl all  all  ::/0          scram-sha-256" > "$DATA/pg_hba.conf"
    cp "$TLS_DIR/server.crt" "$TLS_DIR/server.key" "$DATA/"
    chmod 0600 "$DATA/server.key"
fi
exec postgres -D "$DATA" -c listen_addresses='*' -c port="${PGPORT:-5432}" \
    -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key \
    -c fsync=off -c full_page_writes=off -c max_connections=200 \
    -c wal_level=logical -c max_replication_slots=20 -c max_wal_senders=20 \
    -c max_logical_replication_workers=8 -c max_worker_processes=16 \
    -c max_sync_workers_per_subscription=4 -c wal_retrieve_retry_interval=200ms "$@"

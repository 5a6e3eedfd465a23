#!/bin/sh
# Every Python image's entrypoint. A part is configured by its environment alone. A local
# stack knows some values only once it runs (the pool and client ids moto makes), so its
# setup job writes them to a file, and docker-compose.yml names that file here; on AWS the
# task definition sets the variables and STACK_ENV_FILE is unset. Variables already set
# win over the file. Then the command is exec'd: it is PID 1 and gets the stop signal.
set -eu
if [ -n "${STACK_ENV_FILE:-}" ]; then
    if [ ! -r "$STACK_ENV_FILE" ]; then
        echo "entrypoint: STACK_ENV_FILE=$STACK_ENV_FILE is not readable; did the setup job run?" >&2
        exit 78
    fi
    tmp=$(mktemp)
    export -p > "$tmp"
    set -a
    . "$STACK_ENV_FILE"
    set +a
    . "$tmp"
    rm -f "$tmp"
fi
exec "$@"

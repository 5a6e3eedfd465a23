#!/usr/bin/env bash
# `make compose-up`, `make compose-down`: docker-compose.yml with the engine engine.sh found.
#   compose.sh up     start (or keep) every part; return once the gateway answers and the
#                     setup and seed jobs have written .compose/stack.env
#   compose.sh down   stop and remove the containers; the named volumes (the data) stay
set -euo pipefail
cd "$(dirname "$0")/../.."
COMPOSE=${COMPOSE:-$(devstack/containers/engine.sh)}
export PWD
# One name wherever the checkout lives (volumes are named after it).
export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-travel-platform}
fail() {
    echo "[compose] $1; the parts and their last log lines:" >&2
    $COMPOSE ps >&2 || true
    $COMPOSE logs --tail=30 >&2 || true
    exit 1
}
case "${1:-}" in
up)
    mkdir -p .compose
    rm -f .compose/stack.env
    $COMPOSE up -d --no-build --remove-orphans
    for _ in $(seq "${COMPOSE_WAIT_SECONDS:-300}"); do
        # A one-shot job that failed stops everything that waits for it.
        for job in stack-init stack-setup stack-seed; do
            id=$($COMPOSE ps -q "$job" 2>/dev/null || true)
            if [ -n "$id" ]; then
                state=$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$id")
                [ "$state" = "exited 0" ] || [ "${state%% *}" != exited ] || fail "$job failed ($state)"
            fi
        done
        if [ -s .compose/stack.env ] && curl -fsS -o /dev/null "http://127.0.0.1:${GATEWAY_PORT:-8080}/health"; then
            echo "[compose] up: gateway http://127.0.0.1:${GATEWAY_PORT:-8080}, settings and demo logins in .compose/stack.env"
            exit 0
        fi
        sleep 1
    done
    fail "not up after ${COMPOSE_WAIT_SECONDS:-300} s"
    ;;
down)
    $COMPOSE down --remove-orphans
    ;;
*)
    echo "usage: $0 up|down" >&2; exit 2
    ;;
esac

#!/usr/bin/env bash
# Make sure the machine has the programs the local stack runs (not Python packages:
# those go into .venv). On Debian as root they are installed; elsewhere we say what to install.
set -euo pipefail
missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
# njs: the gateway counts header fields (gateway/request_checks.js); set-misc (it brings the
# development kit): the gateway digests the token its limits and verdict cache are keyed on.
[ -f /usr/lib/nginx/modules/ngx_http_js_module.so ] || missing+=(libnginx-mod-http-js)
[ -f /usr/lib/nginx/modules/ngx_http_set_misc_module.so ] || missing+=(libnginx-mod-http-set-misc)
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql-15)
# Monitoring (devstack/monitoring.py); promtool comes with prometheus.
for prog in prometheus prometheus-postgres-exporter prometheus-nginx-exporter; do
    command -v "$prog" >/dev/null 2>&1 || missing+=("$prog")
done
# `make test`: the dashboard's browser tests drive Debian's chromium (Playwright with
# executable_path: no browser download); a font, so that pages render text as people see it.
if [ "${WITH_BROWSER:-0}" = 1 ]; then
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    [ -d /usr/share/fonts/truetype/liberation ] || missing+=(fonts-liberation)
fi
# Benchmarks: wrk for load; valgrind counts nginx's instructions per request
# (bench/gateway_instructions.py, whose budget `make test` checks).
if [ "${WITH_BENCH:-0}" = 1 ]; then
    command -v wrk >/dev/null 2>&1 || missing+=(wrk)
    command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[system-deps] installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian starts nginx's default site on port 80 when installing it; we run our own.
    # The same for the monitoring packages' own services (9090, 9113, 9187): the stack runs its own.
    if command -v service >/dev/null 2>&1; then
        for svc in nginx prometheus prometheus-postgres-exporter prometheus-nginx-exporter; do
            service "$svc" stop >/dev/null 2>&1 || true
        done
    fi
    exit 0
fi
echo "Missing programs: ${missing[*]}" >&2
echo "Install them (Debian/Ubuntu: sudo apt-get install ${missing[*]}), then run make again." >&2
exit 1

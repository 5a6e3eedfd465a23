#!/usr/bin/env bash
# A container engine and compose for `make images` / `make compose-up`: kept if present
# (Docker with Compose v2 or docker-compose); on Debian as root without one, Debian's
# docker.io and docker-compose are installed and dockerd is started by hand (no systemd
# needed). Prints the compose command to use.
set -euo pipefail
say() { echo "[engine] $*" >&2; }
if ! command -v dockerd >/dev/null 2>&1 && ! docker info >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing docker.io, docker-compose, iptables"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends docker.io docker-compose iptables >/dev/null
    else
        say "no container engine: install Docker (with Compose v2) and run make again"; exit 1
    fi
fi
if ! docker info >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v dockerd >/dev/null 2>&1; then
        say "starting dockerd (log: /var/log/dockerd.log)"
        (setsid dockerd >/var/log/dockerd.log 2>&1 &)
        for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    fi
    docker info >/dev/null 2>&1 || { say "the Docker engine does not answer; start it and run make again"; exit 1; }
fi
if docker compose version >/dev/null 2>&1; then
    echo "docker compose"
elif command -v docker-compose >/dev/null 2>&1; then
    echo "docker-compose"
else
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get install -y -qq --no-install-recommends docker-compose >/dev/null && echo "docker-compose" && exit 0
    fi
    say "no compose: install Docker Compose v2 and run make again"; exit 1
fi

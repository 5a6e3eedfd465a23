#!/usr/bin/env bash
# The Dockerfile's base image, debian:bookworm-slim: kept if present, pulled if a registry
# answers, else made here with debootstrap (Debian's own packages, ~30 s) and tagged with
# that same name, so the Dockerfile builds unchanged on a machine with no registry.
set -euo pipefail
IMAGE="${BASE_IMAGE:-debian:bookworm-slim}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
docker image inspect "$IMAGE" >/dev/null 2>&1 && exit 0
if timeout 60 docker pull -q "$IMAGE" >/dev/null 2>&1; then
    echo "[images] pulled $IMAGE"; exit 0
fi
command -v debootstrap >/dev/null || {
    [ "$(id -u)" = 0 ] && apt-get install -y -qq debootstrap >/dev/null \
    || { echo "no registry and no debootstrap: install debootstrap, or pull $IMAGE" >&2; exit 1; }; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
echo "[images] no registry: making $IMAGE with debootstrap from $MIRROR"
debootstrap --variant=minbase bookworm "$root" "$MIRROR" >/dev/null
# The official image's sources (updates and security too) and its apt settings: no
# recommends, no caches kept in a layer.
rm -f "$root/etc/apt/sources.list"
cat > "$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: ${MIRROR}
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${MIRROR%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
echo 'APT::Install-Recommends "false";' > "$root/etc/apt/apt.conf.d/docker-no-recommends"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
       "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*
tar -C "$root" -c . | docker import --change 'CMD ["bash"]' - "$IMAGE" >/dev/null
echo "[images] made $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | numfmt --to=iec))"

# syntax=docker/dockerfile:1
# Every image of the platform, one stage per part (`docker build --target <part> .`;
# docker-compose.yml builds them all). Python packages are not downloaded here: `make wheels`
# builds them once, outside, into build/wheels (pinned by constraints.txt), and each image
# installs from that folder with --no-index, only what its own distribution depends on.
#
# The base is Debian 12 slim. Where no registry is reachable, `make base-image` makes it
# with debootstrap and tags it with this very name, so these lines build unchanged either way.
ARG BASE_IMAGE=debian:bookworm-slim

# ---- PostgreSQL 15 as on RDS and Supabase: TLS only, SCRAM, logical replication ----
FROM ${BASE_IMAGE} AS postgres
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 PATH=/usr/lib/postgresql/15/bin:/usr/sbin:/usr/bin:/sbin:/bin
# The same uid as every other part, so the stack's secrets volume is readable by each.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends passwd >/dev/null \
 && groupadd --gid 10001 postgres && useradd --uid 10001 --gid postgres --no-create-home \
      --home-dir /var/lib/postgresql --shell /bin/sh postgres \
 && apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
 && install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data \
 && install -d -o postgres -g postgres /var/run/postgresql
COPY devstack/containers/postgres.sh /usr/local/bin/postgres-entrypoint
COPY devstack/postgresql.conf /etc/postgresql-local.conf
USER postgres
EXPOSE 5432
HEALTHCHECK --interval=3s --timeout=3s --start-period=30s --retries=5 \
  CMD pg_isready -q -h 127.0.0.1 -p "${PGPORT:-5432}"
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]

# ---- the Python runtime every Python part shares: Debian's python3, a non-root user ----
FROM ${BASE_IMAGE} AS python
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 PATH=/opt/venv/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends python3 ca-certificates passwd >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
 && groupadd --gid 10001 app && useradd --uid 10001 --gid app --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin app
# A part reads its settings from the environment only; locally, the stack's setup job
# writes them to a file whose path STACK_ENV_FILE names (see the script).
COPY devstack/containers/entrypoint.sh /usr/local/bin/entrypoint
ENTRYPOINT ["/usr/local/bin/entrypoint"]

# ---- a virtualenv with one distribution and its dependencies, from the wheels ----
FROM python AS venv
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
# (A default: Docker's classic builder builds every stage before the target, this one too.)
ARG DISTRIBUTION=travel-platform
COPY build/wheels /wheels
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --quiet --no-index --find-links /wheels --no-compile \
      --disable-pip-version-check ${DISTRIBUTION} \
 && /opt/venv/bin/pip uninstall --quiet --yes pip

# ---- a part of the registry of services (shared/travel_platform/services.json) under gunicorn ----
FROM python AS service
ARG DISTRIBUTION
ARG APP_MODULE
COPY --from=venv /opt/venv /opt/venv
ENV APP_MODULE=${APP_MODULE} BIND=0.0.0.0:8000 ACCESS_LOG=- \
    PROMETHEUS_MULTIPROC_DIR=/tmp/metrics
USER app
EXPOSE 8000
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python3", "-c", "import os,sys,urllib.request as u; port=os.environ['BIND'].rsplit(':',1)[1]; sys.exit(u.urlopen(f'http://127.0.0.1:{port}/health', timeout=2).status != 200)"]
# exec'd by the entrypoint: gunicorn is PID 1 and gets the stop signal itself.
CMD ["sh", "-c", "mkdir -p \"$PROMETHEUS_MULTIPROC_DIR\" && exec gunicorn -c python:travel_platform.gunicorn.config \"$APP_MODULE\""]

# One stage per part of the registry, named as the part (tests/unit/test_registry.py).
FROM service AS agent-service
FROM service AS operator-service
FROM service AS booking-service
FROM service AS gateway-auth

# ---- the gateway: nginx with njs and set-misc; config rendered from the environment at start ----
# Its logs go to the container's output by default (GATEWAY_LOG_DIR=/var/log/gateway, whose
# files are links to it); docker-compose.yml puts them in .compose/logs instead.
FROM python AS gateway
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends nginx libnginx-mod-http-js \
      libnginx-mod-http-set-misc >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
 && rm -f /etc/nginx/sites-enabled/default \
 && install -d -o app -g app /var/lib/gateway /var/log/gateway \
 && ln -s /dev/stdout /var/log/gateway/gateway.access.log \
 && ln -s /dev/stderr /var/log/gateway/gateway.error.log
COPY --from=venv /opt/venv /opt/venv
COPY gateway/ /opt/gateway/
ENV GATEWAY_DIR=/opt/gateway GATEWAY_STATE_DIR=/var/lib/gateway GATEWAY_LOG_DIR=/var/log/gateway \
    GATEWAY_LISTEN=0.0.0.0:8080
USER app
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python3", "-c", "import sys,urllib.request as u; sys.exit(u.urlopen('http://127.0.0.1:8080/health', timeout=2).status != 200)"]
CMD ["python3", "-m", "gateway_config.serve"]

# ---- the local stand-ins (moto, Supabase Auth) and the stack's one-shot jobs ----
FROM python AS local
COPY --from=venv /opt/venv /opt/venv
COPY devstack/ /opt/platform/devstack/
COPY aws/ /opt/platform/aws/
COPY supabase/ /opt/platform/supabase/
COPY monitoring/ /opt/platform/monitoring/
ENV PYTHONPATH=/opt/platform
WORKDIR /opt/platform
RUN install -d -o app -g app /stack /var/lib/moto
USER app

# ---- monitoring: Prometheus and its exporters (Debian's), one per container ----
FROM python AS monitoring
USER root
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends prometheus prometheus-postgres-exporter \
      prometheus-nginx-exporter >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
 && install -d -o app -g app /prometheus
# The alert rules, where the prometheus.yml the setup job writes names them.
COPY monitoring/ /opt/platform/monitoring/
USER app

"""The gateway part: nginx with the configuration rendered from gateway/nginx.conf.template
for this stack's ports and folders."""
from __future__ import annotations

import hashlib
import os
import shutil

import gateway_config

from devstack import environment, secrets
from devstack.layout import REPO, Layout, StackError
from devstack.processes import Process
from travel_platform.cors import CorsSettings


def cors_origins(layout: Layout) -> tuple[str, ...]:
    """CORS_ALLOWED_ORIGINS, or by default the dashboard's own origin (as 127.0.0.1 and as
    localhost) and the usual dev servers' (Vite, Create React App) on this stack's offset."""
    configured = CorsSettings().cors_allowed_origins
    if configured is not None:
        return configured
    return tuple(f"http://{host}:{layout.port(part)}" for part in ("gateway", "vite-dev",
                                                                   "react-dev")
                 for host in (layout.host, "localhost"))


def _render_nginx(layout: Layout, env: dict[str, str]) -> tuple[str, str]:
    import openapi_ui_bundles.swagger_ui as swagger_ui

    # The dashboard connects to Supabase Auth (unless Supabase is off) and uploads to S3
    # (moto) where this stack has them.
    connect = gateway_config.dashboard_connect_origins(
        supabase_url=env.get("SUPABASE_URL"), s3_bucket=env["AWS_S3_BUCKET"],
        aws_region=env["AWS_REGION"],
        s3_endpoint=env.get("AWS_S3_PUBLIC_ENDPOINT_URL") or env["AWS_ENDPOINT_URL"])
    values = {"CORS_ORIGIN_MAP": " ".join(f'"{o}" $http_origin;' for o in cors_origins(layout)),
              "DASHBOARD_CSP": gateway_config.dashboard_policy(connect),
              "STATE_DIR": str(layout.state), "LOG_DIR": str(layout.logs),
              "SWAGGER_UI_DIR": str(swagger_ui.static_path), "GATEWAY_HOST": layout.host,
              "GATEWAY_PORT": str(layout.port("gateway")),
              "GATEWAY_STATUS_PORT": str(layout.port("gateway-status"))}
    # The locations, upstreams and maps come from the gateway's one table of services.
    config = gateway_config.render_nginx(
        values, port=layout.port, host=layout.host, gateway_dir=REPO / "gateway",
        token_digest_key=secrets.load_or_create(layout)["gateway_token_digest_key"])
    for sub in ("tmp", "auth-cache"):
        (layout.state / "gateway" / sub).mkdir(parents=True, exist_ok=True)
    path = layout.state / "gateway" / "nginx.conf"
    path.write_text(config)
    includes = "".join(p.read_text() for p in sorted((REPO / "gateway").glob("*.conf"))
                       + sorted((REPO / "gateway").glob("*.js")))
    return str(path), hashlib.sha256((config + includes).encode()).hexdigest()


def _nginx_binary() -> str:
    # Debian puts nginx in /usr/sbin, which a non-root PATH may lack.
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if not found:
        raise StackError("nginx is not installed: run `apt-get install nginx` (Debian/Ubuntu) "
                         "or install nginx >= 1.18 with the auth_request module")
    return found


def process(layout: Layout, env: dict[str, str]) -> Process:
    """nginx as the gateway (serving the dashboard and its settings too), restarted when its
    rendered configuration, an included file or the nginx binary changes."""
    gateway_config.write_dashboard_config(layout.state / "gateway",
                                          supabase_url=env.get("SUPABASE_URL"),
                                          anon_key=env.get("SUPABASE_ANON_KEY"))
    nginx_conf, nginx_fingerprint = _render_nginx(layout, env)
    nginx = _nginx_binary()
    return Process(
        name="gateway", argv=[nginx, "-c", nginx_conf, "-p", str(layout.state / "gateway")],
        env=environment.python_env(layout), ready_url=f"{layout.url('gateway')}/health",
        url=layout.url("gateway"),
        # an upgraded nginx package is a new dependency
        config_fingerprint=f"{nginx_fingerprint}:{os.stat(nginx).st_mtime_ns}")

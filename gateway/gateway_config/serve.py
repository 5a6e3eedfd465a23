"""The gateway in a container: `python -m gateway_config.serve` renders nginx.conf from the
environment, then becomes nginx (exec: nginx is PID 1 and gets the stop signal).

Where devstack fills the template from a stack's folders and 127.0.0.1 ports, here each part
is found by its name on the container network through the resolver (Docker's DNS by
default), on the port the gateway's table gives it; replicas added, replaced or removed are
found within seconds (see gateway_config.render._targets)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

import gateway_config
from travel_platform.cors import CorsSettings
from travel_platform.settings import load_settings


class ServeSettings(BaseSettings):
    """Where the containerized gateway listens, finds the parts and keeps its files."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", frozen=True)

    port: int = 8080
    # nginx's own counters, for prometheus-nginx-exporter; never published. Who may read
    # them (networks, space-separated): the exporter's container is another host.
    status_port: int = 8081
    status_allow: str = "127.0.0.1"
    # Docker's embedded DNS; a name that resolves to every replica of a part.
    resolver: str = "127.0.0.11"
    # gateway/ of the repository: the template and the files it includes.
    dir: Path = Path("/opt/gateway")
    state_dir: Path = Path("/var/lib/gateway")
    log_dir: Path = Path("/var/log/gateway")


class DashboardSettings(BaseSettings):
    """What the dashboard's page is told at /config.json: Supabase's public address (the one
    browsers use) and its anon key (public by design: it identifies the project only), both
    or neither (Supabase off: no Supabase in config.json or the CSP); and where its uploads
    go (the S3 bucket: its name and region, or the endpoint browsers reach it at), the
    origins its Content-Security-Policy lets it connect to."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    supabase_url: str | None = None
    supabase_anon_key: SecretStr | None = None
    aws_s3_bucket: str
    aws_region: str
    aws_s3_public_endpoint_url: str | None = None

    @model_validator(mode="after")
    def _supabase_all_or_none(self):
        if (self.supabase_url is None) != (self.supabase_anon_key is None):
            missing = "SUPABASE_URL" if self.supabase_url is None else "SUPABASE_ANON_KEY"
            raise ValueError("the Supabase settings go together: set both SUPABASE_URL and "
                             f"SUPABASE_ANON_KEY or neither (Supabase off); missing: {missing}")
        return self


def render(settings: ServeSettings, dashboard: DashboardSettings) -> Path:
    """Write nginx.conf and the dashboard's config into the state folder; nginx.conf's path."""
    import openapi_ui_bundles.swagger_ui as swagger_ui

    origins = CorsSettings().cors_allowed_origins or ()
    connect = gateway_config.dashboard_connect_origins(
        supabase_url=dashboard.supabase_url, s3_bucket=dashboard.aws_s3_bucket,
        aws_region=dashboard.aws_region, s3_endpoint=dashboard.aws_s3_public_endpoint_url)
    values = {"CORS_ORIGIN_MAP": " ".join(f'"{o}" $http_origin;' for o in origins),
              "DASHBOARD_CSP": gateway_config.dashboard_policy(connect),
              "STATE_DIR": str(settings.state_dir), "LOG_DIR": str(settings.log_dir),
              "SWAGGER_UI_DIR": str(swagger_ui.static_path), "GATEWAY_HOST": "0.0.0.0",
              "GATEWAY_PORT": str(settings.port),
              "GATEWAY_STATUS_PORT": str(settings.status_port),
              "STATUS_ALLOW": " ".join(f"allow {n};" for n in settings.status_allow.split())}
    config = gateway_config.render_nginx(values, port=gateway_config.port_of,
                                         host=lambda name: name, resolver=settings.resolver,
                                         gateway_dir=settings.dir)
    folder = settings.state_dir / "gateway"
    for sub in ("tmp", "auth-cache"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    anon_key = dashboard.supabase_anon_key
    gateway_config.write_dashboard_config(
        folder, supabase_url=dashboard.supabase_url,
        anon_key=anon_key.get_secret_value() if anon_key else None)
    (folder / "nginx.conf").write_text(config)
    return folder / "nginx.conf"


def main() -> None:
    settings = load_settings(ServeSettings)
    conf = render(settings, load_settings(DashboardSettings))
    nginx = shutil.which("nginx", path="/usr/sbin:/usr/bin") or "nginx"
    os.execv(nginx, [nginx, "-e", "stderr", "-c", str(conf), "-p",
                     str(settings.state_dir / "gateway")])


if __name__ == "__main__":
    main()

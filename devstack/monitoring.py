"""Monitoring of a local stack: Prometheus, the nginx exporter and one PostgreSQL exporter
per server, with their configuration rendered from the stack's layout (so a stack at a port
offset watches its own parts, never another stack's)."""
from __future__ import annotations

import json
import shutil
from collections.abc import Collection
from pathlib import Path

import requests

from devstack.layout import REPO, Layout
from devstack.processes import Process
from travel_platform.registry import registry

MONITORING = REPO / "monitoring"
# Started after the gateway, in this order (stopped before it).
PARTS = ["nginx-exporter", "postgres-exporter-supabase", "postgres-exporter-rds", "prometheus"]
# Who Prometheus scrapes: job name -> parts whose port it reads (the services' own /metrics,
# and the exporters that stand for nginx and the two databases).
SCRAPED_SERVICES = [part.name for part in registry().parts]
DATABASES = {"postgres-exporter-supabase": "supabase-db", "postgres-exporter-rds": "rds"}
# What watches the Supabase project's database: not run with Supabase off.
SUPABASE_PARTS = [exporter for exporter, server in DATABASES.items() if server == "supabase-db"]
# Short, so a graph and a test see a change within seconds; a real deployment uses 15-30 s.
SCRAPE_INTERVAL = "5s"


def _binary(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is not installed: run `make system-deps` or "
                           f"`apt-get install {name}` (Debian/Ubuntu)")
    return found


def folder(layout: Layout) -> Path:
    """Where the rendered configuration and Prometheus's data live."""
    return layout.state / "monitoring"


def prometheus_config(layout: Layout,
                      servers: Collection[str] = tuple(DATABASES.values())) -> dict:
    """The scrape configuration of this stack, with the alert rules of monitoring/; of the
    database servers, `servers` only (not the Supabase project's with Supabase off, where a
    target that is down on purpose would fire the `up == 0` alert)."""
    def target(part: str) -> str:
        return f"{layout.host_of(part)}:{layout.port(part)}"

    jobs = [{"job_name": part, "static_configs": [{"targets": [target(part)]}]}
            for part in SCRAPED_SERVICES]
    jobs.append({"job_name": "gateway",
                 "static_configs": [{"targets": [target("nginx-exporter")]}]})
    jobs.append({"job_name": "postgres", "static_configs": [
        {"targets": [target(exporter)], "labels": {"server": server}}
        for exporter, server in DATABASES.items() if server in servers]})
    jobs.append({"job_name": "prometheus",
                 "static_configs": [{"targets": [target("prometheus")]}]})
    return {"global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
            "rule_files": [str(MONITORING / "alerts.yml")],
            "scrape_configs": jobs}


def queries_file(layout: Layout, server: str) -> Path:
    # RDS also answers for the migration tool's state; the Supabase server has no such schema.
    text = (MONITORING / "postgres-queries.yml").read_text()
    if server == "rds":
        text += "\n" + (MONITORING / "postgres-queries-rds.yml").read_text()
    path = folder(layout) / f"queries-{server}.yml"
    path.write_text(text)
    return path


def write_prometheus_config(layout: Layout,
                            servers: Collection[str] = tuple(DATABASES.values())) -> Path:
    """prometheus.yml of this stack, in its monitoring folder."""
    config = folder(layout) / "prometheus.yml"
    config.parent.mkdir(parents=True, exist_ok=True)
    # JSON is YAML: no YAML library needed to write what Prometheus reads.
    config.write_text(json.dumps(prometheus_config(layout, servers), indent=2))
    return config


def processes(layout: Layout, admins: dict[str, str]) -> list[Process]:
    """The monitoring parts; `admins` are the servers' connection URIs (local superuser;
    on real servers a role with pg_monitor and SELECT on migration.units is enough)."""
    base = folder(layout)
    base.mkdir(parents=True, exist_ok=True)
    env = {"PATH": "/usr/bin:/bin:/usr/sbin", "HOME": str(base)}
    procs = [Process(
        name="nginx-exporter",
        argv=[_binary("prometheus-nginx-exporter"),
              f"-nginx.scrape-uri={layout.url('gateway-status')}/stub_status",
              f"-web.listen-address={layout.host}:{layout.port('nginx-exporter')}",
              "-nginx.retries=10"],
        env=env, ready_url=f"{layout.url('nginx-exporter')}/metrics")]
    for exporter, server in DATABASES.items():
        if server not in admins:   # a server this stack runs without (Supabase off)
            continue
        queries = queries_file(layout, server)
        procs.append(Process(
            name=exporter,
            argv=[_binary("prometheus-postgres-exporter"),
                  f"--web.listen-address={layout.host}:{layout.port(exporter)}",
                  f"--extend.query-path={queries}", "--log.level=warn"],
            env={**env, "DATA_SOURCE_NAME": admins[server]},
            ready_url=f"{layout.url(exporter)}/metrics",
            config_fingerprint=queries.read_text()))
    config = write_prometheus_config(layout, servers=list(admins))
    rules = (MONITORING / "alerts.yml").read_text()
    procs.append(Process(
        name="prometheus",
        argv=[_binary("prometheus"), f"--config.file={config}",
              f"--storage.tsdb.path={base / 'prometheus-data'}",
              "--storage.tsdb.retention.time=7d",
              f"--web.listen-address={layout.host}:{layout.port('prometheus')}"],
        env=env, ready_url=f"{layout.url('prometheus')}/-/ready",
        config_fingerprint=config.read_text() + rules))
    return procs


def targets(layout: Layout, *, timeout: float = 2.0) -> list[dict]:
    """Prometheus's view of its scrape targets: job, instance, health, last error."""
    answer = requests.get(f"{layout.url('prometheus')}/api/v1/targets",
                          params={"state": "active"}, timeout=timeout)
    answer.raise_for_status()
    return [{"job": t["labels"].get("job"), "instance": t["labels"].get("instance"),
             "health": t["health"], "error": t.get("lastError", "")}
            for t in answer.json()["data"]["activeTargets"]]


def print_targets(layout: Layout) -> None:
    """One line per scrape target for `make status` (or why Prometheus cannot say)."""
    try:
        found = targets(layout)
    except (requests.RequestException, ValueError, KeyError) as exc:
        print(f"{'targets':18} unknown: Prometheus at {layout.url('prometheus')} did not "
              f"answer ({type(exc).__name__})")
        return
    up = sum(t["health"] == "up" for t in found)
    print(f"{'targets':18} {up}/{len(found)} up (Prometheus {layout.url('prometheus')})")
    for t in sorted(found, key=lambda t: (t["job"], t["instance"])):
        note = f"  {t['error']}" if t["health"] != "up" and t["error"] else ""
        print(f"  {t['job'] + ' ' + t['instance']:40} {t['health']}{note}")


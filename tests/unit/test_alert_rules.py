"""The alert rules and the scrape configuration, checked by Prometheus's own tool:
every alert of monitoring/alerts.yml fires on the series its test gives it, and not on
those just under its threshold (monitoring/tests/alerts_test.yml)."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from devstack.api import BASE_PORTS, Layout, prometheus_config
from tests.helpers import REPO

PROMTOOL = shutil.which("promtool")


def promtool(*args: str) -> subprocess.CompletedProcess:
    assert PROMTOOL, "promtool is missing: run `make system-deps` (package prometheus)"
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, cwd=REPO)


def test_every_alert_rule_passes_its_promtool_unit_test():
    result = promtool("test", "rules", "monitoring/tests/alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_rule_has_a_unit_test():
    rules = [line.split(":", 1)[1].strip() for line in
             (REPO / "monitoring" / "alerts.yml").read_text().splitlines()
             if line.strip().startswith("- alert:")]
    tested = (REPO / "monitoring" / "tests" / "alerts_test.yml").read_text()
    untested = [r for r in rules if f"alertname: {r}\n" not in tested]
    assert rules and not untested, untested


def test_the_rendered_scrape_configuration_is_valid_and_follows_the_port_offset(tmp_path: Path):
    layout = Layout(state=tmp_path, port_offset=5000)
    config = prometheus_config(layout)
    path = tmp_path / "prometheus.yml"
    path.write_text(json.dumps(config))
    result = promtool("check", "config", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    targets = {t for job in config["scrape_configs"] for sc in job["static_configs"]
               for t in sc["targets"]}
    assert f"127.0.0.1:{8103 + 5000}" in targets          # booking-service's own /metrics
    assert f"127.0.0.1:{9187 + 5000}" in targets          # the Supabase DB's exporter
    assert all(int(t.rsplit(":", 1)[1]) > 5000 for t in targets)


def test_no_two_parts_share_a_port_across_stacks_at_offsets_of_1000():
    # make up (0), test stacks (+1000..+10000) and their migration stacks (+1000 more)
    residues = [port % 1000 for port in BASE_PORTS.values()]
    assert len(set(residues)) == len(residues), BASE_PORTS
    assert max(BASE_PORTS.values()) + 11000 < 65536
    # Larger offsets wrap past 65535 and still give each stack its own valid ports.
    ports = [Layout(state=Path("/x"), port_offset=offset).port(part)
             for offset in range(0, 50000, 1000) for part in BASE_PORTS]
    assert len(set(ports)) == len(ports) and all(1024 < p < 65536 for p in ports)

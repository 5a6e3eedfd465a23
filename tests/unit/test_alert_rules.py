"""The alert rules and the scrape configuration, checked by Prometheus's own tool:
every alert of monitoring/alerts.yml fires on the series its test gives it, and not on
those just under its threshold (monitoring/tests/alerts_test.yml)."""
from __future__ import annotations

import shutil
import subprocess

from devstack.layout import REPO

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

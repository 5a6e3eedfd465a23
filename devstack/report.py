"""`status`: each part's state from its own health check, its URL and log."""
from __future__ import annotations

from devstack import monitoring, postgres, processes
from devstack.layout import Layout


def status(layout: Layout, process_order: list[str]) -> int:
    """Per part: its state from its health check, URL and log; then where the settings
    are. Non-zero if a part has crashed or is unhealthy."""
    bad = 0
    print(f"{'part':18} {'state':34} {'url':28} log")
    for name in process_order:
        record = processes.read_record(layout, name)
        url, log = layout.url(name), layout.logs / f"{name}.log"
        if record is None:
            state = "stopped"
        elif processes.running_pid(layout, name) is None:
            state, bad = "CRASHED (`make up` restarts it)", bad + 1
        else:
            state = processes.health(record.get("ready_url") or url)
            bad += state != "healthy"
        print(f"{name:18} {state:34} {url:28} {log}")
    for part in postgres.SERVERS:
        url = f"postgresql://{layout.host}:{layout.port(part)}"
        if not postgres.is_running(layout, part):
            state = "stopped"
        else:
            state = "healthy" if postgres.accepts_connections(layout, part) else (
                "UNHEALTHY (not accepting connections)")
            bad += state != "healthy"
        print(f"{part:18} {state:34} {url:28} {layout.logs / (part + '.log')}")
    monitoring.print_targets(layout)
    env_file = layout.state / "stack.env"
    print(f"\nsettings: {env_file}" + ("" if env_file.exists() else " (not written yet: `make up`)")
          + f"\nlogs:     {layout.logs}")
    return 1 if bad else 0

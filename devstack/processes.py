"""Long-running processes of the local stack: started detached, tracked by pid files,
restarted only when they died or their command line or environment changed."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import requests

from devstack.layout import Layout


@dataclass
class Process:
    """One part of the stack run as a child process."""

    name: str
    argv: list[str]
    env: dict[str, str]
    ready_url: str
    cwd: Path | None = None
    # Anything else the process reads at start (say, config file contents).
    config_fingerprint: str = ""

    def spec_hash(self) -> str:
        """Fingerprint of what the process runs with; a change means a restart."""
        blob = json.dumps([self.argv, sorted(self.env.items()), self.config_fingerprint]).encode()
        return hashlib.sha256(blob).hexdigest()


def _record_path(layout: Layout, name: str) -> Path:
    return layout.run / f"{name}.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purpose.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def running_pid(layout: Layout, name: str) -> int | None:
    """The pid of a part if it is running."""
    path = _record_path(layout, name)
    if not path.exists():
        return None
    pid = json.loads(path.read_text())["pid"]
    return pid if _alive(pid) else None


def wait_until_ready(url: str, *, timeout: float, alive: Callable[[], bool]) -> bool:
    """Poll `url` until it answers 200, the process dies, or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            return False
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.2)
    return False


def ensure(layout: Layout, proc: Process, *, timeout: float = 60.0) -> str:
    """Make `proc` run with its current spec; say what was done."""
    record = _record_path(layout, proc.name)
    pid = running_pid(layout, proc.name)
    log = layout.logs / f"{proc.name}.log"
    note = "started"
    if pid is not None:
        if json.loads(record.read_text())["spec"] == proc.spec_hash():
            return "running"
        stop(layout, proc.name)
        note = "restarted (its code or configuration changed)"
    elif record.exists():
        note = f"restarted (it had crashed; its log is {log})"
    with open(log, "ab") as out:
        child = subprocess.Popen(proc.argv, env=proc.env, cwd=proc.cwd, stdout=out,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
    record.write_text(json.dumps({"pid": child.pid, "spec": proc.spec_hash()}))
    if not wait_until_ready(proc.ready_url, timeout=timeout, alive=lambda: child.poll() is None):
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise RuntimeError(f"{proc.name} did not become ready at {proc.ready_url}; "
                           f"its log is {log}:\n{tail}")
    return note


def stop(layout: Layout, name: str, *, timeout: float = 15.0) -> bool:
    """Stop a part and everything it spawned; True if it was running."""
    record = _record_path(layout, name)
    pid = running_pid(layout, name)
    record.unlink(missing_ok=True)
    if pid is None:
        return False
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)  # whatever is left of the group
    except ProcessLookupError:
        pass
    return True


def crashed(layout: Layout, names: list[str]) -> list[str]:
    """Parts that were started and are no longer running."""
    return [n for n in names if _record_path(layout, n).exists() and running_pid(layout, n) is None]

"""Long-running processes of the local stack: each started detached as the leader of its
own process group, tracked by a record in `<state>/run/<part>.json`, restarted only when
it died or what it runs with (command line, environment, code, configuration,
dependencies) changed.

A part is a process *group*, not a pid: nginx's workers, gunicorn's workers and moto's
threads all live in the group of the process we started. When that main process dies
(`kill -9` of nginx's master, say) its children may live on, holding the part's port; the
group outlives them all, so stopping or restarting a part signals the whole group and
waits until no member is left. Linux does not hand out a pid that is still some group's
id, so a group id in a record can only ever name that part's processes.

Why not supervisord or honcho (issue 7 asked; decided on a trial, supervisor 4.3.0):
- honcho (like foreman) runs in the foreground and stops every process when one exits;
  `make up` must return once all is healthy and leave a crashed part to be reported and
  restarted alone, with the others untouched.
- supervisord with `autorestart=false, stopasgroup, killasgroup` reports a `kill -9`ed
  main process as EXITED but leaves its process group alone: a fake nginx whose worker
  held the port stayed up, and `supervisorctl start` then failed with EADDRINUSE. The
  group cleanup below would still be needed, and so would this module's records, for
  the case supervisord itself is killed (its children are orphaned, and a new supervisord
  starts duplicates beside them). Its restart on a changed program section would need our
  fingerprints written into its config, and the readiness checks stay ours. So it would
  add a daemon and a rendered config and remove little: record, spawn and stop are about
  60 of these lines. With it `autorestart=true` would also change what a user sees
  (`make status` would no longer show a crash as CRASHED until `make up`)."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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
    # Anything else the process reads at start (config file contents, code, installed
    # dependencies). The environment is chosen by devstack, never the caller's shell.
    config_fingerprint: str = ""
    url: str = ""

    def spec_hash(self) -> str:
        """Fingerprint of what the process runs with; a change means a restart."""
        blob = json.dumps([self.argv, sorted(self.env.items()), self.config_fingerprint]).encode()
        return hashlib.sha256(blob).hexdigest()


def record_path(layout: Layout, name: str) -> Path:
    """Where devstack keeps what it knows of a running part."""
    return layout.run / f"{name}.json"


def read_record(layout: Layout, name: str) -> dict | None:
    """The record of a part started by devstack (running or crashed), or None."""
    try:
        return json.loads(record_path(layout, name).read_text())
    except (OSError, ValueError):
        return None


def _stat(pid: int) -> list[str] | None:
    # Fields after the command name, which may itself contain spaces or parentheses.
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def _start_time(pid: int) -> str | None:
    fields = _stat(pid)
    return fields[19] if fields else None


def _alive(pid: int, started: str | None = None) -> bool:
    fields = _stat(pid)
    if not fields:
        return False
    # A zombie is dead for our purpose; a different start time is a reused pid.
    return fields[0] != "Z" and (started is None or fields[19] == started)


def group_members(pgid: int) -> list[int]:
    """Live processes of a process group."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields and fields[0] != "Z" and int(fields[2]) == pgid:
                members.append(int(entry.name))
    return members


def running_pid(layout: Layout, name: str) -> int | None:
    """The pid of a part's main process if it is running."""
    record = read_record(layout, name)
    if record is None:
        return None
    pid = record["pid"]
    return pid if _alive(pid, record.get("started")) else None


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


def health(url: str) -> str:
    """`healthy`, or what the health check answered instead."""
    try:
        response = requests.get(url, timeout=3)
    except requests.RequestException as exc:
        return f"UNHEALTHY (no answer: {type(exc).__name__})"
    return "healthy" if response.status_code == 200 else f"UNHEALTHY (HTTP {response.status_code})"


def ensure(layout: Layout, proc: Process, *, timeout: float = 60.0) -> str:
    """Make `proc` run with its current spec; say what was done."""
    record = read_record(layout, proc.name)
    log = layout.logs / f"{proc.name}.log"
    note = "started"
    if running_pid(layout, proc.name) is not None:
        if record is not None and record["spec"] == proc.spec_hash():
            return "running"
        stop(layout, proc.name)
        note = "restarted (its code, configuration or dependencies changed)"
    elif record is not None:
        # Whatever the dead main process left behind (workers holding the port) goes first.
        stop(layout, proc.name)
        note = f"restarted (it had crashed; its log is {log})"
    with open(log, "ab") as out:
        child = subprocess.Popen(proc.argv, env=proc.env, cwd=proc.cwd, stdout=out,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
    record_path(layout, proc.name).write_text(json.dumps({
        "pid": child.pid, "pgid": child.pid, "started": _start_time(child.pid),
        "spec": proc.spec_hash(), "url": proc.url, "ready_url": proc.ready_url,
        "log": str(log)}))
    if not wait_until_ready(proc.ready_url, timeout=timeout, alive=lambda: child.poll() is None):
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise RuntimeError(f"{proc.name} did not become ready at {proc.ready_url}; "
                           f"its log is {log}:\n{tail}")
    return note


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def stop(layout: Layout, name: str, *, timeout: float = 15.0) -> bool:
    """Stop a part and everything in its process group, even if its main process is
    already gone; True if any of it was running."""
    record = read_record(layout, name)
    if record is None:
        return False
    pgid = record.get("pgid", record["pid"])
    was_running = bool(group_members(pgid))
    if was_running:
        _signal_group(pgid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and group_members(pgid):
            time.sleep(0.1)
        _signal_group(pgid, signal.SIGKILL)  # whatever is left of the group
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and group_members(pgid):
            time.sleep(0.05)
    record_path(layout, name).unlink(missing_ok=True)
    return was_running


def crashed(layout: Layout, names: list[str]) -> list[str]:
    """Parts that were started and whose main process is no longer running."""
    return [n for n in names if read_record(layout, n) is not None
            and running_pid(layout, n) is None]

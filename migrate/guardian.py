"""The guardian: a small process a switch starts beside itself, so that a dead switch blocks
nobody for long.

`switch-writes` and `rollback` hold writes and flip ownership in steps across two
databases; no single transaction spans both, so a switch killed between two steps (kill -9,
a lost connection, a server restarting) leaves a fence closed or a hold set, and writes
wait. The guardian runs `python -m migrate reconcile --when-stdin-closes` in a session of
its own (a Ctrl-C or a kill of the switch's process group does not reach it), reading a
pipe whose other end only the switch holds. When the switch ends cleanly it writes `done`
and the guardian exits. When the pipe closes without it (the process is gone, however it
died: the kernel closes the pipe), the guardian waits for the run lock (freed when the dead
run's session ends) and reconciles from the recorded state (migrate/reconcile.py): writes
flow again where the state says within a second or two, with no one at a keyboard.

If the guardian dies too (the machine), the hold's lease still ends, and the next command
of any user reconciles first."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import IO


class Guardian:
    """The running guardian of one switch."""

    def __init__(self, process: subprocess.Popen):
        self._process = process

    def done(self) -> None:
        """The switch ended cleanly (or refused cleanly): nothing for the guardian to do."""
        stdin: IO[bytes] | None = self._process.stdin
        if stdin is None or stdin.closed:
            return
        try:
            stdin.write(b"done\n")
            stdin.close()
        except OSError:
            pass


def start(log_folder: Path) -> Guardian:
    """Start the guardian of this process (its output appended to guardian.log)."""
    log_folder.mkdir(parents=True, exist_ok=True)
    with open(log_folder / "guardian.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "migrate", "reconcile", "--when-stdin-closes"],
            stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True, env={**os.environ})
    return Guardian(process)


def wait_for_parent(stream: IO[bytes]) -> bool:
    """Block until the switch ends; True if it died without saying `done`."""
    data = stream.read()
    return b"done" not in data

"""Where the CPU went while a benchmark's traffic ran: CPU seconds per part of the stack, of
the benchmark's own process and of the commands it ran, and how busy the whole machine was.

A benchmark that asked for a rate and did not reach it says, with these, why: a part that
used a core by itself is a bottleneck of ours; a machine whose cores were all busy while
this stack used only some of them was shared (on a 2-core machine with other test runs,
the usual case). Figures are per request, so that runs under different loads compare."""
from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

from devstack.api import DATABASES, PROCESSES, Layout, part_pids

TICKS = os.sysconf("SC_CLK_TCK")
# The benchmark's own process (its client threads) and the commands it ran meanwhile
# (python -m migrate ...), beside the stack's parts.
OWN, COMMANDS = "benchmark", "commands"


def _process_seconds(pid: int) -> float:
    """CPU seconds of one process, with those of its children it has reaped: a PostgreSQL
    backend that ended between two samples is counted in its postmaster's."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0   # a process that just exited
    return sum(int(f) for f in fields[11:15]) / TICKS   # utime, stime, cutime, cstime


def _machine() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, over every core."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]   # idle, iowait
    total = sum(fields[:8])        # guest time is already counted in user
    return (total - idle) / TICKS, total / TICKS


def _sample(layout: Layout) -> dict[str, float]:
    seconds = {part: sum(_process_seconds(pid) for pid in part_pids(layout, part))
               for part in (*PROCESSES, *DATABASES)}
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    seconds[OWN] = own.ru_utime + own.ru_stime
    seconds[COMMANDS] = children.ru_utime + children.ru_stime
    seconds["machine busy"], seconds["machine total"] = _machine()
    return seconds


@dataclass
class CpuUse:
    """CPU used between `start()` and `stop()`, per part."""

    seconds: dict[str, float]   # per part, OWN and COMMANDS
    machine_busy: float         # share of all the machine's cores that were busy, 0..1
    cores: int

    def per_request_ms(self, requests: int) -> dict[str, float]:
        """Milliseconds of CPU per request, per part that used any, largest first."""
        used = {part: s * 1000 / max(requests, 1) for part, s in self.seconds.items()
                if s * 1000 / max(requests, 1) >= 0.05}
        return dict(sorted(used.items(), key=lambda item: -item[1]))

    def stack_cores(self, wall: float) -> float:
        """Cores this stack and the benchmark used on average over `wall` seconds."""
        return sum(self.seconds.values()) / wall

    def summary(self, requests: int, wall: float) -> str:
        """One sentence: how busy the machine was, what share of it was ours, and each
        part's CPU per request."""
        parts = ", ".join(f"{part} {ms:.1f}" for part, ms in
                          self.per_request_ms(requests).items())
        return (f"the machine's {self.cores} cores were {self.machine_busy:.0%} busy, this "
                f"stack and the benchmark used {self.stack_cores(wall):.2f} of them, the rest "
                f"went to other processes; ms of CPU per request: {parts}")


class CpuMeter:
    """Samples the stack's CPU use around a stretch of traffic."""

    def __init__(self, layout: Layout):
        self.layout = layout
        self._before: dict[str, float] = {}

    def start(self) -> None:
        self._before = _sample(self.layout)

    def stop(self) -> CpuUse:
        after = _sample(self.layout)
        delta = {k: max(after[k] - self._before.get(k, 0.0), 0.0) for k in after}
        busy, total = delta.pop("machine busy"), delta.pop("machine total")
        return CpuUse(seconds=delta, machine_busy=busy / total if total else 0.0,
                      cores=os.cpu_count() or 1)

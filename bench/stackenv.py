"""Read a stack.env file (KEY=value lines, shell-quoted where needed)."""
from __future__ import annotations

import shlex
from pathlib import Path


def read_env(path: Path) -> dict[str, str]:
    """The settings of a running stack."""
    values = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, raw = line.split("=", 1)
            values[key] = " ".join(shlex.split(raw))
    return values

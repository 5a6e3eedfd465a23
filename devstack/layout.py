"""Where each part of a local stack listens and keeps its files."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from travel_platform.registry import registry

REPO = Path(__file__).resolve().parent.parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")
# Where each distribution's code lives in a checkout (see the pyproject.toml files): the
# shared library, every part of the registry, the Lambda trigger.
CODE_FOLDERS = (".", "shared", *registry().folders, "aws/lambdas")


def code_path(repo: Path = REPO) -> str:
    """PYTHONPATH that runs this checkout's code, ahead of whatever checkout the virtualenv's
    in-place installs point to (a mutation copy or a second worktree shares one venv)."""
    return os.pathsep.join(str(repo / folder) for folder in CODE_FOLDERS)

class StackError(RuntimeError):
    """A part of the stack could not be brought up (the message says what to do)."""


# Ports of a stack at offset 0 (`make up`); the test stack adds an offset to each.
# The services' and gateway-auth's ports come from the registry
# (shared/travel_platform/services.json).
BASE_PORTS = {
    "gateway": 8080, **{part.name: part.port for part in registry().parts},
    "supabase-auth": 54321, "supabase-db": 54322, "rds": 5433, "moto": 5050,
}
# Monitoring (devstack/monitoring.py): nginx's local-only stub_status, the exporters, Prometheus.
# Each port differs from every other one modulo 1000, so stacks at offsets of 1000 never
# collide (Prometheus is not on its usual 9090: gateway-auth of a stack at +1000 is).
BASE_PORTS.update({"gateway-status": 8081, "nginx-exporter": 9113,
                   "postgres-exporter-supabase": 9187, "postgres-exporter-rds": 9188,
                   "prometheus": 9095})
# The usual ports of a frontend's dev server (Vite, Create React App): their origins are
# allowed by default (devstack.stack.cors_origins), so a dashboard in development can call
# the API. Nothing of the stack listens on them.
BASE_PORTS.update({"vite-dev": 5173, "react-dev": 3000})


_WRAP = 64_000


@dataclass(frozen=True)
class Layout:
    """Paths and ports of one stack, derived from its state folder and port offset."""

    state: Path
    port_offset: int = 0
    python: Path = field(default_factory=lambda: Path(sys.executable))
    host: str = "127.0.0.1"
    # In a container network each part is a host of its own name (docker-compose.yml); on
    # one machine every part listens on `host`.
    named_hosts: bool = False

    def port(self, part: str) -> int:
        """The TCP port a part listens on. Past the top of the port range it wraps around
        by 64,000 (a multiple of 1000, so stacks at offsets of 1000 still never share a
        port), which keeps large offsets (+20000: the Supabase ports) usable."""
        port = BASE_PORTS[part] + self.port_offset
        return port - _WRAP if port > 65535 else port

    def host_of(self, part: str) -> str:
        """The host name or address a part is reached at."""
        return part if self.named_hosts else self.host

    def url(self, part: str) -> str:
        """http://host:port of a part."""
        return f"http://{self.host_of(part)}:{self.port(part)}"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def run(self) -> Path:
        return self.state / "run"

    @property
    def tls(self) -> Path:
        return self.state / "tls"

    def pgdata(self, part: str) -> Path:
        """Data directory of one PostgreSQL server."""
        return self.state / "pg" / part

    def bin(self, name: str) -> str:
        """An executable of the virtualenv running this code."""
        return str(self.python.parent / name)

"""What a part runs with beyond its command line and environment, as digests: a change of
one restarts the part on the next `up`, and nothing else does."""
from __future__ import annotations

import hashlib

from devstack import postgres
from devstack.layout import REPO, Layout


def dependencies(layout: Layout) -> str:
    """Changes when the interpreter or the pinned packages change (`make venv` reinstalls
    from these files), so a part runs with the dependencies it was started with."""
    digest = hashlib.sha256(str(layout.python.resolve()).encode())
    for name in ("requirements.txt", "requirements-dev.txt", "constraints.txt"):
        digest.update((REPO / name).read_bytes())
    return digest.hexdigest()


def code(layout: Layout, *folders: str) -> str:
    """Changes when the content of a Python file the part runs changes (not its mtime: a
    `git checkout` back and forth restarts nothing), or its dependencies do."""
    digest = hashlib.sha256(dependencies(layout).encode())
    for folder in folders:
        root = REPO / folder
        for path in ([root] if root.is_file() else sorted(root.rglob("*.py"))):
            digest.update(f"{path.relative_to(REPO)}:".encode() + path.read_bytes())
    return digest.hexdigest()


def databases(layout: Layout) -> str:
    """When each PostgreSQL server last started."""
    # A service's pooled connections die with a PostgreSQL server that crashed, and the
    # pool hands each dead one out once (a 500) before replacing it; so a server that
    # (re)started since a service did restarts the service too, and every request after
    # `make up` finds live connections.
    return ",".join(postgres.started_at(layout, part) for part in postgres.SERVERS)

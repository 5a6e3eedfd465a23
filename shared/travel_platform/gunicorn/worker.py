"""gunicorn's gthread worker, closing its listening sockets as soon as it is told to stop.

gthread stops accepting on SIGTERM but keeps its listening sockets open until the requests it
holds are done: a connection that arrives meanwhile waits in the kernel's queue for an
`accept` that never comes, and is reset when the worker exits. nginx then cannot know
whether the request was read, and does not send a POST elsewhere: a client sees an error
(seen: 1 POST of ~1,500 requests while a replica was replaced, tests/e2e/test_containers.py).
Closed at once, the socket refuses new connections, which nginx sends to another replica
whatever the method (nothing was sent), and the requests already accepted finish as before."""
from __future__ import annotations

from gunicorn.workers import gthread


class ThreadWorker(gthread.ThreadWorker):
    """gthread, refusing new connections from the moment it is told to stop."""

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled)
        if not enabled and not self.alive:
            for listener in self.sockets:
                listener.close()

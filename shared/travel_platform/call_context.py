"""What travels with every call to another service: the caller's own token (the callee
verifies it again and applies its own rules to the same caller) and the request id (one id
across every part's logs).

It is a `contextvars` value, set in one visible place: `travel_platform.web.forward_caller_context`,
registered by `configure_service` for every incoming request. The HTTP client reads it here
and knows nothing of Flask, so it works the same in a request, in a thread the request
started (run the work in `contextvars.copy_context()`), in a script or in a test, where
`calling_as` sets it explicitly.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class CallContext:
    """The caller's `Authorization` header and the request id, as received."""

    authorization: str | None = None
    request_id: str | None = None


# A frozen dataclass: the shared default cannot be changed through it.
_CURRENT: ContextVar[CallContext] = ContextVar("call_context",
                                              default=CallContext())  # noqa: B039


def current() -> CallContext:
    """The context of the call being served (empty outside one)."""
    return _CURRENT.get()


def enter(context: CallContext):
    """Make `context` current; returns the token `leave` needs."""
    return _CURRENT.set(context)


def leave(token) -> None:
    """Restore the context that was current before `enter`."""
    _CURRENT.reset(token)


@contextmanager
def calling_as(context: CallContext) -> Iterator[CallContext]:
    """Run a block as if serving a call with `context` (scripts, tests)."""
    token = enter(context)
    try:
        yield context
    finally:
        leave(token)

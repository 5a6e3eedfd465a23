"""The one clock of every service: UTC. A server's local zone is a deployment accident, so
"today" (is a departure in the future? is a package's window still open?) must not depend
on it, and must be the same day in every service."""
from __future__ import annotations

import datetime


def utc_now() -> datetime.datetime:
    """The current instant, timezone-aware, in UTC."""
    return datetime.datetime.now(datetime.UTC)


def utc_today() -> datetime.date:
    """Today's date in UTC."""
    return utc_now().date()

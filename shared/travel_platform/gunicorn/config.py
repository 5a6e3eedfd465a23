"""Gunicorn settings shared by every service:
`gunicorn -c python:travel_platform.gunicorn.config`.

What varies by deployment comes from the environment through `GunicornSettings`
(pydantic-settings, like each service's own settings), so a bad value fails at start-up
naming its variable."""
from pydantic_settings import BaseSettings, SettingsConfigDict

from travel_platform.gunicorn import errors as gunicorn_errors
from travel_platform.metrics import child_exit, on_starting  # noqa: F401  (gunicorn hooks)
from travel_platform.settings import load_settings


class GunicornSettings(BaseSettings):
    """Where a service listens, how many workers and threads serve it, where its access
    log goes ("-": standard output)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    bind: str = "127.0.0.1:8000"
    web_concurrency: int = 2
    # Threads let a worker keep serving while another request waits on a database or service.
    web_threads: int = 4
    access_log: str = "-"


settings = load_settings(GunicornSettings)

bind = settings.bind
workers = settings.web_concurrency
# gthread, refusing new connections as soon as it is stopped (see travel_platform.gunicorn.worker).
worker_class = "travel_platform.gunicorn.worker.ThreadWorker"
threads = settings.web_threads
timeout = 30
graceful_timeout = 10
keepalive = 15
accesslog = settings.access_log
errorlog = "-"
# One JSON object per line (see shared/travel_platform/gunicorn/access_log.py).
logger_class = "travel_platform.gunicorn.access_log.JsonAccessLogger"
# gunicorn's control socket lives at one path per user: with a dozen gunicorns on a machine
# they would fight over it, and nothing here uses it.
control_socket_disable = True


def post_worker_init(worker) -> None:
    """gunicorn's own 400/414/431/501 answers are JSON too (see travel_platform.gunicorn.errors)."""
    gunicorn_errors.install()

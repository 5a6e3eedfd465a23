"""Gunicorn settings shared by every service:
`gunicorn -c python:travel_platform.gunicorn_config`."""
import os

from travel_platform import gunicorn_errors
from travel_platform.metrics import child_exit, on_starting  # noqa: F401  (gunicorn hooks)

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads let a worker keep serving while another request waits on a database or service.
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = 30
graceful_timeout = 10
keepalive = 15
accesslog = os.environ.get("ACCESS_LOG", "-")
errorlog = "-"
# One JSON object per line (see travel_platform/gunicorn_logging.py).
logger_class = "travel_platform.gunicorn_logging.JsonAccessLogger"
# gunicorn's control socket lives at one path per user: with a dozen gunicorns on a machine
# they would fight over it, and nothing here uses it.
control_socket_disable = True


def post_worker_init(worker) -> None:
    """gunicorn's own 400/414/431/501 answers are JSON too (see gunicorn_errors)."""
    gunicorn_errors.install()

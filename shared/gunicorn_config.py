"""Gunicorn settings shared by every service: `gunicorn -c python:shared.gunicorn_config`."""
import os

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
access_log_format = (
    '{"time":"%(t)s","request_id":"%({x-request-id}i)s","method":"%(m)s","path":"%(U)s",'
    '"status":%(s)s,"bytes":"%(B)s","duration_ms":%(M)s,'
    # What the gateway said about the caller: for audit; services verify the token anyway.
    '"gateway_source":"%({x-auth-source}i)s","gateway_subject":"%({x-auth-subject}i)s"}'
)
# gunicorn's control socket lives at one path per user: with a dozen gunicorns on a machine
# they would fight over it, and nothing here uses it.
control_socket_disable = True

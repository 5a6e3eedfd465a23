"""moto, the local AWS, with its state kept on disk: every request that may change state is
appended to a journal before moto handles it, and replayed from it on the next start.

    python -m devstack.aws_emulator --host H --port P --journal FILE

moto keeps everything in memory, so a restart used to give a new Cognito pool, client and
users (new `sub`s, so every agent row was orphaned), an empty bucket and no secrets.
moto's own recorder (MOTO_ENABLE_RECORDING, /moto-api/recorder/replay-recording) with
/moto-api/seed replays requests in the order they were recorded, but moto draws its ids
(user `sub`s, pool and client ids, refresh tokens) from one random generator shared by
concurrent requests, so after a replay some users come back with each other's `sub`
(measured: 3 of 17 users created by 8 threads at once). Here requests are handled one at a
time, and each journalled request gets a seed of its own, stored with it: a replay hands
every request the random numbers it had the first time, whatever ran in between. The
wall-clock second is stored too and given back to Cognito's token minting, so tokens
minted before a restart are the very tokens moto knows after it (GlobalSignOut with them
works). Only creation timestamps differ after a replay.

Reads (GET/HEAD, and Get*/List*/Describe* actions) change nothing and are not journalled,
so the journal grows with writes and logins, not with JWKS fetches or secret reads. Each
entry is written (not fsynced) before the request runs: a `kill -9` loses nothing that was
answered; a power cut may lose the last entries. `/moto-api/reset` empties the journal.
"""
from __future__ import annotations

import argparse
import base64
import io
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from moto.moto_api._internal import mock_random
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

# The parts of a WSGI environ that make up the request (the rest is the server's).
_REQUEST_KEYS = ("REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "RAW_URI",
                 "REQUEST_URI", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL",
                 "CONTENT_TYPE", "CONTENT_LENGTH", "wsgi.url_scheme")
_READ_ACTIONS = ("Get", "List", "Describe")


class _TokenClock:
    """Stands in for the `time` module in moto's Cognito models: the real clock, except
    during a replay, when it is the second the request first ran."""

    def __init__(self) -> None:
        self.fixed: float | None = None

    def time(self) -> float:
        return time.time() if self.fixed is None else self.fixed

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def _install_token_clock() -> _TokenClock:
    import moto.cognitoidp.models as cognito_models

    clock = _TokenClock()
    cognito_models.time = clock  # type: ignore[assignment]
    return clock


def changes_state(environ: dict) -> bool:
    """Whether a request may change what moto holds (and so must be journalled)."""
    if environ.get("PATH_INFO", "").startswith("/moto-api/"):
        return False
    if environ["REQUEST_METHOD"] in ("GET", "HEAD", "OPTIONS"):
        return False
    action = environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")[2]
    return not action.startswith(_READ_ACTIONS)


def _read_body(environ: dict) -> bytes:
    stream = environ["wsgi.input"]
    if environ.get("CONTENT_LENGTH"):
        return stream.read(int(environ["CONTENT_LENGTH"]))
    if environ.get("wsgi.input_terminated") or environ.get("HTTP_TRANSFER_ENCODING"):
        return stream.read()
    return b""


class Journal:
    """The append-only file of state-changing requests."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", encoding="utf-8")

    def append(self, entry: dict) -> None:
        self._file.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self._file.flush()

    def clear(self) -> None:
        self._file.truncate(0)
        self._file.flush()

    def entries(self) -> Iterable[dict]:
        """Every complete entry; a last line cut short by a crash is skipped."""
        with open(self.path, encoding="utf-8") as lines:
            for line in lines:
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    print("[aws-emulator] skipping a journal entry cut short", flush=True)


class JournallingApp:
    """WSGI middleware: one request at a time; state-changing ones journalled first, each
    with its own random seed and clock second."""

    def __init__(self, app: Callable, journal: Journal, clock: _TokenClock):
        self.app, self.journal, self.clock = app, journal, clock
        self.lock = threading.Lock()

    def _run(self, environ: dict, start_response: Callable) -> list[bytes]:
        # The whole response is built under the lock: moto's state is not thread-safe.
        result = self.app(environ, start_response)
        try:
            return [b"".join(result)]
        finally:
            getattr(result, "close", lambda: None)()

    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        with self.lock:
            if environ.get("PATH_INFO") == "/moto-api/reset":
                self.journal.clear()
            if not changes_state(environ):
                return self._run(environ, start_response)
            body = _read_body(environ)
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            environ["CONTENT_LENGTH"] = str(len(body))
            environ["wsgi.input"] = io.BytesIO(body)
            entry: dict[str, Any] = {"seed": int.from_bytes(os.urandom(8), "big"),
                                     "time": int(time.time()),
                     "environ": {k: v for k, v in environ.items()
                                 if k in _REQUEST_KEYS or k.startswith("HTTP_")},
                     "body": base64.b64encode(body).decode("ascii")}
            self.journal.append(entry)
            mock_random.seed(entry["seed"])
            return self._run(environ, start_response)

    def replay(self) -> int:
        """Run every journalled request again, as it ran the first time; returns how many."""
        count = 0
        for entry in self.journal.entries():
            body = base64.b64decode(entry["body"])
            environ = {**entry["environ"], "wsgi.input": io.BytesIO(body),
                       "wsgi.errors": sys.stderr, "wsgi.version": (1, 0),
                       "wsgi.multithread": False, "wsgi.multiprocess": False,
                       "wsgi.run_once": False, "REMOTE_ADDR": "127.0.0.1"}
            mock_random.seed(entry["seed"])
            self.clock.fixed = entry["time"]
            try:
                self._run(environ, lambda status, headers, exc_info=None: None)
            except Exception as exc:  # it failed the first time too; state is as it was
                print(f"[aws-emulator] replayed request failed again: {exc!r}", flush=True)
            finally:
                self.clock.fixed = None
            count += 1
        return count


def _install_cognito_account_flows() -> None:
    """Where moto 5.2 differs from Cognito in the account flows agent-service uses.

    ResendConfirmationCode is missing. What Cognito answers: code delivery details for an
    unconfirmed user, UserNotFound for none, InvalidParameter "User is already confirmed."
    for a confirmed one (moto checks no confirmation codes anyway, so none is drawn).
    ConfirmForgotPassword for an unknown user answers ResourceNotFound (as if the app
    client did not exist); Cognito says UserNotFound."""
    from moto.cognitoidp.exceptions import (
        InvalidParameterException,
        ResourceNotFoundError,
        UserNotFoundError,
    )
    from moto.cognitoidp.models import (
        CognitoIdpBackend,
        UserStatus,
        cognitoidp_backends,
        find_account_region_by_value,
    )
    from moto.cognitoidp.responses import CognitoIdpResponse
    from moto.core.responses import ActionResult

    def resend_confirmation_code(self: CognitoIdpResponse) -> ActionResult:
        client_id, username = self._get_param("ClientId"), self._get_param("Username")
        account, region = find_account_region_by_value(
            "client_id", client_id, fallback=(self.current_account, self.region))
        pools = [p for p in cognitoidp_backends[account][region].user_pools.values()
                 if client_id in p.clients]
        if not pools:
            raise ResourceNotFoundError(client_id)
        user = pools[0]._get_user(username)
        if user is None:
            raise UserNotFoundError("Username/client id combination not found.")
        if user.status == UserStatus.CONFIRMED:
            raise InvalidParameterException("User is already confirmed.")
        email = next((a["Value"] for a in user.attributes if a["Name"] == "email"), "")
        local, _, domain = email.partition("@")
        return ActionResult({"CodeDeliveryDetails": {
            "Destination": f"{local[:1]}***@{domain[:1]}***", "DeliveryMedium": "EMAIL",
            "AttributeName": "email"}})

    CognitoIdpResponse.resend_confirmation_code = resend_confirmation_code  # type: ignore[attr-defined]

    confirm_forgot_password = CognitoIdpBackend.confirm_forgot_password

    def confirm_for_known_users(self: CognitoIdpBackend, client_id: str, username: str,
                                password: str, confirmation_code: str) -> None:
        if any(client_id in p.clients and not p._get_user(username)
               for p in self.user_pools.values()):
            raise UserNotFoundError("Username/client id combination not found.")
        confirm_forgot_password(self, client_id, username, password, confirmation_code)

    CognitoIdpBackend.confirm_forgot_password = confirm_for_known_users  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    """Replay the journal, then serve."""
    parser = argparse.ArgumentParser(prog="devstack.aws_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--journal", type=Path, required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    _install_cognito_account_flows()
    app = DomainDispatcherApplication(create_backend_app)
    journalled = JournallingApp(app, Journal(args.journal), _install_token_clock())
    started = time.monotonic()
    count = journalled.replay()
    print(f"[aws-emulator] replayed {count} journalled requests from {args.journal} in "
          f"{time.monotonic() - started:.1f} s", flush=True)
    run_simple(args.host, args.port, journalled, threaded=True,
               request_handler=MotoRequestHandler)
    return 0


if __name__ == "__main__":
    sys.exit(main())

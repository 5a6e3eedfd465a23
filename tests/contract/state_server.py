"""The provider-state endpoint Pact's verifier calls before each interaction: it arranges
the state on the real stack and answers the values the pact's ProviderState generators
need (a real sub, package id, token)."""
from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pact import Verifier

StateSetup = Callable[[], dict]


class StateServer:
    """Serves POST /pact-states on 127.0.0.1 for the duration of a `with` block."""

    def __init__(self, setups: dict[str, StateSetup]):
        self.setups = setups
        self.failures: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                values = {}
                if request.get("action", "setup") == "setup":
                    try:
                        values = server.setups[request["state"]]()
                    except Exception as exc:  # reported by the test, not lost in a thread
                        server.failures.append(f"{request['state']}: {exc!r}")
                        self.send_response(500)
                        self.end_headers()
                        return
                body = json.dumps(values).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        """Where the verifier should send state changes."""
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/pact-states"

    def __enter__(self) -> StateServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def verify_provider(provider: str, *, url: str, pact: str, setups: dict[str, StateSetup]) -> None:
    """Replay booking-service's pact against the real provider; raises, with the
    mismatches, if the provider broke it."""
    with StateServer(setups) as states:
        (Verifier(provider, host="127.0.0.1")
         .add_transport(url=url)
         .add_source(pact)
         .state_handler(states.url, body=True)
         .verify())
    assert not states.failures, states.failures

"""nginx's own cost per request, in instructions: the stack's rendered gateway configuration,
run as one nginx process under valgrind (callgrind) beside the stack, serving the same
authenticated `GET /api/agents/me` as bench/gateway_overhead.py; prints the user-space
instructions nginx executed per request.

CPU seconds per request move with the machine's load (caches, other stacks on the same two
cores); an instruction count does not: the same configuration gives the same figure within
a per cent or two on a busy machine, so a change to the gateway's configuration can be
judged in one run, and a budget can be checked in `make test` (GATEWAY_INSTRUCTION_BUDGET).
It counts nginx's user space only, not the kernel's work for its sockets and files.

    .venv/bin/python -m bench.gateway_instructions --env .dev/stack.env
    .venv/bin/python -m bench.gateway_instructions --env .dev/stack.env --quick   # 100 requests
"""
from __future__ import annotations

import argparse
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if not __package__:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import requests

from bench.stackenv import demo_agent_token, expect_ok, read_env, refuse

PATH = "/api/agents/me"
# What nginx may spend per request (user-space instructions under callgrind, nginx 1.22,
# OpenSSL 3.0, njs 0.7.9): 276,000 when the token's digest was made twice per request and
# the maps read the whole ~1 KiB header (docs/benchmarks.md, 1b), 188,000 since.
GATEWAY_INSTRUCTION_BUDGET = 220_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def single_process_config(config: str, work: Path) -> tuple[str, int]:
    """The rendered gateway configuration as one process (no master: callgrind follows one
    process) listening on free ports of its own, its pid, verdict cache and logs in `work`;
    and the port its API listens on. Everything else, the services behind it included, is
    the stack's."""
    ports: list[int] = []

    def listen(match: re.Match) -> str:
        ports.append(_free_port())
        return f"listen {match.group(1)}:{ports[-1]};"

    text = re.sub(r"^daemon off;", "daemon off;\nmaster_process off;", config, flags=re.M)
    text = re.sub(r"worker_processes \w+;", "worker_processes 1;", text)
    text = re.sub(r"listen ([\d.]+):\d+;", listen, text)
    text = re.sub(r"^pid \S+;", f"pid {work}/nginx.pid;", text, flags=re.M)
    text = re.sub(r"proxy_cache_path \S+", f"proxy_cache_path {work}/cache", text)
    text = re.sub(r"access_log \S+/gateway\.access\.log", f"access_log {work}/access.log", text)
    text = re.sub(r"^error_log \S+", f"error_log {work}/error.log", text, flags=re.M)
    # The API's server is the last one the template declares (the status server comes first).
    return text, ports[-1]


def measure(config_path: Path, token: str, *, requests_made: int) -> float:
    """User-space instructions nginx runs per request of `token` to PATH, through the
    configuration at `config_path` (a rendered gateway configuration)."""
    for tool in ("valgrind", "callgrind_control"):
        if shutil.which(tool) is None:
            refuse(f"{tool} is not installed: run WITH_BENCH=1 devstack/system-deps.sh "
                   "(make bench does), or apt-get install valgrind")
    with tempfile.TemporaryDirectory(prefix="gateway-instructions-") as folder:
        work = Path(folder)
        text, port = single_process_config(config_path.read_text(), work)
        (work / "nginx.conf").write_text(text)
        out = work / "callgrind.out"
        nginx = subprocess.Popen(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
             "nginx", "-c", str(work / "nginx.conf"), "-e", str(work / "error.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            url = f"http://127.0.0.1:{port}{PATH}"
            with requests.Session() as session:
                session.headers["Authorization"] = f"Bearer {token}"
                _wait_until_serving(session, url, nginx)
                for _ in range(20):  # warm: pools, the verdict cache, upstream connections
                    expect_ok(session.get(url, timeout=30), f"GET {PATH} (warm-up)")
                _callgrind_control("-z", nginx.pid)
                for _ in range(requests_made):
                    expect_ok(session.get(url, timeout=30), f"GET {PATH} under callgrind")
                _callgrind_control("-d", nginx.pid)
        finally:
            nginx.send_signal(signal.SIGQUIT)
            nginx.wait(timeout=60)
        [dump] = [p for p in work.glob("callgrind.out.*")]
        summary = re.search(r"^summary: (\d+)", dump.read_text(), re.M)
        if summary is None:
            refuse(f"callgrind's dump {dump.name} has no summary")
        return int(summary.group(1)) / requests_made


def _callgrind_control(flag: str, pid: int) -> None:
    run = subprocess.run(["callgrind_control", flag, str(pid)], capture_output=True, text=True)
    if run.returncode != 0:
        refuse(f"callgrind_control {flag} failed: {' '.join(run.stdout.split())[:160]}")


def _wait_until_serving(session: requests.Session, url: str, nginx: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60  # nginx reads its configuration slowly under valgrind
    while time.monotonic() < deadline:
        if nginx.poll() is not None:
            refuse(f"nginx under valgrind exited {nginx.returncode}: "
                   f"{' '.join((nginx.stderr.read() if nginx.stderr else '').split())[-200:]}")
        try:
            session.get(url, timeout=5)
            return
        except requests.ConnectionError:
            time.sleep(0.5)
    refuse("nginx under valgrind did not answer within 60 s")


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", type=Path, default=Path(".dev/stack.env"))
    parser.add_argument("--config", type=Path,
                        help="a rendered gateway configuration (default: the stack's own)")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="100 requests (make test)")
    args = parser.parse_args(argv)
    env = read_env(args.env)
    config = args.config or args.env.resolve().parent / "gateway" / "nginx.conf"
    per_request = measure(config, demo_agent_token(env),
                          requests_made=100 if args.quick else args.requests)
    print(f"GET {PATH} through {config}: {per_request:,.0f} nginx instructions per request "
          f"(budget {GATEWAY_INSTRUCTION_BUDGET:,})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

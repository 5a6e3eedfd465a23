"""What the revocation check costs (shared/travel_platform/auth/revocation.py): one question to the
token's issuer when a process has no fresh answer (Cognito GetUser, Supabase Auth GET
/auth/v1/user), and a lookup when it has one. Prints p50/p99 of each, with the same code
the services run.

    make bench            # every benchmark, against the `make up` stack
    .venv/bin/python -m bench.issuer_check --env .dev/stack.env --samples 300
    .venv/bin/python -m bench.issuer_check --env .dev/stack.env --quick   # 20 samples

Every question must be answered "the session stands": a timed refusal or an unreachable
issuer (a rate limit included) stops the run with one line and no figure.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

# Run as a file (`python bench/<name>.py`), import as `python -m bench.<name>` does: from the
# repository's root, not from bench/ (what Python put first on the path for a script).
if not __package__:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import boto3

from bench.stackenv import demo_agent_token, demo_operator_token, read_env, refuse
from travel_platform.auth.revocation import (
    CognitoCheck,
    IssuerCheck,
    IssuerUnreachable,
    RevocationCheck,
    SupabaseCheck,
)

QUICK_SAMPLES = 20


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.99) - 1]


def _time(call, samples: int) -> list[float]:
    took = []
    for _ in range(samples):
        started = time.perf_counter()
        call()
        took.append((time.perf_counter() - started) * 1000)
    return took


def _ask(check: IssuerCheck, name: str, token: str) -> None:
    """One question to the issuer, which must say the demo session stands."""
    try:
        refusal = check(token)
    except IssuerUnreachable as error:
        refuse(f"{name}: the issuer could not answer ({error})")
    if refusal is not None:
        refuse(f"{name}: the issuer refused the demo token ({refusal.message})")


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", type=Path, default=Path(".dev/stack.env"))
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_SAMPLES} samples each (what make test runs)")
    args = parser.parse_args(argv)
    if args.quick:
        args.samples = QUICK_SAMPLES
    env = read_env(args.env)
    cognito = CognitoCheck(boto3.client("cognito-idp", region_name=env["AWS_REGION"],
                                        endpoint_url=env["AWS_ENDPOINT_URL"]))
    supabase = SupabaseCheck(url=env["SUPABASE_URL"], anon_key=env["SUPABASE_ANON_KEY"],
                             timeout=(1.0, 2.0))
    tokens = {"cognito": demo_agent_token(env), "supabase": demo_operator_token(env)}
    checks: dict[str, IssuerCheck] = {"cognito": cognito, "supabase": supabase}
    live = RevocationCheck(checks, fresh_seconds=10, stale_seconds=20)
    rows = {}
    for name, check in checks.items():
        _ask(check, name, tokens[name])
        rows[f"{name}: ask the issuer (miss)"] = _time(
            lambda c=check, n=name: _ask(c, n, tokens[n]), args.samples)
        live.check(tokens[name], name, expires_at=time.time() + 600)
        rows[f"{name}: fresh answer (hit)"] = _time(
            lambda n=name: live.check(tokens[n], n, expires_at=time.time() + 600),
            args.samples)
    print(f"{args.samples} samples each, one at a time")
    print(f"{'':34} {'p50 ms':>8} {'p99 ms':>8}")
    for name, took in rows.items():
        p50, p99 = _percentiles(took)
        print(f"{name:34} {p50:8.3f} {p99:8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What the revocation check costs (travel_platform/auth/liveness.py): one question to the
token's issuer when a process has no fresh answer (Cognito GetUser, Supabase Auth GET
/auth/v1/user), and a lookup when it has one. Prints p50/p99 of each, with the same code
the services run.

    python bench/issuer_check.py --env .dev/stack.env --samples 300
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import boto3
import requests
from stackenv import demo_agent_token, read_env

from travel_platform.auth.liveness import CognitoCheck, Liveness, SupabaseCheck


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


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", type=Path, default=Path(".dev/stack.env"))
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args(argv)
    env = read_env(args.env)
    operator = requests.post(
        f"{env['SUPABASE_URL']}/auth/v1/token?grant_type=password", timeout=10,
        headers={"apikey": env["SUPABASE_ANON_KEY"]},
        json={"email": env["DEMO_OPERATOR_EMAIL"], "password": env["DEMO_OPERATOR_PASSWORD"]})
    operator.raise_for_status()
    cognito = CognitoCheck(boto3.client("cognito-idp", region_name=env["AWS_REGION"],
                                        endpoint_url=env["AWS_ENDPOINT_URL"]))
    supabase = SupabaseCheck(url=env["SUPABASE_URL"], anon_key=env["SUPABASE_ANON_KEY"],
                             timeout=(1.0, 2.0))
    tokens = {"cognito": demo_agent_token(env),
              "supabase": operator.json()["access_token"]}
    checks = {"cognito": cognito, "supabase": supabase}
    live = Liveness(checks, fresh_seconds=10, stale_seconds=20)
    rows = {}
    for name, check in checks.items():
        assert check(tokens[name]) is None, f"the demo {name} token is refused"
        rows[f"{name}: ask the issuer (miss)"] = _time(lambda c=check, n=name: c(tokens[n]),
                                                       args.samples)
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

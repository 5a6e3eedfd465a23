"""python -m devstack up|down|status [--state DIR] [--port-offset N] [--supabase on|off]"""
import argparse
import sys
from pathlib import Path

from devstack.layout import REPO, Layout
from devstack.stack import StackError, down, status, up


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="devstack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--state", type=Path, default=REPO / ".dev",
                        help="folder for data, logs and pid files (default: .dev)")
    parser.add_argument("--port-offset", type=int, default=0,
                        help="added to every port, to run a second stack beside the first")
    parser.add_argument("--supabase", choices=["on", "off"], default="on",
                        help="off: run with no Supabase at all, once the move to RDS is "
                             "finalized (docs/deployment.md, \"Supabase off\")")
    args = parser.parse_args(argv)
    layout = Layout(state=args.state.resolve(), port_offset=args.port_offset)
    if args.command == "down":
        down(layout)
        return 0
    if args.command == "status":
        return status(layout)
    try:
        env = up(layout, supabase=args.supabase == "on")
    except (StackError, RuntimeError) as exc:
        print(f"[devstack] FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"\nThe platform is up. Gateway: {env['GATEWAY_URL']}\n"
          f"  Travel Agent Dashboard: {env['DASHBOARD_URL']}\n"
          f"  demo travel agent: {env['DEMO_AGENT_EMAIL']} / {env['DEMO_AGENT_PASSWORD']}\n"
          f"  demo tour operator: {env['DEMO_OPERATOR_EMAIL']} / {env['DEMO_OPERATOR_PASSWORD']}\n"
          f"  settings: {layout.state / 'stack.env'}   logs: {layout.logs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

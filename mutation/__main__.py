"""`make mutation`: break each security and money rule in a scratch copy of the repository,
run the tests named for it, and report which mutations the tests caught.

    python -m mutation                  # baseline, then every mutation
    python -m mutation NAME [NAME...]   # only these
    python -m mutation --list

A mutation is caught when its tests fail; it survives when they pass: then no test would
notice that rule breaking. Each run has its own copy and its own stack (ports shifted by
TEST_PORT_OFFSET, 3000 unless set), so the working tree and other stacks are untouched.
Exit status 1 if any mutation survived or could not be applied, or the baseline failed."""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from devstack.api import code_path
from mutation.mutations import MUTATIONS, Mutation

REPO = Path(__file__).resolve().parent.parent


def _scratch_copy() -> Path:
    """The repository's tracked and new files (not ignored ones: no .venv, no state)."""
    root = Path(tempfile.mkdtemp(prefix="mutation-"))
    root.chmod(0o755)   # PostgreSQL (user postgres) must reach the stack's folders inside
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=REPO, check=True, capture_output=True).stdout.split(b"\0")
    copy = root / "repo"
    for name in filter(None, files):
        source = REPO / os.fsdecode(name)
        if source.is_file():
            target = copy / os.fsdecode(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return copy


def _apply(copy: Path, mutation: Mutation) -> str | None:
    """Apply the mutation; the reason it cannot be applied, or None."""
    path = copy / mutation.path
    text = path.read_text()
    found = text.count(mutation.old)
    if found != 1:
        return f"the text to replace occurs {found} times in {mutation.path}"
    path.write_text(text.replace(mutation.old, mutation.new))
    return None


def _pytest(copy: Path, tests: list[str], k: str | None) -> tuple[int, str]:
    # The copy's code, not the checkout the venv's in-place installs point to.
    env = {**os.environ, "TEST_PORT_OFFSET": os.environ.get("TEST_PORT_OFFSET", "3000"),
           "TEST_STATE_DIR": str(copy.parent / "state"), "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONPATH": code_path(copy)}
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests]
    if k:
        command += ["-k", k]
    result = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True,
                            timeout=900)
    return result.returncode, result.stdout + result.stderr


def _first_failure(output: str) -> str:
    for line in output.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return line.split(" - ")[0]
    return ""


def run_one(mutation: Mutation | None, tests: list[str], k: str | None) -> tuple[str, str, float]:
    """(outcome, detail, seconds) of one mutation (None: the unmutated baseline)."""
    started = time.monotonic()
    copy = _scratch_copy()
    try:
        if mutation is not None:
            problem = _apply(copy, mutation)
            if problem:
                return "not applied", problem, time.monotonic() - started
        code, output = _pytest(copy, tests, k)
    finally:
        shutil.rmtree(copy.parent, ignore_errors=True)
    seconds = time.monotonic() - started
    if code == 0:
        return ("passed" if mutation is None else "SURVIVED"), "", seconds
    if code == 1:
        return ("FAILED" if mutation is None else "caught"), _first_failure(output), seconds
    return "error", f"pytest exit {code}: {output.strip().splitlines()[-1:]}", seconds


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m mutation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="mutations to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip checking that the named tests pass on the unmutated code")
    args = parser.parse_args()
    by_name = {m.name: m for m in MUTATIONS}
    if args.list:
        for m in MUTATIONS:
            print(f"{m.name:32} {m.path}\n{'':32} {m.rule}")
        return 0
    unknown = [n for n in args.names if n not in by_name]
    if unknown:
        parser.error(f"unknown mutations: {', '.join(unknown)} (see --list)")
    chosen = [by_name[n] for n in args.names] if args.names else list(MUTATIONS)

    if not args.no_baseline:
        # Every file the chosen mutations name, whole (a superset of each selection): it must
        # pass unmutated, or a "caught" below would mean nothing.
        files = sorted({t.split("::")[0] for m in chosen for t in m.tests})
        outcome, detail, seconds = run_one(None, files, None)
        print(f"{'baseline':11} {'(' + ', '.join(Path(f).name for f in files) + ')'} "
              f"{outcome} {detail} {seconds:.0f} s", flush=True)
        if outcome != "passed":
            return 1

    results = []
    for m in chosen:
        outcome, detail, seconds = run_one(m, list(m.tests), m.k)
        results.append((m, outcome))
        print(f"{outcome:11} {m.name:32} {seconds:4.0f} s  {detail}", flush=True)
    caught = sum(1 for _, outcome in results if outcome == "caught")
    print(f"\nmutation score: {caught}/{len(results)} caught")
    for m, outcome in results:
        if outcome != "caught":
            print(f"  {outcome}: {m.name} ({m.path}): {m.rule}")
    return 0 if caught == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())

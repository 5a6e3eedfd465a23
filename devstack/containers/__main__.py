"""python -m devstack.containers init|setup|seed (see the package's docstring)."""
import sys

from devstack import containers

JOBS = {"init": containers.init, "setup": containers.setup, "seed": containers.seed_demo}

if len(sys.argv) != 2 or sys.argv[1] not in JOBS:
    sys.exit(f"usage: python -m devstack.containers {'|'.join(JOBS)}")
JOBS[sys.argv[1]]()

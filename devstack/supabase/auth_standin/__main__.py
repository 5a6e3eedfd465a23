"""`python -m auth_standin ...`: the key tooling in auth_standin.keys."""
import sys

from .keys import main

sys.exit(main())

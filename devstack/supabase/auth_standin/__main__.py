"""`python -m devstack.supabase.auth_standin ...`: the key tooling in its `keys` module."""
import sys

from .keys import main

sys.exit(main())

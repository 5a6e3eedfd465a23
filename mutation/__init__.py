"""A small mutation check of the security and money rules: see `python -m mutation --help`."""

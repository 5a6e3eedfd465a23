"""The benchmarks, run as modules from the repository's root (`python -m bench.<name>`, as
`make bench` does) so they import `devstack.api`, `tests.builders` and the services' code
as installed or checked out, with no path of their own. Each has a `--quick` mode (seconds,
tiny sizes) that `make test` runs (tests/e2e/test_benchmarks.py), so a benchmark that no
longer imports, or whose traffic is refused, fails CI instead of rotting until the next
measurement."""

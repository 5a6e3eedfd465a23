"""Tests, benchmarks and the mutation tool reach devstack only through `devstack.api`, its
public surface: the rest of devstack may change without notice (devstack/api.py), and a
test that reached into it would break with the next refactoring, or pin devstack to its
current insides."""
from __future__ import annotations

import ast
from collections.abc import Iterator

from tests.helpers import REPO

CHECKED = ("tests", "bench", "mutation")
PUBLIC = "devstack.api"


def devstack_imports(tree: ast.AST) -> Iterator[str]:
    """Every devstack module an import statement names (at any depth: imports inside a
    function count too), as dotted names; `from devstack import x` names devstack.x."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names
                        if alias.name.split(".")[0] == "devstack")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "devstack":
                yield from (f"devstack.{alias.name}" for alias in node.names)
            elif node.module.split(".")[0] == "devstack":
                yield node.module


def test_tests_benchmarks_and_mutation_import_devstack_only_through_its_api() -> None:
    paths = sorted(path for folder in CHECKED for path in (REPO / folder).rglob("*.py"))
    assert {REPO / "tests" / "conftest.py", REPO / "bench" / "soak.py"} <= set(paths)
    offenders = {}
    for path in paths:
        names = sorted({name for name in devstack_imports(ast.parse(path.read_text()))
                        if name != PUBLIC})
        if names:
            offenders[str(path.relative_to(REPO))] = names
    assert not offenders, (
        f"import these through {PUBLIC} (add what is missing there, with a docstring): "
        + "; ".join(f"{module}: {', '.join(names)}" for module, names in offenders.items()))


def test_the_check_sees_every_way_of_importing_an_internal_module() -> None:
    source = """
import devstack
import devstack.stack as stack
from devstack import api, processes
from devstack.layout import Layout
from devstack.api import up
def later():
    from devstack.supabase.auth_standin import keys
"""
    assert sorted(set(devstack_imports(ast.parse(source))) - {PUBLIC}) == [
        "devstack", "devstack.layout", "devstack.processes", "devstack.stack",
        "devstack.supabase.auth_standin"]


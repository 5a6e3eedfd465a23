"""Tests use what a service offers, never its underscore names: a private helper may be
renamed or folded away in any refactor, and a test pinned to it then fails for no fault a
user could see (issue 23). A rule worth testing alone belongs in the service's public
`rules` module."""
from __future__ import annotations

import ast

from tests.helpers import REPO

SERVICE_PACKAGES = ("agent_service", "operator_service", "booking_service")


def private_uses(source: str) -> list[str]:
    """`from <service> import _x` and `<service module>._x` in one test module's source."""
    tree = ast.parse(source)
    modules, found = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (
                (node.module or "").split(".")[0] in SERVICE_PACKAGES):
            found += [f"from {node.module} import {a.name}" for a in node.names
                      if a.name.startswith("_")]
            modules |= {a.asname or a.name for a in node.names}
        if isinstance(node, ast.Import):
            modules |= {a.asname or a.name.split(".")[0] for a in node.names
                        if a.name.split(".")[0] in SERVICE_PACKAGES}
    found += [f"line {node.lineno}: {node.value.id}.{node.attr}" for node in ast.walk(tree)
              if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
              and node.value.id in modules and node.attr.startswith("_")
              and not node.attr.startswith("__")]
    return found


def test_the_check_sees_both_ways_of_reaching_a_private_name():
    assert private_uses("from booking_service.making import _quote\n") == [
        "from booking_service.making import _quote"]
    assert private_uses("from booking_service import making\nmaking._store()\n") == [
        "line 2: making._store"]
    assert private_uses("from booking_service import rules\nrules.owner_of(x)\n") == []


def test_no_test_reaches_a_services_private_names():
    offenders = {str(path.relative_to(REPO)): uses
                 for path in sorted((REPO / "tests").rglob("*.py"))
                 if (uses := private_uses(path.read_text()))}
    assert offenders == {}

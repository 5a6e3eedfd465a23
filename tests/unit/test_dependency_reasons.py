"""Every package the requirements name has a row in docs/dependencies.md saying why it is there.

A dependency nobody can explain is one nobody dares remove, and one added without a reason is
how a project ends up with two libraries for one job. The row is written when the package is
added, in the same commit, or this fails naming it."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ("requirements.txt", "requirements-dev.txt")


def canonical(name: str) -> str:
    """pip's name rule: case, `-`, `_` and `.` do not matter; extras are not the package."""
    return re.sub(r"[-_.]+", "-", name.split("[")[0].strip()).lower()


def required() -> set[str]:
    names = set()
    for file in REQUIREMENTS:
        for line in (ROOT / file).read_text().splitlines():
            line = line.split("#")[0].strip()
            if line and not line.startswith("-"):
                names.add(canonical(re.split(r"[=<>!~; ]", line)[0]))
    return names


def explained() -> set[str]:
    """The packages in the first column of the page's table (`psycopg[binary], psycopg-pool`;
    `pydantic[email] (email-validator)`: the words before a parenthesis)."""
    names = set()
    for line in (ROOT / "docs/dependencies.md").read_text().splitlines():
        cells = line.split("|")
        if len(cells) > 2 and not set(cells[1].strip()) <= set("-"):
            for name in re.sub(r"\([^)]*\)", "", cells[1]).split(","):
                names.add(canonical(name))
    return names


def test_every_required_package_says_why_it_is_there() -> None:
    unexplained = sorted(required() - explained())
    assert not unexplained, f"no row in docs/dependencies.md for: {', '.join(unexplained)}"

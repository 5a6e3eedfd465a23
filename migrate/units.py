"""The units of the move, in the design note's order (least risky first, after a rehearsal
on a table of no value), and why each switches where it does.

A unit is a set of tables copied, replicated and verified together. Its writes can only
move with every table that one transaction writes together with it: a transaction cannot
span two databases (operator_service/datasource.py refuses), so add-ons and exclusions,
which every package write changes in the same transaction as the package, switch with
`packages`. Their reads move with `packages` for the same reason: every read of an add-on
is a read of its package (one query, and the add-ons' RLS policies look the package up).
"""
from __future__ import annotations

from dataclasses import dataclass

# The tables are named once, for this tool and operator-service alike.
from travel_platform.operator_tables import (
    ADDONS,
    CHANGES,
    EXCLUSIONS,
    OPERATOR_TABLES,
    PACKAGES,
    REHEARSAL,
    STOPS,
    USERS,
)


@dataclass(frozen=True)
class Unit:
    """One step of the move."""

    name: str
    tables: tuple[str, ...]
    # The unit whose switches carry this one's (None: it switches itself), and why.
    switches_with: str | None = None
    why: str = ""


UNITS: tuple[Unit, ...] = (
    Unit("rehearsal", (REHEARSAL,),
         why="a table holding nothing anyone needs, to rehearse every step on the real "
             "servers before operator data moves"),
    Unit("addons", (ADDONS,), switches_with="packages",
         why="every package write changes its add-ons in the same transaction, and every "
             "read of an add-on reads its package (one query; its RLS policies look the "
             "package up), so its reads and writes switch with packages"),
    Unit("exclusions", (EXCLUSIONS,), switches_with="packages",
         why="written and read together with its package, like add-ons"),
    Unit("packages", (PACKAGES, STOPS, CHANGES),
         why="packages, their stops and their audit are written in one transaction (the "
             "audit by triggers); its switches carry add-ons and exclusions"),
    Unit("operators", (USERS,),
         why="operator profiles; the logins themselves move with the auth migration"),
)
BY_NAME = {unit.name: unit for unit in UNITS}


class UnitsError(ValueError):
    """The units do not move the operator tables, each exactly once."""


def check_covers(units: tuple[Unit, ...], tables: tuple[str, ...]) -> None:
    """UnitsError unless `units` move every table of `tables` once and nothing else: a table
    operator-service serves but no unit moves would stay behind on Supabase for good, and one
    it does not know would be routed by nobody (operator_service/datasource.py refuses it)."""
    moved = [table for unit in units for table in unit.tables]
    problems = [f"{label}: {', '.join(sorted(names))}" for label, names in (
        ("operator tables no unit moves", set(tables) - set(moved)),
        ("tables moved that are no operator table", set(moved) - set(tables)),
        ("tables in two units", {t for t in moved if moved.count(t) > 1})) if names]
    if problems:
        raise UnitsError("the units of the move (migrate/units.py) and the operator tables "
                         "(shared/travel_platform/operator_tables.py) disagree: "
                         + "; ".join(problems))


check_covers(UNITS, OPERATOR_TABLES)


class UnknownUnit(ValueError):
    """A unit name the tool does not know."""


def unit_named(name: str) -> Unit:
    """The unit called `name`, or UnknownUnit naming the valid ones."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise UnknownUnit(f"no unit {name!r}; the units, in order: "
                          f"{', '.join(u.name for u in UNITS)}") from None


def switch_group(unit: Unit) -> tuple[Unit, ...]:
    """The units whose reads and writes switch together with `unit`, in order, then `unit`
    itself (the note's order puts a carrier after what it carries); `unit` must be one that
    switches itself. Any Unit has a group: a unit of tables of its own (a rehearsal's, a
    test's) carries nothing and switches alone."""
    return (*(u for u in UNITS if u.switches_with == unit.name and u is not unit), unit)


def position(unit: Unit) -> int:
    """1-based place of the unit in the note's order."""
    return UNITS.index(unit) + 1

"""Sequences follow the writes. Logical replication copies rows, not sequences: the side
that takes a unit's writes next would hand out ids the other side already used. So before
it does (`switch-writes` onto RDS, the last replay round of `rollback` onto Supabase), each
identity and serial sequence of the unit is set past the highest value either side has."""
from __future__ import annotations

from psycopg import sql

from migrate.replication import identity_sequences, qualified
from migrate.state import Conn, one
from migrate.units import Unit


def copy_sequences(source: Conn, target: Conn, unit: Unit) -> dict:
    """Set each identity/serial sequence of the unit on `target` past both the source's
    sequence and the target's rows (sequences are not replicated)."""
    done = {}
    for table in unit.tables:
        for column, seq in identity_sequences(source, table):
            last = one(source.execute(sql.SQL(
                "select greatest((select last_value from {seq}), "
                "(select coalesce(max({col}), 0) from {t})) as v").format(
                seq=sql.SQL(seq), col=sql.Identifier(column), t=qualified(table))).fetchone())["v"]
            target_max = one(target.execute(sql.SQL(
                "select coalesce(max({col}), 0) as v from {t}").format(
                col=sql.Identifier(column), t=qualified(table))).fetchone())["v"]
            value = max(last, target_max, 1)
            target.execute("select setval(%s, %s, true)", (seq, value))
            done[seq] = value
    return done

"""Who writes each table on Supabase, so a team finds its direct writers before the move.

From the write cutover on, the side that no longer holds a unit's tables refuses every write
to them (the fence, enforced by the database), so a supabase-js frontend, a cron job or a
script that writes those tables directly must be pointed at the API first. Every Supabase
project has pg_stat_statements (in schema `extensions`), which records each statement with
the role that ran it: `plan` reads the INSERT, UPDATE, DELETE, MERGE and TRUNCATE statements
that name each table. Statement texts are normalised (constants become $1), so one entry
covers every call of one statement by one role."""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from psycopg import sql

from migrate.state import Conn

_WRITE = (r"\b(?:insert\s+into|update|delete\s+from|merge\s+into|truncate(?:\s+table)?)"
          r"\s+(?:only\s+)?(?:\"?public\"?\s*\.\s*)?\"?{table}\"?(?![\w$])")


def tables_written(query: str, tables: Iterable[str]) -> list[str]:
    """The `tables` that one statement's text writes."""
    return [t for t in tables
            if re.search(_WRITE.format(table=re.escape(t)), query, re.IGNORECASE)]


def writers_of(conn: Conn, tables: Iterable[str]) -> dict[str, Counter] | None:
    """Per table, statements run per role since pg_stat_statements was last reset; None
    when the server does not have pg_stat_statements."""
    tables = list(tables)
    schema = conn.execute("select n.nspname from pg_extension e join pg_namespace n "
                          "on n.oid = e.extnamespace where e.extname = 'pg_stat_statements'"
                          ).fetchone()
    if schema is None:
        return None
    found: dict[str, Counter] = {t: Counter() for t in tables}
    for row in conn.execute(sql.SQL(
            "select r.rolname, s.query, s.calls from {}.pg_stat_statements s "
            "join pg_roles r on r.oid = s.userid "
            "where s.query ~* '(insert|update|delete|merge|truncate)'").format(
            sql.Identifier(schema["nspname"]))):
        for table in tables_written(row["query"], tables):
            found[table][row["rolname"]] += row["calls"]
    return found

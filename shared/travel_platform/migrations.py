"""Apply the SQL files of a migrations folder once each, in name order, recording them.

    python -m travel_platform.migrations --database-url URL --dir supabase/migrations

History goes to `supabase_migrations.schema_migrations (version, name, statements)`, the
table the Supabase CLI keeps, so `supabase db push` and this runner agree on what ran.
Each file runs in its own transaction with its record; a file changed after it was
applied is an error, not a silent skip. Safe to run twice, and concurrently.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import psycopg

HISTORY_DDL = """
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (
  version text primary key, statements text[], name text)
"""
_FILE_NAME = re.compile(r"^(?P<version>\d+)_(?P<name>[A-Za-z0-9_\-]+)\.sql$")
_LOCK_KEY = 7_201_125  # any constant: serialises runners on the same database


class MigrationError(RuntimeError):
    """A migrations folder or its history is inconsistent."""


def discover(directory: Path) -> list[tuple[str, str, str]]:
    """(version, name, sql) of each migration file, in version order."""
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: expected <version>_<name>.sql")
        found.append((match["version"], match["name"], path.read_text()))
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"{directory}: two files share a version")
    return found


def apply_migrations(*, conninfo: str, directory: Path) -> list[str]:
    """Apply the files not yet recorded; return the versions applied now."""
    applied_now = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            conn.execute(HISTORY_DDL)
            history = {row[0]: row[1] for row in conn.execute(
                "select version, statements from supabase_migrations.schema_migrations")}
            for version, name, sql in discover(directory):
                if version in history:
                    if history[version] != [sql]:
                        raise MigrationError(f"{version}_{name}.sql changed after it was applied")
                    continue
                with conn.transaction():
                    conn.execute(sql)
                    conn.execute(
                        "insert into supabase_migrations.schema_migrations "
                        "(version, name, statements) values (%s, %s, %s)", (version, name, [sql]))
                applied_now.append(version)
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied_now


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--dir", required=True, type=Path)
    args = parser.parse_args(argv)
    try:
        applied = apply_migrations(conninfo=args.database_url, directory=args.dir)
    except (MigrationError, psycopg.Error) as exc:
        print(f"migrations in {args.dir}: {exc}", file=sys.stderr)
        return 1
    print(f"migrations in {args.dir}: applied {len(applied)} ({', '.join(applied) or 'none new'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

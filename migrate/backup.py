"""Restorable dumps of a unit's tables: `pg_dump --data-only --format=custom` of each side,
with its SHA-256 and row counts recorded in RDS, so the dump that `start` relies on can be
checked before it is restored (`pg_restore --data-only --disable-triggers` into the same
tables, or into a fresh database made with the same migrations)."""
from __future__ import annotations

import datetime
import hashlib
import subprocess
from pathlib import Path

from migrate.state import ToolError
from migrate.units import Unit


def pg_tool(pg_bin: Path, name: str) -> str:
    path = pg_bin / name
    if not path.exists():
        raise ToolError(f"{path} not found; set MIGRATE_PG_BIN to the folder of the servers' "
                        f"PostgreSQL {name}")
    return str(path)


def dump(*, pg_bin: Path, url: str, unit: Unit, side: str, folder: Path) -> tuple[Path, str, int]:
    """Dump the unit's tables of one side; (file, sha256, bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"{unit.name}-{side}-{stamp}.dump"
    args = [pg_tool(pg_bin, "pg_dump"), "--data-only", "--format=custom", f"--file={path}",
            *[f"--table=public.{t}" for t in unit.tables], f"--dbname={url}"]
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        path.unlink(missing_ok=True)
        raise ToolError(f"pg_dump of {unit.name} on {side} failed: "
                        f"{result.stderr.strip().splitlines()[-1] if result.stderr else '?'}")
    path.chmod(0o600)   # operator data: readable by whoever runs the tool only
    return path, sha256_of(path), path.stat().st_size


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def restore(*, pg_bin: Path, url: str, path: Path, expected_sha256: str) -> None:
    """Load a dump's rows into existing, empty tables, after checking its checksum."""
    if sha256_of(path) != expected_sha256:
        raise ToolError(f"{path} does not match its recorded checksum; do not restore it")
    result = subprocess.run([pg_tool(pg_bin, "pg_restore"), "--data-only", "--disable-triggers",
                             "--single-transaction", f"--dbname={url}", str(path)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise ToolError(f"pg_restore of {path.name} failed: {result.stderr.strip()[-300:]}")


def prune(folder: Path, *, keep_days: int, now: datetime.datetime) -> list[Path]:
    """Delete the unit backups older than `keep_days`, except the newest of each unit and
    side (a move that runs longer than the retention still has the dump `start` relied on);
    the files deleted."""
    newest: dict[tuple[str, str], Path] = {}
    dated: list[tuple[Path, datetime.datetime]] = []
    for path in sorted(folder.glob("*-*-*.dump")):
        parts = path.stem.rsplit("-", 2)
        if len(parts) != 3 or path.name.startswith("supabase-final-"):
            continue
        try:
            taken = datetime.datetime.strptime(parts[2], "%Y%m%dT%H%M%S%fZ").replace(
                tzinfo=datetime.UTC)
        except ValueError:
            continue
        dated.append((path, taken))
        newest[(parts[0], parts[1])] = path      # sorted by name: the stamp orders them
    keep = set(newest.values())
    gone = [path for path, taken in dated
            if path not in keep and now - taken > datetime.timedelta(days=keep_days)]
    for path in gone:
        path.unlink()
    return gone

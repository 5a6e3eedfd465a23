"""Backups are kept for the retention (the design note's 30 days), never the newest of a
unit and side: a move that outlasts the retention keeps the dump `start` relied on."""
from __future__ import annotations

import datetime

from migrate.backup import prune

NOW = datetime.datetime(2026, 12, 7, 12, 0, tzinfo=datetime.UTC)


def _dump(folder, unit: str, side: str, days_old: float):
    stamp = (NOW - datetime.timedelta(days=days_old)).strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"{unit}-{side}-{stamp}.dump"
    path.write_bytes(b"dump")
    return path


def test_old_backups_go_but_the_newest_of_each_unit_and_side_stays(tmp_path):
    old = [_dump(tmp_path, "packages", "supabase", 45), _dump(tmp_path, "packages", "rds", 31)]
    newest_old = _dump(tmp_path, "packages", "rds", 30.5)   # past retention, but the newest
    recent = [_dump(tmp_path, "packages", "supabase", 2), _dump(tmp_path, "addons", "supabase", 29)]
    alone = _dump(tmp_path, "operators", "supabase", 90)     # the only one of its kind
    final = tmp_path / "supabase-final-20251001T000000Z.dump"
    final.write_bytes(b"archive")
    other = tmp_path / "notes.txt"
    other.write_text("kept")

    gone = prune(tmp_path, keep_days=30, now=NOW)

    assert sorted(gone) == sorted(old)
    assert not any(p.exists() for p in old)
    assert all(p.exists() for p in [newest_old, *recent, alone, final, other])
    assert prune(tmp_path, keep_days=30, now=NOW) == []

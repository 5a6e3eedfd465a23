"""Are the two copies of a unit the same? The primary key is walked in order on Supabase
(keyset pagination: the key `MIGRATE_VERIFY_CHUNK_ROWS` rows after the last boundary), and
each key range is hashed by both servers at once: its rows and the XOR of their 64-bit row
hashes. A range that differs is hashed again once RDS has applied everything Supabase had
committed (a heartbeat row published with the unit), so lag is not taken for a difference;
one that still differs is halved by rows while its differences lie in one half, down to a
few hundred rows, and what is left is streamed from both sides in key order through
server-side cursors and merged like a sorted merge join, which names each differing key.
Rows found differing are compared again after RDS caught up, until the answer is stable, so
a row written between the two servers' scans is not reported (and a real difference is).

Why ranges of the key and not buckets of a hash of it: a range's size is set in rows, so a
chunk is as cheap at 100,000,000 rows as at 1,000; a chunk covers a few milliseconds of
scanning, so writes during a verify make few chunks differ, where a hash bucket spans the
whole table and a write anywhere in it made it differ; and memory holds a chunk's boundary,
never its rows. What is kept in memory: one boundary per differing chunk, one leaf's
differing keys, and the first MAX_NAMED differing rows of the unit (the others are
counted), whatever the size of the tables and however many rows differ. pg_comparator and
pgcopydb's `compare data` hash in the same way (checksums of key ranges, differing ranges
narrowed down); Ghostferry's IterativeVerifier re-checks what changed, as the cutover's
hold does here (`compare_changed`).

Before each chunk the verify is paced (`Pacer`, gh-ost's --max-lag-millis and
--max-load): it waits while RDS applies Supabase's changes late or while Supabase is busy,
so that verifying the production databases neither starves their clients nor lets the
subscription fall behind.

Each row is hashed from its text form (`hashtextextended(t::text, 0)`), so both sessions
print values alike (UTC, ISO dates: see state.connect) and both tables must have the same
columns in the same order, which one set of migrations guarantees (and migrate/schema.py
checks). Key ranges assume both servers order the key alike, which uuid and integer keys
always do (a text key needs the same collation on both); the merge itself orders keys by
their text in the "C" collation on both sides, so it never depends on a collation. Keys of
any number of columns are compared (ranges are row comparisons: `(a, b) > (x, y)`)."""
from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from psycopg import sql
from psycopg.rows import tuple_row

from migrate import replication
from migrate.replication import primary_key, qualified
from migrate.state import Conn, ToolError, one
from migrate.units import Unit

CHUNK_ROWS = 100_000
# A differing range of at most this many rows is compared row by row.
LEAF_ROWS = 500
# Rows fetched per round trip while a range is streamed.
ITERSIZE = 1_000
# Differing rows named in the result (status, events, the command's output); the others
# are counted: a table that differs everywhere must not fill the tool's memory.
MAX_NAMED = 1_000
MAX_RECHECKS = 5

Range = tuple[tuple | None, tuple | None]   # (after this key, up to and with this key)


class Mismatches(list):
    """The differing rows found (`table`, `key`, `problem`): at most `keep` of them (None:
    all), and `total`, how many in all."""

    def __init__(self, keep: int | None = MAX_NAMED) -> None:
        super().__init__()
        self.keep = keep
        self.total = 0

    def add(self, found: dict) -> None:
        self.total += 1
        if self.keep is None or len(self) < self.keep:
            self.append(found)


class Pacer:
    """Called before each chunk: returns at once unless RDS lags or Supabase is busy, then
    waits (saying so every few seconds) until neither holds, and gives up with one line
    once it has waited `max_wait` seconds in all.

    The lag is measured with the unit's heartbeat (pt-heartbeat's way): a beat is committed
    on Supabase and, while RDS has not applied it, RDS is at least as far behind as the
    beat is old. It is read on RDS's own table, so it holds whatever pg_stat_subscription
    reports, and it is in seconds, what a reader of RDS notices. The load is the number of
    Supabase sessions running a statement (not this tool's, not WAL senders)."""

    CHECK_EVERY = 0.25   # seconds between two checks
    PAUSE = 0.5          # seconds slept between two checks while waiting
    SAY_EVERY = 5.0      # seconds between two "waiting" lines

    def __init__(self, supabase: Conn, rds: Conn, unit: Unit, *, max_lag_seconds: float,
                 max_active_sessions: int, max_wait_seconds: float,
                 say: Callable[[str], None]) -> None:
        self.supabase, self.rds, self.unit, self.say = supabase, rds, unit, say
        self.max_lag, self.max_active = max_lag_seconds, max_active_sessions
        self.max_wait = max_wait_seconds
        self.waited = 0.0
        self._checked = float("-inf")
        self._beat: tuple[int, float] | None = None   # (value, when committed) not yet applied

    @classmethod
    def of(cls, settings: Any, supabase: Conn, rds: Conn, unit: Unit,
           say: Callable[[str], None]) -> Pacer:
        """The pacer the settings (MIGRATE_MAX_LAG_SECONDS, ...) ask for."""
        return cls(supabase, rds, unit, max_lag_seconds=settings.migrate_max_lag_seconds,
                   max_active_sessions=settings.migrate_max_active_sessions,
                   max_wait_seconds=settings.migrate_max_pacing_seconds, say=say)

    def __call__(self) -> None:
        if time.monotonic() - self._checked < self.CHECK_EVERY:
            return
        said = float("-inf")
        while (why := self._why_wait()) is not None:
            if self.waited >= self.max_wait:
                raise ToolError(f"verify {self.unit.name} gave up after waiting "
                                f"{self.waited:.0f} s in all (MIGRATE_MAX_PACING_SECONDS="
                                f"{self.max_wait:g}): {why}; run it again when RDS has caught "
                                "up or Supabase is quieter")
            if time.monotonic() - said >= self.SAY_EVERY:
                self.say(f"verify {self.unit.name}: waiting, {why} "
                         f"({self.waited:.0f} s waited so far)")
                said = time.monotonic()
            time.sleep(self.PAUSE)
            self.waited += self.PAUSE
        self._checked = time.monotonic()

    def _why_wait(self) -> str | None:
        lag = self._lag()
        if lag > self.max_lag:
            return (f"RDS applies Supabase's changes {lag:.1f} s late "
                    f"(MIGRATE_MAX_LAG_SECONDS={self.max_lag:g})")
        active = one(self.supabase.execute(
            """select count(*) as n from pg_stat_activity
                where state = 'active' and backend_type = 'client backend'
                  and pid <> pg_backend_pid()""").fetchone())["n"]
        if active > self.max_active:
            return (f"{active} sessions are running statements on Supabase "
                    f"(MIGRATE_MAX_ACTIVE_SESSIONS={self.max_active})")
        return None

    def _lag(self) -> float:
        """Seconds RDS is behind at least; a new beat is sent once the last one arrived."""
        if self._beat is not None:
            row = self.rds.execute("select beat from migration.heartbeat where unit = %s",
                                   (self.unit.name,)).fetchone()
            if row is None or row["beat"] < self._beat[0]:
                return time.monotonic() - self._beat[1]
        self._beat = (replication.beat(self.supabase, self.unit), time.monotonic())
        return 0.0


class _Key:
    """A table's primary key: how to name its columns, bound a range of it, and print it."""

    def __init__(self, conn: Conn, table: str) -> None:
        self.columns = primary_key(conn, table)
        types = {r["name"]: r["type"] for r in conn.execute(
            """select attname as name, format_type(atttypid, atttypmod) as type
                 from pg_attribute where attrelid = %s::regclass and attnum > 0""",
            (f"public.{table}",)).fetchall()}
        self.types = [types[c] for c in self.columns]
        self.cols = sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c))
                                       for c in self.columns)
        self.row = sql.SQL("({})").format(self.cols)
        self.values = sql.SQL("({})").format(sql.SQL(", ").join(
            sql.SQL("%s::{}").format(sql.SQL(t)) for t in self.types))
        # What the result names: the key's text, as `compare_changed` and the touched keys
        # print it for a one-column key.
        self.text = (sql.SQL("t.{}::text").format(sql.Identifier(self.columns[0]))
                     if len(self.columns) == 1 else sql.SQL("row({})::text").format(self.cols))

    def where(self, span: Range) -> tuple[sql.Composable, list]:
        lo, hi = span
        parts: list[sql.Composable] = []
        params: list = []
        if lo is not None:
            parts.append(sql.SQL("{} > {}").format(self.row, self.values))
            params.extend(lo)
        if hi is not None:
            parts.append(sql.SQL("{} <= {}").format(self.row, self.values))
            params.extend(hi)
        return (sql.SQL(" and ").join(parts) if parts else sql.SQL("true")), params


class _TableCheck:
    """One table's verify (see the module's docstring)."""

    def __init__(self, supabase: Conn, rds: Conn, table: str, pool: ThreadPoolExecutor, *,
                 settle: Callable[[], None] | None, pace: Callable[[], None] | None,
                 chunk_rows: int, found: Mismatches) -> None:
        self.supabase, self.rds, self.table, self.pool = supabase, rds, table, pool
        self.settle, self.pace = settle, pace or (lambda: None)
        self.chunk_rows, self.found = chunk_rows, found
        self.key = _Key(supabase, table)

    def run(self) -> int:
        """Rows on Supabase; each differing row goes to `found`."""
        rows, suspects = 0, []
        lo: tuple | None = None
        while True:
            self.pace()
            hi = self._nth_key(self.supabase, (lo, None), self.chunk_rows)
            ours, theirs = self._hash_both((lo, hi))
            rows += ours[0]
            if ours != theirs:
                suspects.append(((lo, hi), ours[0], theirs[0]))
            if hi is None:
                break
            lo = hi
        if suspects and self.settle is not None:
            self.settle()
            rechecked = []
            for span, _, _ in suspects:
                self.pace()
                ours, theirs = self._hash_both(span)
                if ours != theirs:
                    rechecked.append((span, ours[0], theirs[0]))
            suspects = rechecked
        for span, ours_n, theirs_n in suspects:
            self._drill(span, ours_n, theirs_n)
        return rows

    def _nth_key(self, conn: Conn, span: Range, n: int) -> tuple | None:
        """The key `n` rows into `span` on this side (None: fewer rows than that)."""
        where, params = self.key.where(span)
        row = conn.cursor(row_factory=tuple_row).execute(
            sql.SQL("select {cols} from {table} t where {where} order by {cols} "
                    "offset %s limit 1").format(cols=self.key.cols, table=qualified(self.table),
                                                where=where), [*params, n - 1]).fetchone()
        return tuple(row) if row is not None else None

    def _hash(self, conn: Conn, span: Range) -> tuple[int, int]:
        where, params = self.key.where(span)
        row = one(conn.execute(sql.SQL(
            "select count(*) as n, coalesce(bit_xor(hashtextextended(t::text, 0)), 0) as h "
            "from {table} t where {where}").format(table=qualified(self.table), where=where),
            params).fetchone())
        return row["n"], row["h"]

    def _hash_both(self, span: Range) -> tuple[tuple[int, int], tuple[int, int]]:
        left = self.pool.submit(self._hash, self.supabase, span)
        right = self.pool.submit(self._hash, self.rds, span)
        return left.result(), right.result()

    def _drill(self, span: Range, ours_n: int, theirs_n: int) -> None:
        """Halve a differing range by rows (on the side that has more; `ours_n` on
        Supabase, `theirs_n` on RDS) while its differences lie in one half, then compare
        it row by row. Where both halves differ, halving again would hash the same rows
        once more per level without narrowing anything (differences spread through the
        range): both are streamed at once, so a table that differs everywhere is read about
        twice, not once per level."""
        size = max(ours_n, theirs_n)
        if size > LEAF_ROWS:
            side = self.supabase if ours_n >= theirs_n else self.rds
            middle = self._nth_key(side, span, size // 2)
            if middle is not None and middle != span[1]:
                differing = []
                for half in ((span[0], middle), (middle, span[1])):
                    self.pace()
                    ours, theirs = self._hash_both(half)
                    if ours != theirs:
                        differing.append((half, ours[0], theirs[0]))
                if len(differing) == 1:
                    self._drill(*differing[0])
                else:
                    for half, _, _ in differing:
                        self._leaf(half)
                return
        self._leaf(span)

    def _leaf(self, span: Range) -> None:
        """The differing rows of a range; with `settle`, only those that differed the same
        way in two rounds in a row, each after RDS caught up (a row written between the two
        sides' reads differs in one round, not the next). Once MAX_NAMED rows are named,
        the rest are counted from one round, as they stream by."""
        if self.settle is None or len(self.found) >= MAX_NAMED:
            for d in self._merge(span):
                self.found.add({"table": self.table, **d})
            return
        previous: set[tuple[str, str]] | None = None
        for _ in range(MAX_RECHECKS):
            self.pace()
            found = {(d["key"], d["problem"]) for d in self._merge(span)}
            if previous is not None:
                found &= previous
                if found == previous:
                    break
            previous = found
            if not found:
                return
            self.settle()
        else:
            found = previous or set()
        for key, problem in sorted(found):
            self.found.add({"table": self.table, "key": key, "problem": problem})

    def _rows(self, conn: Conn, span: Range,
              cursor: str) -> Generator[tuple[str, int], None, None]:
        """(key text, row hash) of a range in the order of the key's text ("C" collation:
        the same order on both sides, and Python's), streamed through a server-side cursor
        `ITERSIZE` rows at a time."""
        where, params = self.key.where(span)
        with conn.transaction(), conn.cursor(cursor, row_factory=tuple_row) as cur:
            cur.itersize = ITERSIZE
            cur.execute(sql.SQL(
                "select ({text}) collate \"C\" as k, hashtextextended(t::text, 0) as h "
                "from {table} t where {where} order by 1").format(
                text=self.key.text, table=qualified(self.table), where=where), params)
            yield from cur

    def _merge(self, span: Range) -> Iterator[dict]:
        """Each key of `span` whose row differs, from both sides' streams merged in order."""
        ours = self._rows(self.supabase, span, "migrate_verify_supabase")
        theirs = self._rows(self.rds, span, "migrate_verify_rds")
        try:
            left, right = next(ours, None), next(theirs, None)
            while left is not None or right is not None:
                if right is None or (left is not None and left[0] < right[0]):
                    yield {"key": left[0], "problem": "missing on rds"}  # type: ignore[index]
                    left = next(ours, None)
                elif left is None or right[0] < left[0]:
                    yield {"key": right[0], "problem": "only on rds"}
                    right = next(theirs, None)
                else:
                    if left[1] != right[1]:
                        yield {"key": left[0], "problem": "differs"}
                    left, right = next(ours, None), next(theirs, None)
        finally:
            ours.close()
            theirs.close()


def compare(supabase: Conn, rds: Conn, tables: tuple[str, ...], *,
            settle: Callable[[], None] | None = None, pace: Callable[[], None] | None = None,
            chunk_rows: int = CHUNK_ROWS) -> tuple[dict[str, int], Mismatches]:
    """Rows per table and the mismatching rows of `tables` (the first MAX_NAMED, and how
    many in all). `settle` waits until RDS has applied what Supabase committed; without it
    the first answer is final. `pace` is called before each chunk (a `Pacer`)."""
    counts: dict[str, int] = {}
    found = Mismatches()
    with ThreadPoolExecutor(2) as pool:
        for table in tables:
            counts[table] = _TableCheck(supabase, rds, table, pool, settle=settle, pace=pace,
                                        chunk_rows=chunk_rows, found=found).run()
    return counts, found


def _both(fn: Callable, supabase: Conn, rds: Conn, *args):
    with ThreadPoolExecutor(2) as pool:
        left = pool.submit(fn, supabase, *args)
        right = pool.submit(fn, rds, *args)
        return left.result(), right.result()


def _differences(table: str, ours: dict[str, int], theirs: dict[str, int]) -> list[dict]:
    """Each key whose row hash differs between Supabase (`ours`) and RDS, and how."""
    found = []
    for key in sorted(set(ours) | set(theirs)):
        if key not in theirs:
            found.append({"table": table, "key": key, "problem": "missing on rds"})
        elif key not in ours:
            found.append({"table": table, "key": key, "problem": "only on rds"})
        elif ours[key] != theirs[key]:
            found.append({"table": table, "key": key, "problem": "differs"})
    return found


def _key_expr(pk: list[str]) -> sql.Composable:
    if len(pk) == 1:
        return sql.SQL("t.{}::text").format(sql.Identifier(pk[0]))
    return sql.SQL("row({})::text").format(
        sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in pk))


def _hashes_of(conn: Conn, table: str, pk: list[str], keys: list[str]) -> dict[str, int]:
    pk_type = one(conn.execute(
        """select format_type(atttypid, atttypmod) as t from pg_attribute
            where attrelid = %s::regclass and attname = %s""",
        (f"public.{table}", pk[0])).fetchone())["t"]
    rows = conn.execute(sql.SQL(
        "select {key} as k, hashtextextended(t::text, 0) as h from {table} t "
        "where t.{col} = any(%s::text[]::{type}[])").format(
        key=_key_expr(pk), table=qualified(table), col=sql.Identifier(pk[0]),
        type=sql.SQL(pk_type)), (keys,))
    return {r["k"]: r["h"] for r in rows}


def compare_changed(supabase: Conn, rds: Conn,
                    changed: dict[str, list[str]]) -> Mismatches:
    """The quick check for a moment when neither side takes writes, after a full verify
    found both equal: the rows of the keys written since (`changed`: table -> primary key
    values as text), by index. Any difference since the full verify is a row written since
    (an insert, an update or a delete of one of these keys), so no table is counted or
    scanned: its cost follows the writes since the full verify, not the size of the
    tables."""
    found = Mismatches(keep=None)   # every one: the rollback replays each again
    for table, keys in changed.items():
        if not keys:
            continue
        pk = primary_key(supabase, table)
        left, right = _both(_hashes_of, supabase, rds, table, pk, keys)
        for difference in _differences(table, left, right):
            found.add(difference)
    return found

"""Are the two copies of a unit the same? Each table's primary key is cut into ranges of
about `MIGRATE_VERIFY_CHUNK_ROWS` rows (keyset pagination on Supabase's index: the key that
many rows after the last boundary), and both servers, at once, read their table once in
sequence and sum each range's rows: how many, and the XOR of their 64-bit row hashes
(rowhash.py). A range that differs is hashed again once RDS has applied everything Supabase
had committed (a heartbeat row published with the unit), so lag is not taken for a
difference; one that still differs is halved by rows while its differences lie in one half,
down to a few hundred rows, and what is left is streamed from both sides in key order
through server-side cursors and merged like a sorted merge join, which names each differing
key. Rows found differing are compared again after RDS caught up, until the answer is
stable, so a row written between the two servers' scans is not reported (and a real
difference is).

Why ranges of the key and not buckets of a hash of it: a range's size is set in rows, so a
chunk is as cheap to recheck and drill into at 100,000,000 rows as at 1,000; and memory
holds the boundaries (one key per chunk: 1,000 keys at 100,000,000 rows), never rows. What
else is kept in memory: one leaf's differing keys, and the first MAX_NAMED differing rows of
the unit (the others are counted), whatever the size of the tables and however many rows
differ. pg_comparator and pgcopydb's `compare data` hash in the same way (checksums of key
ranges, differing ranges narrowed down); Ghostferry's IterativeVerifier re-checks what
changed, as the cutover's hold does here (`capture.compare_keys`).

Why one sequential read instead of one query per range: with a random key (uuid) a range's
rows lie all over the heap, so a query per range read nearly every page once per range (a
100,000-row range of the 1,000,000-row table touched 29,381 of its 30,304 pages): ten reads
of the table instead of one (docs/benchmarks.md, 3d). The read goes in as many steps as
there are chunks, each a slice of the table's blocks (a TID range scan), so that the verify
is paced between steps as it was between chunks (pacing.py). Each step reads in its own
snapshot: a row updated meanwhile may move to a block of an earlier or a later step and be
counted twice or not at all on that side. Mostly that makes its chunk differ, and a
differing chunk is rechecked by range, in one snapshot. It could also hide a real
difference of that same row (counted not at all where it is missing on the other side);
every row written from the verify's start is compared again by key inside the cutover's
hold (`capture.compare_keys`: a full verify resets the record of written keys as it starts).

Key ranges assume both servers order the key alike, which uuid and integer keys always do
(a text key needs the same collation on both); the merge itself orders keys by their text in
the "C" collation on both sides, so it never depends on a collation. Keys of any number of
columns are compared (ranges are row comparisons: `(a, b) > (x, y)`)."""
from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor

from psycopg import sql
from psycopg.rows import tuple_row

from migrate.replication import qualified
from migrate.rowhash import Key, Range, chunk_sums, mismatch, storage
from migrate.state import Conn, one

CHUNK_ROWS = 100_000
# A differing range of at most this many rows is compared row by row.
LEAF_ROWS = 500
# Rows fetched per round trip while a range is streamed.
ITERSIZE = 1_000
# Differing rows named in the result (status, events, the command's output); the others
# are counted: a table that differs everywhere must not fill the tool's memory.
MAX_NAMED = 1_000
MAX_RECHECKS = 5

Sums = tuple[int, int]   # rows, XOR of their row hashes


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


class _TableCheck:
    """One table's verify (see the module's docstring)."""

    def __init__(self, supabase: Conn, rds: Conn, table: str, pool: ThreadPoolExecutor, *,
                 settle: Callable[[], None] | None, pace: Callable[[], None] | None,
                 chunk_rows: int, found: Mismatches) -> None:
        self.supabase, self.rds, self.table, self.pool = supabase, rds, table, pool
        self.settle, self.pace = settle, pace or (lambda: None)
        self.chunk_rows, self.found = chunk_rows, found
        self.key = Key(supabase, table)

    def run(self) -> int:
        """Rows on Supabase; each differing row goes to `found`."""
        bounds: list[tuple] = []
        while True:
            self.pace()
            hi = self._nth_key(self.supabase, (bounds[-1] if bounds else None, None),
                               self.chunk_rows)
            if hi is None:
                break
            bounds.append(hi)
        spans = list(zip([None, *bounds], [*bounds, None], strict=True))
        ours, theirs = self._sums(bounds)
        rows = {span: ours.get(i, (0, 0))[0] for i, span in enumerate(spans)}
        suspects = [(span, ours.get(i, (0, 0))[0], theirs.get(i, (0, 0))[0])
                    for i, span in enumerate(spans) if ours.get(i) != theirs.get(i)]
        if suspects and self.settle is not None:
            self.settle()
            rechecked = []
            for span, _, _ in suspects:
                self.pace()
                mine, other = self._hash_both(span)
                rows[span] = mine[0]   # in one snapshot (see the module's docstring)
                if mine != other:
                    rechecked.append((span, mine[0], other[0]))
            suspects = rechecked
        for span, ours_n, theirs_n in suspects:
            self._drill(span, ours_n, theirs_n)
        return sum(rows.values())

    def _sums(self, bounds: list[tuple]) -> tuple[dict[int, Sums], dict[int, Sums]]:
        """Each chunk's sums on each side, from one read of each side's table in as many
        steps as there are chunks (each side's blocks cut alike, both sides at once), paced
        before each step. A table rewritten meanwhile moved its rows between steps, with no
        write that the cutover's check by key would see: it is read again."""
        while True:
            files = self._both(lambda conn: storage(conn, self.table))
            sizes = [size for _, size in files]
            steps = max(1, min(len(bounds) + 1, max(sizes)))
            totals: tuple[dict[int, Sums], dict[int, Sums]] = ({}, {})
            for step in range(steps):
                self.pace()
                slices = [(size * step // steps, None if step == steps - 1
                           else size * (step + 1) // steps) for size in sizes]
                parts = (self.pool.submit(chunk_sums, self.supabase, self.key, bounds,
                                          slices[0]),
                         self.pool.submit(chunk_sums, self.rds, self.key, bounds, slices[1]))
                for total, part in zip(totals, parts, strict=True):
                    for chunk, (n, h) in part.result().items():
                        before = total.get(chunk, (0, 0))
                        total[chunk] = (before[0] + n, before[1] ^ h)
            after = self._both(lambda conn: storage(conn, self.table))
            if [file for file, _ in after] == [file for file, _ in files]:
                return totals

    def _both(self, fn: Callable[[Conn], tuple[int, int]]) -> list[tuple[int, int]]:
        left, right = self.pool.submit(fn, self.supabase), self.pool.submit(fn, self.rds)
        return [left.result(), right.result()]

    def _nth_key(self, conn: Conn, span: Range, n: int) -> tuple | None:
        """The key `n` rows into `span` on this side (None: fewer rows than that)."""
        where, params = self.key.where(span)
        row = conn.cursor(row_factory=tuple_row).execute(
            sql.SQL("select {cols} from {table} t where {where} order by {cols} "
                    "offset %s limit 1").format(cols=self.key.cols, table=qualified(self.table),
                                                where=where), [*params, n - 1]).fetchone()
        return tuple(row) if row is not None else None

    def _hash(self, conn: Conn, span: Range) -> Sums:
        where, params = self.key.where(span)
        row = one(conn.execute(sql.SQL(
            "select count(*) as n, coalesce(bit_xor({hash}), 0) as h "
            "from {table} t where {where}").format(hash=self.key.hash,
                                                   table=qualified(self.table), where=where),
            params).fetchone())
        return row["n"], row["h"]

    def _hash_both(self, span: Range) -> tuple[Sums, Sums]:
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
                "select ({text}) collate \"C\" as k, {hash} as h "
                "from {table} t where {where} order by 1").format(
                text=self.key.text, hash=self.key.hash, table=qualified(self.table),
                where=where), params)
            yield from cur

    def _merge(self, span: Range) -> Iterator[dict]:
        """Each key of `span` whose row differs, from both sides' streams merged in order."""
        ours = self._rows(self.supabase, span, "migrate_verify_supabase")
        theirs = self._rows(self.rds, span, "migrate_verify_rds")
        try:
            left, right = next(ours, None), next(theirs, None)
            while left is not None or right is not None:
                if right is None or (left is not None and left[0] < right[0]):
                    yield {"key": left[0], "problem": mismatch(left[1], None)}  # type: ignore[index]
                    left = next(ours, None)
                elif left is None or right[0] < left[0]:
                    yield {"key": right[0], "problem": mismatch(None, right[1])}
                    right = next(theirs, None)
                else:
                    if problem := mismatch(left[1], right[1]):
                        yield {"key": left[0], "problem": problem}
                    left, right = next(ours, None), next(theirs, None)
        finally:
            ours.close()
            theirs.close()


def compare(supabase: Conn, rds: Conn, tables: tuple[str, ...], *,
            settle: Callable[[], None] | None = None, pace: Callable[[], None] | None = None,
            chunk_rows: int = CHUNK_ROWS) -> tuple[dict[str, int], Mismatches]:
    """Rows per table and the mismatching rows of `tables` (the first MAX_NAMED, and how
    many in all). `settle` waits until RDS has applied what Supabase committed; without it
    the first answer is final. `pace` is called before each step (a `pacing.Pacer`)."""
    counts: dict[str, int] = {}
    found = Mismatches()
    with ThreadPoolExecutor(2) as pool:
        for table in tables:
            counts[table] = _TableCheck(supabase, rds, table, pool, settle=settle, pace=pace,
                                        chunk_rows=chunk_rows, found=found).run()
    return counts, found

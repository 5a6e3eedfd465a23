"""What the migration tests share: `python -m migrate` run as a user runs it, SQL on either
side, and a writer that goes through operator-service's own routing code."""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator

import psycopg

from tests.helpers import REPO


def migrate(env: dict, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `python -m migrate` as a user would, with the stack's settings."""
    return subprocess.run([sys.executable, "-m", "migrate", *args], cwd=REPO,
                          env={**env, "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                          capture_output=True, text=True, timeout=timeout)


def ok(env: dict, *args: str) -> str:
    """Run a step that must succeed; its output."""
    result = migrate(env, *args)
    assert result.returncode == 0, f"migrate {' '.join(args)}: {result.stderr}{result.stdout}"
    return result.stdout


def sql(env: dict, side: str, statement: str, params=(), *, replica: bool = False):
    """Rows of a statement run as the superuser of one side ('supabase' or 'rds')."""
    url = env["SUPABASE_DB_ADMIN_URL" if side == "supabase" else "RDS_ADMIN_URL"]
    with psycopg.connect(url, autocommit=True) as conn:
        if replica:
            conn.execute("set session_replication_role = replica")
        cursor = conn.execute(statement, params or None)
        return cursor.fetchall() if cursor.description else []


def status(env: dict) -> dict[str, dict]:
    """`status --json`, by unit."""
    return {u["unit"]: u for u in json.loads(ok(env, "status", "--json"))}


def replication_objects(env: dict) -> list:
    """Every publication, slot and subscription the tool could leave behind."""
    return (sql(env, "supabase",
                "select pubname from pg_publication where pubname like 'migrate_%'")
            + sql(env, "supabase", "select slot_name from pg_replication_slots")
            + sql(env, "rds", "select subname from pg_subscription"))


def _rehearsal_rows(conn: object) -> list:
    """The rehearsal rows the caller may read (operator-service's DataSources hands a query
    the caller's connection, typed `object` there)."""
    assert isinstance(conn, psycopg.Connection), conn
    return conn.execute("select id, note, version from migration_rehearsal order by id").fetchall()


class RehearsalWriter:
    """Writes the rehearsal table through operator-service's own routing code (the same
    DataSources, Routing and Shadow, on real pools) until stopped: inserts, updates and
    deletes as two operators, and shadowed reads; keeps what each acknowledged write left,
    and when. With `tolerate_paused`, a write answered "paused while they move" (the 503
    operator-service gives after waiting out a hold) is counted in `paused`, not a failure:
    the fault drills cause long holds on purpose and measure how soon writes come back."""

    def __init__(self, env: dict, *, tolerate_paused: bool = False):
        from operator_service.datasource import RDS, SUPABASE, DataSources, Routing, Shadow
        from psycopg_pool import ConnectionPool

        from travel_platform.auth import Identity

        self.pools = [ConnectionPool(env[k], min_size=1, max_size=4, open=True,
                                     kwargs={"row_factory": psycopg.rows.dict_row})
                      for k in ("SUPABASE_DB_ADMIN_URL", "RDS_ADMIN_URL")]
        self.data = DataSources({SUPABASE: self.pools[0], RDS: self.pools[1]},
                                routing=Routing(self.pools[1]), shadow=Shadow(self.pools[1]))
        self.identities = []
        for _ in range(2):
            sub = str(uuid.uuid4())
            self.identities.append(Identity(
                source="supabase", subject=sub, email=None, groups=(), role="authenticated",
                expires_at=0, claims={"sub": sub, "role": "authenticated"}))
        self.rows: dict[str, dict] = {}
        self.failures: list[str] = []
        self.paused: list[float] = []
        self.acknowledged: list[float] = []     # when each acknowledged write returned
        self.tolerate_paused = tolerate_paused
        self.reads = 0
        self._stop = threading.Event()
        self._go = threading.Event()             # cleared by `settled`: threads park between rounds
        self._go.set()
        self._parked = threading.Semaphore(0)
        self._threads = [threading.Thread(target=self._write, args=(i,)) for i in self.identities]

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join()
        for pool in self.pools:
            pool.close()

    def _write(self, identity) -> None:
        table = ["migration_rehearsal"]
        n = 0
        while not self._stop.is_set():
            if not self._go.is_set():
                self._parked.release()
                self._go.wait()
            n += 1
            try:
                with self.data.transaction(identity=identity, tables=table) as conn:
                    row = conn.execute("insert into migration_rehearsal (note) values (%s) "
                                       "returning id, note, version", (f"note {n}",)).fetchone()
                key = str(row["id"])
                self.rows[key] = {"note": row["note"], "version": 1, "owner": identity.subject}
                self.acknowledged.append(time.monotonic())
                with self.data.transaction(identity=identity, tables=table) as conn:
                    conn.execute("update migration_rehearsal set version = version + 1, "
                                 "note = %s where id = %s", (f"edited {n}", key))
                self.rows[key].update(note=f"edited {n}", version=2)
                self.acknowledged.append(time.monotonic())
                if n % 3 == 0:
                    with self.data.transaction(identity=identity, tables=table) as conn:
                        conn.execute("delete from migration_rehearsal where id = %s", (key,))
                    del self.rows[key]
                    self.acknowledged.append(time.monotonic())
                mine = self.data.read(identity=identity, tables=table, query=_rehearsal_rows)
                self.reads += 1 if mine is not None else 0
            except Exception as exc:  # every failure is the test's finding
                if self.tolerate_paused and getattr(exc, "code", None) == "writes_paused":
                    self.paused.append(time.monotonic())
                else:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
            time.sleep(0.01)

    @contextlib.contextmanager
    def settled(self) -> Iterator[dict[str, dict]]:
        """The acknowledged rows, with every writer thread parked between two rounds (none
        mid-write), so the rows can be compared with the tables; writing resumes after."""
        self._go.clear()
        try:
            for _ in self._threads:
                assert self._parked.acquire(timeout=60), "a writer thread did not finish its round"
            yield {key: dict(row) for key, row in self.rows.items()}
        finally:
            self._go.set()

    def first_write_after(self, moment: float, *, timeout: float = 30) -> float:
        """Seconds from `moment` until a write was acknowledged (waits up to `timeout`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            later = [t for t in list(self.acknowledged) if t > moment]
            if later:
                return min(later) - moment
            time.sleep(0.02)
        return float("inf")

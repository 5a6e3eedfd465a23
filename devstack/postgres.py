"""PostgreSQL servers of the local stack, run with the machine's binaries as `postgres`."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from devstack.layout import PG_BIN, Layout

# The stack's two servers: the Supabase project's database and RDS, started in this order.
SERVERS = ("supabase-db", "rds")
# PostgreSQL refuses to run as root: as root, run its programs as the `postgres` user.
_AS_POSTGRES = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
_HBA = """# Written by devstack: TLS and a password for TCP, like RDS and Supabase.
local   all  all                 peer
hostssl all  all  127.0.0.1/32   scram-sha-256
"""


def _pg(program: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*_AS_POSTGRES, str(PG_BIN / program), *args],
                          capture_output=True, text=True, **kwargs)


def _give_to_postgres(*paths: Path) -> None:
    if _AS_POSTGRES:
        for path in paths:
            shutil.chown(path, "postgres", "postgres")


def admin_conninfo(layout: Layout, part: str, *, password: str, dbname: str) -> str:
    """Superuser connection over verified TLS, as a URI (no spaces: stack.env is sourced
    by shells)."""
    return (f"postgresql://postgres:{quote(password, safe='')}@"
            f"{layout.host_of(part)}:{layout.port(part)}/{dbname}?sslmode=verify-full"
            f"&sslrootcert={quote(str(layout.tls / 'ca.pem'))}")


def _postmaster_pid(data: Path) -> int | None:
    try:
        return int((data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return False


def is_running(layout: Layout, part: str) -> bool:
    """Whether the server of `part` is up."""
    data = layout.pgdata(part)
    if not (data / "PG_VERSION").exists():
        return False
    pid = _postmaster_pid(data)
    if pid is not None and _is_zombie(pid):
        # A postmaster killed (-9) and not yet reaped still "exists" for pg_ctl.
        return False
    return _pg("pg_ctl", "status", "-D", str(data)).returncode == 0


def postmaster_pid(layout: Layout, part: str) -> int | None:
    """The pid in the server's postmaster.pid (the server may have died since)."""
    return _postmaster_pid(layout.pgdata(part))


def started_at(layout: Layout, part: str) -> str:
    """When the running server of `part` started (from its postmaster.pid), or ''."""
    try:
        return (layout.pgdata(part) / "postmaster.pid").read_text().splitlines()[2]
    except (OSError, IndexError):
        return ""


def _remove_stale_locks(layout: Layout, part: str) -> None:
    # PostgreSQL refuses to start while the pid in its lock files exists, and a killed
    # postmaster may linger as a zombie until init reaps it; a zombie holds no memory,
    # socket or file, so its lock files may go (crash recovery then runs as usual).
    data = layout.pgdata(part)
    pid = _postmaster_pid(data)
    if pid is not None and _is_zombie(pid):
        (data / "postmaster.pid").unlink(missing_ok=True)
        socket_lock = layout.run / f"pg-{part}" / f".s.PGSQL.{layout.port(part)}.lock"
        socket_lock.unlink(missing_ok=True)


def accepts_connections(layout: Layout, part: str) -> bool:
    """The server's own health check (pg_isready) on its TCP port."""
    result = subprocess.run([str(PG_BIN / "pg_isready"), "-q", "-h", layout.host, "-p",
                             str(layout.port(part)), "-t", "3"], capture_output=True)
    return result.returncode == 0


def ensure_cluster(layout: Layout, part: str, *, password: str) -> None:
    """initdb once, with our pg_hba.conf and the stack's TLS certificate."""
    data = layout.pgdata(part)
    if (data / "PG_VERSION").exists():
        return
    data.parent.mkdir(parents=True, exist_ok=True)
    _give_to_postgres(data.parent)
    pwfile = data.parent / f".{part}.pw"
    pwfile.write_text(password)
    _give_to_postgres(pwfile)
    try:
        result = _pg("initdb", "-D", str(data), "-U", "postgres", f"--pwfile={pwfile}",
                     "--auth-local=peer", "--auth-host=scram-sha-256", "-E", "UTF8",
                     "--locale=C.UTF-8")
    finally:
        pwfile.unlink()
    if result.returncode != 0:
        raise RuntimeError(f"initdb for {part} failed:\n{result.stderr}")
    (data / "pg_hba.conf").write_text(_HBA)
    for name in ("server.crt", "server.key"):
        shutil.copy(layout.tls / name, data / name)
    (data / "server.key").chmod(0o600)
    _give_to_postgres(data / "pg_hba.conf", data / "server.crt", data / "server.key")


def start(layout: Layout, part: str) -> None:
    """Start the server of `part` and wait until it accepts connections."""
    _remove_stale_locks(layout, part)
    socket_dir = layout.run / f"pg-{part}"
    socket_dir.mkdir(parents=True, exist_ok=True)
    log = layout.logs / f"{part}.log"
    log.touch()
    _give_to_postgres(socket_dir, log)
    options = " ".join([
        f"-c port={layout.port(part)}", f"-c listen_addresses={layout.host}",
        f"-c unix_socket_directories={socket_dir}", "-c ssl=on",
        "-c ssl_cert_file=server.crt", "-c ssl_key_file=server.key",
        # A local stack trades crash safety for speed; RDS and Supabase keep theirs. Commits
        # still write their WAL at once (synchronous_commit), as on RDS and Supabase: a WAL
        # sender only sends what is written, so replication lag stays realistic.
        "-c fsync=off", "-c full_page_writes=off",
        "-c max_connections=200",
        # Logical replication: the operator tables move from one server to the other
        # (`python -m migrate`), as from a Supabase project to RDS.
        "-c wal_level=logical", "-c max_replication_slots=20", "-c max_wal_senders=20",
        "-c max_logical_replication_workers=8", "-c max_worker_processes=16",
        "-c max_sync_workers_per_subscription=4",
        # Start replication workers without the default 5 s back-off (a local stack only).
        "-c wal_retrieve_retry_interval=200ms"])
    result = _pg("pg_ctl", "start", "-D", str(layout.pgdata(part)), "-l", str(log), "-w",
                 "-t", "60", "-o", options)
    if result.returncode != 0:
        raise RuntimeError(f"{part}: PostgreSQL did not start; see {log}\n{result.stderr}")


def stop(layout: Layout, part: str) -> bool:
    """Stop the server of `part`; True if it was running."""
    if not is_running(layout, part):
        return False
    _pg("pg_ctl", "stop", "-D", str(layout.pgdata(part)), "-m", "fast", "-w", "-t", "60")
    return True


def ensure_database(admin: str, dbname: str) -> None:
    """Create `dbname` unless it exists (admin is a connection to another database)."""
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", (dbname,)).fetchone():
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(dbname)))


def run_sql_file(conninfo: str, path: Path) -> None:
    """Run a whole SQL file; the file itself says where its transactions are."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(path.read_text())

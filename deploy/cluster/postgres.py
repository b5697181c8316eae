"""The cluster's PostgreSQL: a primary of its own (initdb, its own port) and a streaming
replica made from it with ``pg_basebackup -R``, both in the run directory.

PostgreSQL refuses to run as root: run as root (as CI is), its programs run as the
``postgres`` user through ``runuser``, and its directories belong to that user. Connections
are trusted on 127.0.0.1 only; a real deployment uses passwords or certificates
(docs/deploy.md).
"""

import os
import shutil
import subprocess
import time
from pathlib import Path

import psycopg2

from deploy.cluster.processes import wait_for

SLOT = "threadline_replica"
DATABASE = "threadline"
PRIMARY_SETTINGS = """
# Threadline cluster (deploy/cluster): the primary.
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{sockets}'
wal_level = replica
max_wal_senders = 5
max_replication_slots = 5
hot_standby = on
archive_mode = on
archive_command = 'test ! -f {archive}/%f && cp %p {archive}/%f'
"""
REPLICA_SETTINGS = """
# Threadline cluster (deploy/cluster): the streaming replica.
port = {port}
hot_standby = on
"""
HBA = """# Threadline cluster: trusted on the loopback only (a real deployment uses scram-sha-256).
local all all trust
host all all 127.0.0.1/32 trust
host replication all 127.0.0.1/32 trust
"""


def bin_dir() -> Path:
    """The newest PostgreSQL server programs installed (Debian: /usr/lib/postgresql/N/bin)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parts[-3])
    )
    if found:
        return found[-1].parent
    postgres = shutil.which("postgres")
    if postgres is None:
        raise RuntimeError(
            "cluster: PostgreSQL's server is not installed (apt-get install postgresql)"
        )
    return Path(postgres).parent


def as_owner(argv: list[str]) -> list[str]:
    """``argv`` run as the ``postgres`` user when this process is root."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def owned_dir(path: Path) -> Path:
    """Create ``path`` (mode 700) belonging to the user PostgreSQL runs as."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")
    return path


def run(argv: list[str], *, what: str) -> None:
    done = subprocess.run(as_owner(argv), capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"cluster: {what} failed:\n{done.stdout}\n{done.stderr}")


def dsn(port: int, database: str = DATABASE) -> str:
    return f"postgres://postgres@127.0.0.1:{port}/{database}"


def connect(port: int, database: str = "postgres"):
    return psycopg2.connect(
        host="127.0.0.1", port=port, user="postgres", dbname=database, connect_timeout=3
    )


def query(port: int, sql: str, params=(), *, database: str = "postgres") -> list[tuple]:
    """Rows of one statement, in autocommit, on the server at ``port``."""
    connection = connect(port, database)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


def accepts(port: int) -> bool:
    try:
        query(port, "SELECT 1")
    except psycopg2.Error:
        return False
    return True


def is_running(data: Path) -> bool:
    done = subprocess.run(  # noqa: S603
        as_owner([str(bin_dir() / "pg_ctl"), "status", "-D", str(data)]),
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def start(data: Path, port: int, log: Path) -> None:
    """Start the server of ``data`` unless it runs; wait until it takes connections."""
    if not is_running(data):
        log.touch()
        if os.geteuid() == 0:
            shutil.chown(log, "postgres", "postgres")
        pg_ctl = str(bin_dir() / "pg_ctl")
        try:
            run([pg_ctl, "start", "-w", "-t", "60", "-D", str(data), "-l", str(log)], what="pg_ctl")
        except RuntimeError as error:
            raise RuntimeError(f"{error}\n{log.name} ends:\n{log.read_text()[-2000:]}") from None
    wait_for(lambda: accepts(port), timeout=60, what=f"PostgreSQL on {port}", log=log)


def stop(data: Path, *, mode: str = "fast") -> None:
    if data.exists() and is_running(data):
        run(
            [str(bin_dir() / "pg_ctl"), "stop", "-w", "-m", mode, "-D", str(data)],
            what="pg_ctl stop",
        )


def ensure_primary(run_dir: Path, port: int) -> None:
    """initdb (once), configure for streaming and WAL archiving, start, create the database."""
    data, log = run_dir / "primary", run_dir / "primary.log"
    if not (data / "PG_VERSION").exists():
        owned_dir(data)
        run(
            [
                str(bin_dir() / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            ],
            what="initdb",
        )
        settings = PRIMARY_SETTINGS.format(
            port=port,
            sockets=owned_dir(run_dir / "sockets"),
            archive=owned_dir(run_dir / "wal-archive"),
        )
        with open(data / "postgresql.conf", "a") as conf:
            conf.write(settings)
        (data / "pg_hba.conf").write_text(HBA)
    start(data, port, log)
    if not query(port, "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)):
        query(port, f'CREATE DATABASE "{DATABASE}"')


def ensure_replica(run_dir: Path, primary_port: int, port: int) -> None:
    """pg_basebackup -R from the primary (once), start it, and wait until the primary sees
    it streaming (pg_stat_replication)."""
    data, log = run_dir / "replica", run_dir / "replica.log"
    if not (data / "PG_VERSION").exists():
        shutil.rmtree(data, ignore_errors=True)  # a copy cut short
        if query(primary_port, "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (SLOT,)):
            query(primary_port, "SELECT pg_drop_replication_slot(%s)", (SLOT,))
        owned_dir(data)
        run(
            [
                str(bin_dir() / "pg_basebackup"),
                f"--dbname=host=127.0.0.1 port={primary_port} user=postgres",
                "-D",
                str(data),
                "-R",  # standby.signal and primary_conninfo: a streaming replica
                "-X",
                "stream",
                "-C",  # a replication slot: the primary keeps the WAL the replica still needs
                "-S",
                SLOT,
                "-c",
                "fast",
            ],
            what="pg_basebackup",
        )
        with open(data / "postgresql.auto.conf", "a") as conf:
            conf.write(REPLICA_SETTINGS.format(port=port))
    start(data, port, log)
    wait_for(lambda: streaming(primary_port), timeout=60, what="replica streaming", log=log)


def streaming(primary_port: int) -> bool:
    rows = query(primary_port, "SELECT state FROM pg_stat_replication")
    return ("streaming",) in rows


def replayed(primary_port: int, replica_port: int, *, timeout: float = 30) -> None:
    """Wait until the replica has replayed everything the primary had written when called."""
    [(target,)] = query(primary_port, "SELECT pg_current_wal_lsn()::text")
    deadline = time.monotonic() + timeout
    while True:
        [(caught_up,)] = query(
            replica_port, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)
        )
        if caught_up:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"cluster: the replica did not replay to {target} in {timeout} s")
        time.sleep(0.05)

"""A real PgBouncer (Debian's /usr/sbin/pgbouncer) in transaction pooling, in front of the local
PostgreSQL, for the tests that prove the app needs no session state (tests/msp/test_pgbouncer.py).

The pool keeps several server connections open and hands them out round robin, so that two
transactions of one client almost never share a server connection: whatever a client leaves on
a server connection (a SET, a cursor, a prepared statement, an advisory lock) is then missing
from its next transaction instead of being found there by luck.
"""

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import psycopg2

PGBOUNCER = "/usr/sbin/pgbouncer"
SERVER_CONNECTIONS = 4

CONFIG = """
[databases]
* = host={host} port={port} user={user}{password}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen_port}
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = {pool}
min_pool_size = {pool}
server_round_robin = 1
max_client_conn = 200
logfile = {root}/pgbouncer.log
pidfile = {root}/pgbouncer.pid
ignore_startup_parameters = extra_float_digits
"""


@dataclass(frozen=True)
class Bouncer:
    port: int
    log: Path

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def fill_pool(self, database: str, timeout: float = 15) -> None:
        """Wait until the database's pool has all its server connections: PgBouncer opens
        them in the background after the first client arrives, and with one only there is
        nothing to rotate."""
        connection = psycopg2.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=database
        )
        connection.autocommit = True
        deadline = time.monotonic() + timeout
        try:
            with connection.cursor() as cursor:
                while True:
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    )
                    if cursor.fetchone()[0] >= SERVER_CONNECTIONS:
                        return
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"pgbouncer's pool for {database} did not fill")
                    time.sleep(0.1)
        finally:
            connection.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def pgbouncer(server_url: str) -> Iterator[Bouncer]:
    """PgBouncer on a free loopback port, in front of the server of `server_url` (its user; no
    password: `auth_type = any` with that user on the database line), stopped after."""
    server = urlparse(server_url)
    root = Path(tempfile.mkdtemp(prefix="msp-pgbouncer-"))
    command = [PGBOUNCER]
    if os.geteuid() == 0:
        # PgBouncer refuses to run as root; it drops to another user, who must write its log.
        names = {entry.pw_name for entry in pwd.getpwall()}
        user = pwd.getpwnam("postgres" if "postgres" in names else "nobody")
        os.chown(root, user.pw_uid, user.pw_gid)
        command += ["-u", user.pw_name]
    port = free_port()
    config = root / "pgbouncer.ini"
    config.write_text(
        CONFIG.format(
            host=server.hostname,
            port=server.port or 5432,
            user=server.username or "postgres",
            password=f" password={server.password}" if server.password else "",
            listen_port=port,
            pool=SERVER_CONNECTIONS,
            root=root,
        )
    )
    log = root / "pgbouncer.log"
    process = subprocess.Popen(
        [*command, str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    text = log.read_text() if log.exists() else ""
                    raise RuntimeError(f"pgbouncer did not start: {text[-2000:]}") from None
                time.sleep(0.05)
        yield Bouncer(port=port, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)


def _admin(server_url: str):
    server = urlparse(server_url)
    connection = psycopg2.connect(
        host=server.hostname,
        port=server.port or 5432,
        user=server.username or "postgres",
        password=server.password or None,
        dbname="postgres",
    )
    connection.autocommit = True
    return connection


@contextmanager
def fresh_database(server_url: str, *, timezone: str = "") -> Iterator[str]:
    """An empty database msp_bouncer_<random> on the server of `server_url`, dropped after.
    `timezone`: the database's default TimeZone (what a connection starts with)."""
    name = f"msp_bouncer_{secrets.token_hex(4)}"
    admin = _admin(server_url)
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
            if timezone:
                cursor.execute(f"ALTER DATABASE \"{name}\" SET timezone TO '{timezone}'")
        yield name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

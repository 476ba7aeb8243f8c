"""A PostgreSQL server of the tests' own (Debian's initdb and pg_ctl, a free loopback port, a
temporary folder), which a test may stop, start, freeze (SIGSTOP) and thaw: what the outage
tests do to it must never touch the machine's own server."""

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from tests.pgbouncer import free_port

POSTGRES_BIN = Path("/usr/lib/postgresql")


def postgres_bin() -> Path | None:
    """The newest installed server's bin folder, or None."""
    versions = sorted(
        (path for path in POSTGRES_BIN.glob("*/bin") if (path / "initdb").exists()),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    return versions[-1] if versions else None


@dataclass
class Cluster:
    bin: Path
    root: Path
    port: int

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _as_owner(self, *command: str) -> list[str]:
        # PostgreSQL refuses to run as root.
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *command]
        return list(command)

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            self._as_owner(str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), *args),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._pg_ctl("-o", options, "-l", str(self.root / "server.log"), "-w", "start")

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "-w", "stop")

    def _processes(self) -> list[int]:
        """The postmaster and every process it started."""
        postmaster = int((self.root / "data" / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(
            ["pgrep", "-P", str(postmaster)], capture_output=True, text=True
        ).stdout.split()
        return [postmaster, *map(int, children)]

    def freeze(self) -> None:
        """Hang the server: it keeps its sockets (the kernel still accepts connections and
        answers keepalives) but no process of it runs."""
        for pid in self._processes():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in reversed(self._processes()):
            os.kill(pid, signal.SIGCONT)

    def execute(self, database: str, sql: str) -> None:
        connection = psycopg2.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=database
        )
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
        finally:
            connection.close()


@contextmanager
def cluster() -> Iterator[Cluster]:
    """A fresh, started server; stopped (thawed first if frozen) and removed after."""
    binaries = postgres_bin()
    if binaries is None:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql")
    root = Path(tempfile.mkdtemp(prefix="msp-pgcluster-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
    server = Cluster(bin=binaries, root=root, port=free_port())
    subprocess.run(
        server._as_owner(
            str(binaries / "initdb"),
            "-D",
            str(root / "data"),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
        ),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server.start()
    try:
        yield server
    finally:
        with suppress(OSError, ValueError, FileNotFoundError):
            server.thaw()
        with suppress(subprocess.CalledProcessError):
            server._pg_ctl("-m", "immediate", "-w", "stop")
        time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)

"""PostgreSQL with a deadline on a server that has stopped answering.

A stopped server refuses connections at once, but a hung one (a frozen process or VM, a stalled
network path) accepts TCP and then says nothing: libpq waits for ever, TCP keepalives do not
help (the kernel still answers them) and the server's statement_timeout cannot fire. Every web
worker and Celery process would block for the whole hang.

So all waiting on the server goes through psycopg2's wait callback (`wait_with_deadline`):
- a connection that is not established within DATABASE_CONNECT_DEADLINE_SECONDS fails;
- a query that has had no answer for DATABASE_HANG_SECONDS makes us ask the server, on a fresh
  connection, for a `SELECT 1` within the same time. A live server answers and the query goes on
  waiting (a slow query is the server's statement_timeout's business); a server that cannot
  answer even that is hung, and the query fails at once.
A failure is psycopg2's OperationalError, which Django wraps as its own: requests answer 503
(msp/outage.py) and tasks retry, and the connection is discarded, so that the first request
after the server comes back works again without a restart.
"""

import contextlib
import select
import socket
import time
import weakref
from collections.abc import Iterator

import psycopg2
import psycopg2.extensions
from django.conf import settings
from django.db.backends.postgresql import base as postgresql

# The keyword arguments each open connection was made with, for the liveness probe.
_connection_params: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


class ServerNotAnswering(psycopg2.OperationalError):
    """The database server did not answer in time."""


def _wait_for(connection, deadline: float | None) -> bool:
    """Drive an asynchronous connection until it is ready; False if the deadline passes."""
    remaining = None
    while True:
        state = connection.poll()
        if state == psycopg2.extensions.POLL_OK:
            return True
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
        if state == psycopg2.extensions.POLL_READ:
            select.select([connection.fileno()], [], [], remaining)
        elif state == psycopg2.extensions.POLL_WRITE:
            select.select([], [connection.fileno()], [], remaining)
        else:  # pragma: no cover - psycopg2 documents no other state
            raise psycopg2.OperationalError(f"unexpected poll state {state}")


def server_answers(params: dict, within: float) -> bool:
    """Whether the server accepts a new connection and answers `SELECT 1` within the time."""
    deadline = time.monotonic() + within
    params = {key: value for key, value in params.items() if key != "cursor_factory"}
    try:
        probe = psycopg2.connect(**params, async_=True)
    except psycopg2.Error:
        return False
    try:
        if not _wait_for(probe, deadline):
            return False
        with probe.cursor() as cursor:
            cursor.execute("SELECT 1")
            return _wait_for(probe, deadline)
    except psycopg2.Error:
        return False
    finally:
        probe.close()


def _abandon(connection, reason: str) -> None:
    """Give up on the connection and raise. The socket is shut down first: psycopg2 drains
    the pending result after a failed wait, blocking, and would otherwise wait for the hung
    server after all; on a shut socket it reads end-of-file at once."""
    try:
        sock = socket.socket(fileno=connection.fileno())
    except (OSError, psycopg2.Error):
        sock = None
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        finally:
            sock.detach()  # the descriptor stays libpq's to close
    raise ServerNotAnswering(reason)


def wait_with_deadline(connection) -> None:
    """psycopg2's wait callback: wait for the server as libpq would, with the deadlines above."""
    started = time.monotonic()
    if connection.status == psycopg2.extensions.STATUS_SETUP:
        limit = settings.DATABASE_CONNECT_DEADLINE_SECONDS
        if not _wait_for(connection, started + limit):
            _abandon(connection, f"the database server did not accept a connection in {limit} s")
        return
    params = _connection_params.get(connection)
    if params is None:  # a connection Django did not make: we cannot probe for it
        _wait_for(connection, None)
        return
    silence = settings.DATABASE_HANG_SECONDS
    while not _wait_for(connection, time.monotonic() + silence):
        if not server_answers(params, within=silence):
            waited = time.monotonic() - started
            _abandon(connection, f"the database server stopped answering ({waited:.1f} s)")


@contextlib.contextmanager
def plain_waits() -> Iterator[None]:
    """Blocking waits for a while: psycopg2 refuses COPY while a wait callback is set."""
    callback = psycopg2.extensions.get_wait_callback()
    psycopg2.extensions.set_wait_callback(None)
    try:
        yield
    finally:
        psycopg2.extensions.set_wait_callback(callback)


class DatabaseWrapper(postgresql.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        if settings.DATABASE_HANG_SECONDS > 0:
            psycopg2.extensions.set_wait_callback(wait_with_deadline)
        connection = super().get_new_connection(conn_params)
        _connection_params[connection] = conn_params
        return connection

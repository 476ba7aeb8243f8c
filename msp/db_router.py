"""Dashboard reads on a read replica, everything else on the primary.

With `DATABASE_REPLICA_URL` set, the reads made inside `replica_reads()` (the dashboards: a
client's SLA dashboard, SLA risk, the account overview) go to the replica; every write, and
every read elsewhere, goes to the primary, so that a page shown after a change always sees it.
Without a replica nothing changes. Dashboards computed from a replica may lag it by the
replication delay (seconds), which these figures of a month so far can afford.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings

REPLICA = "replica"
_on_replica: ContextVar[bool] = ContextVar("msp_replica_reads", default=False)


@contextmanager
def replica_reads() -> Iterator[None]:
    token = _on_replica.set(True)
    try:
        yield
    finally:
        _on_replica.reset(token)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if _on_replica.get() and settings.READ_REPLICA:
            return settings.READ_REPLICA
        return "default"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, copied

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"

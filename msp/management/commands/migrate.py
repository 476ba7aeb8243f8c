"""Django's `migrate`, made to give up rather than stall the site (docs/upgrades.md).

A schema change needs a lock on its table that waits for every transaction already using the
table; while it waits, PostgreSQL queues every later query on that table behind it, so one
long report query can hold up every request that touches tickets. Here each migration waits
at most MIGRATE_LOCK_TIMEOUT_SECONDS for its locks, then fails and rolls back (migrations are
atomic) while the old code goes on serving; the command tries again MIGRATE_LOCK_RETRIES times
before it exits with an error. Migrations done before the failure stay done, so a rerun picks
up where it stopped. The run has no statement timeout: an index built CONCURRENTLY may take
minutes and blocks nobody.
"""

import time

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands.migrate import Command as DjangoMigrateCommand
from django.db import OperationalError, connections
from django.db.backends.signals import connection_created

LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE when lock_timeout expires


def lock_timed_out(error: OperationalError) -> bool:
    return getattr(error.__cause__, "pgcode", None) == LOCK_NOT_AVAILABLE


class Command(DjangoMigrateCommand):
    help = DjangoMigrateCommand.help + (
        " On PostgreSQL each migration waits at most --lock-timeout seconds for its locks."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--lock-timeout",
            type=float,
            default=settings.MIGRATE_LOCK_TIMEOUT_SECONDS,
            help="Seconds a migration may wait for a lock before it gives up (0: no limit).",
        )
        parser.add_argument(
            "--lock-retries",
            type=int,
            default=settings.MIGRATE_LOCK_RETRIES,
            help="Tries after a lock timeout before the command fails.",
        )
        parser.add_argument(
            "--retry-wait",
            type=float,
            default=settings.MIGRATE_RETRY_WAIT_SECONDS,
            help="Seconds between tries.",
        )

    def handle(self, *args, **options):
        connection = connections[options["database"]]
        if connection.vendor != "postgresql" or not options["lock_timeout"]:
            return super().handle(*args, **options)
        timeout_ms = str(int(options["lock_timeout"] * 1000))
        if getattr(settings, "PGBOUNCER_TRANSACTION_MODE", False):
            self.stderr.write(
                "migrate: PGBOUNCER_TRANSACTION_MODE is on; the lock timeout is a session "
                "setting, which a transaction pooler does not keep: run migrate with a "
                "DATABASE_URL that points at PostgreSQL itself (docs/upgrades.md)."
            )

        def limit_waits(sender, connection, **kwargs):
            # Session settings: set on the connection now and on any it opens again.
            if connection.alias != options["database"]:
                return
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('lock_timeout', %s, false)", [timeout_ms])
                cursor.execute("SELECT set_config('statement_timeout', '0', false)")

        connection_created.connect(limit_waits)
        try:
            if connection.connection is not None:
                limit_waits(None, connection)
            for attempt in range(options["lock_retries"] + 1):
                try:
                    return super().handle(*args, **options)
                except OperationalError as error:
                    if not lock_timed_out(error):
                        raise
                    if attempt == options["lock_retries"]:
                        raise CommandError(
                            f"A migration waited {options['lock_timeout']:g} s for a lock "
                            f"{attempt + 1} times and gave up: another transaction holds its "
                            f"table ({error}). Nothing of that migration was applied; run "
                            "migrate again when the long transaction is over."
                        ) from error
                    self.stderr.write(
                        f"migrate: no lock within {options['lock_timeout']:g} s ({error}); "
                        f"try {attempt + 2} of {options['lock_retries'] + 1} in "
                        f"{options['retry_wait']:g} s"
                    )
                    time.sleep(options["retry_wait"])
        finally:
            connection_created.disconnect(limit_waits)
            # The test runner and callers reuse this connection: back to the server's defaults.
            if connection.connection is not None and not connection.needs_rollback:
                with connection.cursor() as cursor:
                    cursor.execute("RESET lock_timeout")
                    cursor.execute("RESET statement_timeout")

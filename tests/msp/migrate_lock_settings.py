"""The test settings plus the lock-probe app (tests/msp/migrate_lock_probe), for a `migrate`
run in its own process against the test database."""

from msp.settings.test import *  # noqa: F403
from msp.settings.test import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.msp.migrate_lock_probe"]

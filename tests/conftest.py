"""Fixtures for the whole suite. Real services where reachable; in CI they are required."""

import os
import shutil

import pytest
from django.conf import settings

pytest_plugins = ["tests.fixtures"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-sync",
]


def pytest_report_header(config) -> list[str]:
    database = (
        f"PostgreSQL ({settings.TEST_DATABASE_URL})"
        if settings.POSTGRES_AVAILABLE
        else "SQLite in memory: PostgreSQL is not reachable, tests that need it are skipped"
    )
    redis = (
        f"Redis ({settings.TEST_REDIS_URL})"
        if settings.REDIS_AVAILABLE
        else "none: Redis is not reachable, tests that need it are skipped"
    )
    browser = CHROMIUM if shutil.which(CHROMIUM) else "none: browser tests are skipped"
    return [f"database: {database}", f"redis: {redis}", f"browser: {browser}"]


# Tests on the kinds of machinery that take seconds each (a real browser, a real IMAP server),
# known by the fixture that starts it; Celery worker, demo seeding and slow modules carry the
# marker themselves. `bin/test -m "not slow"` is the quick lane.
SLOW_FIXTURES = {"browser", "imap_server"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


# The default SLA policy (two calendars with three years of public holidays, targets and the
# escalation ladder) is made once with the test database instead of in every test that opens
# a ticket; tests see it through the `policy` fixture. A test with `transaction=True` ends by
# emptying every table, so it is made again after such a test.
_DB_BLOCKER = pytest.StashKey()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker, request):
    from sla.services import default_policy_ensure

    with django_db_blocker.unblock():
        default_policy_ensure()
    request.config.stash[_DB_BLOCKER] = django_db_blocker
    yield
    del request.config.stash[_DB_BLOCKER]  # the test database is about to go


def _empties_the_database(item) -> bool:
    marker = item.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")):
        return True
    return bool({"transactional_db", "live_server"} & set(getattr(item, "fixturenames", ())))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    try:
        return (yield)
    finally:
        blocker = item.config.stash.get(_DB_BLOCKER, None)
        if blocker is not None and _empties_the_database(item):
            from django.db import connections

            from sla.services import default_policy_ensure

            with blocker.unblock():
                default_policy_ensure()
                # Left open, this connection outlives the session and keeps the test database
                # from being dropped at the end.
                connections.close_all()


def _missing_service(message: str) -> None:
    if settings.CI:
        pytest.fail(f"{message} (CI=true: required, not skipped)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def redis_url() -> str:
    if not settings.REDIS_AVAILABLE:
        _missing_service(f"Redis is not reachable at {settings.TEST_REDIS_URL}")
    return settings.TEST_REDIS_URL


@pytest.fixture(scope="session")
def postgres() -> None:
    if not settings.POSTGRES_AVAILABLE:
        _missing_service(f"PostgreSQL is not reachable at {settings.TEST_DATABASE_URL}")


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        _missing_service(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # around it are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield launched
            launched.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(10_000)
    opened = context.new_page()
    yield opened
    context.close()


DOVECOT = "/usr/sbin/dovecot"
DOVECOT_CONFIG = """
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
first_valid_uid = {uid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


@pytest.fixture
def imap_server():
    """A real IMAP server (Debian's dovecot) on a free loopback port, with one mailbox user
    support@demo.msp / secret and an empty INBOX, stopped after the test."""
    import grp
    import imaplib
    import pwd
    import socket
    import subprocess
    import tempfile
    import time
    from pathlib import Path

    if not shutil.which(DOVECOT) or os.geteuid() != 0:
        _missing_service("dovecot is not installed, or not root (apt-get install dovecot-imapd)")
    # Not under pytest's private (0700) temp dir: dovecot's own users must reach these files.
    root = Path(tempfile.mkdtemp(prefix="msp-dovecot-"))
    os.chmod(root, 0o755)  # noqa: S103
    for name in ("run", "state", "mail", "home"):
        (root / name).mkdir()
    user, group = pwd.getpwnam("dovecot"), grp.getgrnam("dovecot")
    for name in ("mail", "home"):
        os.chown(root / name, user.pw_uid, group.gr_gid)
    (root / "passwd").write_text("support@demo.msp:{PLAIN}secret\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = root / "dovecot.conf"
    config.write_text(
        DOVECOT_CONFIG.format(root=root, uid=user.pw_uid, gid=group.gr_gid, port=port)
    )
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 15
    while True:
        try:
            with imaplib.IMAP4("127.0.0.1", port, timeout=2) as probe:
                probe.login("support@demo.msp", "secret")
            break
        except (OSError, imaplib.IMAP4.error):
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                pytest.fail(f"dovecot did not start: {log[-2000:]}")
            time.sleep(0.1)
    yield {"host": "127.0.0.1", "port": port, "username": "support@demo.msp", "password": "secret"}
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(root, ignore_errors=True)

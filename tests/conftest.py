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

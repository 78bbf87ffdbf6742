"""A real browser (Debian's chromium, driven by Playwright) against pytest-django's live server.

Playwright's sync API runs an event loop in the test thread, so Django's guard against ORM calls
from async contexts must be lifted for the test code that prepares and checks the database.
"""

import os
import shutil

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "s3cret-Pa55word"  # tests.factories.UserFactory's


@pytest.fixture(scope="session")
def browser(django_db_setup):
    """One chromium for the session.

    Between its calls Playwright marks an event loop as running in this thread, and Django then
    keeps the thread's database connections in context-local storage: the test code gets a new
    connection, without the serialized reference data that ``serialized_rollback`` restores from
    when the database was set up before the browser started. Hand that data to the new connection.
    """
    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is not installed (`make test` installs it: apt-get install -y chromium)")
    from django.db import DEFAULT_DB_ALIAS, connections
    from playwright.sync_api import sync_playwright

    serialized = getattr(connections[DEFAULT_DB_ALIAS], "_test_serialized_contents", None)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        if serialized is not None:
            connections[DEFAULT_DB_ALIAS]._test_serialized_contents = serialized
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def log_in(page, live_server):
    """``log_in(username, path)``: open ``path``, get sent to the login form, fill it in, and land back."""

    def log_in(username: str, path: str = "/portal/"):
        page.goto(f"{live_server.url}{path}")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
        return page

    return log_in

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


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AXE_SOURCE = os.path.join(ROOT, "var", "node", "node_modules", "axe-core", "axe.min.js")
SCREENSHOTS = os.path.join(ROOT, "var", "screenshots")
WIDTHS = {"wide": (1280, 900), "narrow": (390, 844)}
# axe-core's impacts that fail a page; "minor" and "moderate" findings are printed, not failed.
FAILING_IMPACTS = {"serious", "critical"}


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not os.path.exists(AXE_SOURCE):
        pytest.fail("axe-core is not installed (`make test` installs it: make axe)")
    with open(AXE_SOURCE, encoding="utf-8") as source:
        return source.read()


def accessibility_violations(page, axe_source: str) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now.

    The script is evaluated through the DevTools protocol, which the page's Content-Security-Policy
    does not govern, so the page under test keeps its real policy.
    """
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source)
    results = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations']})"
        ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})))"
    )
    return [violation for violation in results if violation["impact"] in FAILING_IMPACTS]


@pytest.fixture
def look(page, axe_source):
    """``look(name)``: check the page with axe-core and screenshot it at 1,280 and 390 pixels wide.

    Both widths are checked (a layout can fail only when narrow); the screenshots go to
    var/screenshots/<name>-wide.png and <name>-narrow.png for a reviewer, and the viewport is put
    back as it was.
    """
    os.makedirs(SCREENSHOTS, exist_ok=True)

    def look(name: str, target=None):
        target = target or page
        before = target.viewport_size
        found = {}
        for label, (width, height) in WIDTHS.items():
            target.set_viewport_size({"width": width, "height": height})
            target.wait_for_timeout(50)
            target.screenshot(path=os.path.join(SCREENSHOTS, f"{name}-{label}.png"), full_page=True)
            violations = accessibility_violations(target, axe_source)
            if violations:
                found[label] = violations
        if before:
            target.set_viewport_size(before)
        assert found == {}, f"accessibility violations on {name} ({target.url}): {found}"

    return look

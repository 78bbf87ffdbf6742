"""The dashboards in a real browser (issue 15): an account manager and finance each open theirs from
the admin index, the charts load under the page's Content-Security-Policy with no console error,
a figure's link leads to the filtered list holding as many rows, and axe-core finds nothing serious."""

import datetime as dt
import io
import re

import pytest
from django.core.management import call_command

from dropcopy_admin import clock
from dropcopy_admin.models import GatewayProcess

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def world(db):
    call_command("seed_scale", scale=0.01, billed_months=3, stdout=io.StringIO())
    at = clock.now()
    GatewayProcess.objects.create(
        name="gateway",
        host="gw-1",
        pid=4242,
        started_at=at - dt.timedelta(hours=2),
        last_seen_at=at + dt.timedelta(hours=1),  # still running while the test reads the page
        sessions_logged_on=17,
        last_heartbeat_at=at,
        resend_requests_today=3,
        refused_logons_today=1,
        published_at=at,
    )


def console_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    return errors


def charts_loaded(page) -> int:
    """How many chart images are drawn (an image the policy or a broken SVG stopped has no width)."""
    charts = page.locator("img.dash-chart")
    assert charts.count() > 0
    widths = charts.evaluate_all("images => images.map(image => image.complete ? image.naturalWidth : 0)")
    assert all(width > 0 for width in widths), widths
    return len(widths)


def list_count(page) -> int:
    """The number of rows the admin list says it holds (``17 target sessions``, ``3 results``)."""
    text = page.locator("#changelist-form .paginator, .paginator").first.inner_text()
    match = re.search(r"(\d+)\s+(?:result|[a-zA-Z])", text.replace(",", ""))
    assert match, text
    return int(match.group(1))


def figure(page, label: str):
    """The link of a headline figure, and its number."""
    link = page.locator(".dash-figures a", has_text=label).first
    return link, int(link.locator(".dash-number").inner_text())


def test_an_account_manager_opens_the_dashboard_and_follows_a_figure_to_its_list(
    log_in, page, live_server, account_manager, world, look
):
    errors = console_errors(page)
    log_in("am", "/admin/")
    page.get_by_role("link", name=re.compile("^Dashboard:")).click()
    page.wait_for_load_state()

    assert page.url.endswith("/admin/dashboard/")
    assert page.get_by_role("heading", name="Capacity").is_visible()
    assert charts_loaded(page) == 4
    gateway_row = page.locator("tr", has_text="gw-1 (process 4242)")
    assert gateway_row.locator("td").first.inner_text() == "17"
    look("dashboard-am")
    assert not [error for error in errors if "Content Security Policy" in error or "Refused" in error], errors

    link, failed = figure(page, "Failed")
    assert failed > 0
    link.click()
    page.wait_for_load_state()
    assert "/admin/dropcopy_admin/targetsession/" in page.url
    assert list_count(page) == failed

    page.go_back()
    pending_row = page.locator("table", has_text="Pending requests by age").locator("tbody tr").first
    shown = int(pending_row.locator("td a").inner_text())
    pending_row.locator("td a").click()
    page.wait_for_load_state()
    assert "/admin/dropcopy_admin/membership/" in page.url
    assert list_count(page) == shown


def test_the_home_page_leads_an_account_manager_to_the_dashboard(log_in, page, account_manager):
    log_in("am", "/portal/")
    page.get_by_role("link", name="the dashboard").click()
    page.wait_for_load_state()
    assert page.url.endswith("/admin/dashboard/")


def test_finance_opens_its_dashboard_and_follows_a_month_to_its_lines(
    log_in, page, live_server, finance_user, world, look
):
    errors = console_errors(page)
    log_in("finance", "/admin/")
    assert page.get_by_role("link", name=re.compile("^Dashboard:")).count() == 0
    page.get_by_role("link", name=re.compile("^Billing dashboard")).click()
    page.wait_for_load_state()

    assert page.url.endswith("/admin/billing/dashboard/")
    assert charts_loaded(page) == 1
    runs = page.locator("table", has_text="Billing runs, newest first").locator("tbody tr")
    assert runs.count() == 3
    assert runs.first.get_by_role("link", name=re.compile("^CSV")).is_visible()
    look("dashboard-finance")
    assert not [error for error in errors if "Content Security Policy" in error or "Refused" in error], errors

    lines = runs.first.locator("td a").first
    shown = int(lines.inner_text())
    lines.click()
    page.wait_for_load_state()
    assert "/admin/billing/billingline/" in page.url and "month=" in page.url
    assert list_count(page) == shown


def test_finance_with_no_run_yet_is_told_what_to_do(log_in, page, finance_user, look):
    log_in("finance", "/admin/billing/dashboard/")
    assert "No billing run yet" in page.locator("#content").inner_text()
    look("dashboard-finance-empty")

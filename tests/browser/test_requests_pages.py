"""My Requests, Statements, the decision history and the approval queue's preview in a real browser:
filter, sort, export and check the files, the To Do list, a statement month downloaded."""

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from openpyxl import load_workbook
from playwright.sync_api import expect

from billing.choices import LineReason, RunStatus
from billing.models import BillingLine, BillingRun
from dropcopy_admin.choices import MembershipStatus
from tests import factories

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

REQUESTS = "/portal/requests/"
STATEMENTS = "/portal/statements/"
HISTORY = "/portal/approvals/history/"
QUEUE = "/portal/approvals/"


def read_csv(download) -> list[list[str]]:
    with Path(download.path()).open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def read_xlsx(download) -> list[list]:
    sheet = load_workbook(io.BytesIO(Path(download.path()).read_bytes()), read_only=True).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


@pytest.fixture
def requests_data(client_entity, client_user, clearing_firm, clearing_user):
    now = timezone.now().replace(microsecond=0)

    def request(session_id, status, days_old, group, reason=""):
        gfid = factories.GfidFactory(entity=group.entity, clearing_firm=clearing_firm)
        session = factories.SourceSessionFactory(gfid=gfid, session_id=session_id)
        requested_at = now - dt.timedelta(days=days_old)
        decided = status != MembershipStatus.PENDING
        return factories.MembershipFactory(
            group=group,
            source_session=session,
            requested_by=client_user,
            requested_at=requested_at,
            status=status,
            decided_by=clearing_user if decided else None,
            decided_at=requested_at + dt.timedelta(hours=1) if decided else None,
            reason=reason,
        )

    alpha = factories.GroupFactory(entity=client_entity, name="Alpha CME Production")
    other = factories.EntityFactory(code="OTHER", name="Other Trading")
    return {
        "pending": request("AA1", MembershipStatus.PENDING, 1, alpha),
        "rejected": request("BB2", MembershipStatus.REJECTED, 3, alpha, reason="No agreement on file"),
        "approved": request("CC3", MembershipStatus.APPROVED, 5, alpha),
        "other": request("OT9", MembershipStatus.REJECTED, 2, factories.GroupFactory(entity=other, name="Other group")),
    }


def scids(page, table_id) -> list[str]:
    return [row.locator("td").first.inner_text() for row in page.get_by_test_id(f"{table_id}-row").all()]


def test_my_requests_filtered_sorted_exported_with_the_to_do_list(log_in, requests_data, live_server):
    page = log_in("client", REQUESTS)
    rows = page.get_by_test_id("requests-memberships-row")
    expect(rows).to_have_count(3)
    assert "OT9" not in page.content()
    to_do = page.get_by_test_id("to-do-item")
    expect(to_do).to_have_count(1)
    assert "BB2" in to_do.inner_text() and "was rejected" in to_do.inner_text()
    expect(to_do.get_by_role("link", name="Request again")).to_have_attribute("href", "/portal/groups/")

    # Filter by a column (htmx updates the table and the address), then sort both ways.
    page.get_by_label("Filter Status").select_option("rejected")
    expect(rows).to_have_count(1)
    assert "status=rejected" in page.url
    assert "No agreement on file" in rows.first.inner_text()
    page.get_by_role("link", name="Clear filters").click()
    expect(rows).to_have_count(3)
    page.get_by_role("link", name="SenderCompID").click()
    expect(page.locator('th[aria-sort="ascending"]')).to_have_count(1)
    assert [s[:3] for s in scids(page, "requests-memberships")] == ["AA1", "BB2", "CC3"]
    page.get_by_role("link", name="SenderCompID").click()
    expect(page.locator('th[aria-sort="descending"]')).to_have_count(1)
    assert [s[:3] for s in scids(page, "requests-memberships")] == ["CC3", "BB2", "AA1"]

    # Type into a text filter: the rows narrow as one types, and the exports hold the same rows.
    page.get_by_label("Filter SenderCompID").fill("cc3")
    expect(rows).to_have_count(1)
    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").click()
    exported = read_csv(info.value)
    assert exported[0][:3] == ["SenderCompID", "Group", "Status"]
    assert [row[0][:3] for row in exported[1:]] == ["CC3"]
    with page.expect_download() as info:
        page.get_by_role("link", name="Download Excel").click()
    sheet = read_xlsx(info.value)
    assert [row[0][:3] for row in sheet[1:]] == ["CC3"]
    # Print calls the browser's print (replaced here by a recorder: headless chromium has no dialog).
    page.evaluate("() => { window.print = () => { window.printed = true; }; }")
    page.get_by_role("button", name="Print").click()
    page.wait_for_function("() => window.printed === true")


def test_my_requests_pages_look_right(log_in, requests_data, look):
    page = log_in("client", REQUESTS)
    look("requests")
    page.goto(page.url.split("?")[0] + "?requested_at_from=yesterday&status=lost")
    expect(page.locator("#requests-memberships-requested_at_from-error")).to_have_text("Enter a date as YYYY-MM-DD.")
    expect(page.locator("#requests-memberships-status-error")).to_have_text("Choose one of the listed values.")
    expect(page.get_by_label("Filter Status")).to_have_attribute("aria-invalid", "true")
    summary = page.get_by_test_id("requests-memberships-errors")
    expect(summary).to_contain_text("Requested at from: Enter a date as YYYY-MM-DD.")
    expect(page.get_by_test_id("requests-memberships-row")).to_have_count(3)  # the page still answers
    look("requests-errors")


def test_my_requests_empty(log_in, client_user, look):
    page = log_in("client", REQUESTS)
    expect(page.get_by_test_id("to-do-empty")).to_have_text("Nothing waits on you.")
    expect(page.get_by_test_id("requests-memberships-empty")).to_be_visible()
    page.get_by_role("navigation", name="Kinds of request").get_by_role("link", name="Test targets").click()
    expect(page.get_by_test_id("requests-test-targets-empty")).to_be_visible()
    look("requests-empty")


def test_a_statement_month_downloaded(log_in, client_entity, client_user, look):
    other = factories.EntityFactory(code="OTHER", name="Other Trading")
    closed_at = timezone.now()
    for month, amounts in ((dt.date(2026, 10, 1), ["500.00"]), (dt.date(2026, 11, 1), ["500.00", "250.00"])):
        run = BillingRun.objects.create(month=month, status=RunStatus.CLOSED, closed_at=closed_at)
        for index, amount in enumerate(amounts):
            group = factories.GroupFactory(entity=client_entity, name=f"Acme group {month:%m}-{index}")
            BillingLine.objects.create(
                run=run,
                entity=client_entity,
                bill_to=client_entity,
                group=group,
                amount=Decimal(amount),
                reason=LineReason.ADDITIONAL,
            )
        BillingLine.objects.create(
            run=run,
            entity=other,
            bill_to=other,
            group=factories.GroupFactory(entity=other, name=f"Secret {month:%m}"),
            amount=Decimal("999.00"),
            reason=LineReason.ADDITIONAL,
        )
    page = log_in("client", STATEMENTS)
    months = page.get_by_test_id("statement-month")
    expect(months).to_have_count(2)
    expect(page.get_by_test_id("overall-total")).to_have_text("1250.00 USD")
    november = months.filter(has_text="November 2026")
    expect(november.get_by_test_id("month-total")).to_have_text("750.00 USD")
    assert "Secret" not in page.content()
    look("statements")
    with page.expect_download() as info:
        november.get_by_role("link", name="Download CSV of November 2026").click()
    rows = read_csv(info.value)
    assert info.value.suggested_filename == "statement-ACME-2026-11.csv"
    assert [(row[1], row[-2]) for row in rows[1:]] == [("ACME", "500.00"), ("ACME", "250.00")]
    page.get_by_label("Month", exact=True).select_option("2026-10")
    expect(months).to_have_count(1)
    expect(page.get_by_test_id("overall-total")).to_have_text("500.00 USD")


def test_statements_empty(log_in, client_user, look):
    page = log_in("client", STATEMENTS)
    expect(page.get_by_test_id("statements-empty")).to_contain_text(
        "No closed billing month has a charge for your entity yet."
    )
    look("statements-empty")


def test_the_decision_history_filtered_and_exported(log_in, requests_data, look):
    page = log_in("clearing", HISTORY)
    rows = page.get_by_test_id("decisions-row")
    expect(rows).to_have_count(3)  # rejected and approved of ACME, rejected of OTHER: all the firm's
    look("decision-history")
    page.get_by_label("Filter Decision").select_option("rejected")
    expect(rows).to_have_count(2)
    page.get_by_label("Filter Entity").fill("acme")
    expect(rows).to_have_count(1)
    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").click()
    exported = read_csv(info.value)
    assert exported[0][:4] == ["Decided at", "Decision", "Entity", "SenderCompID"]
    assert [(row[1], row[3][:3]) for row in exported[1:]] == [("Rejected", "BB2")]


def test_the_queue_preview_opens_for_a_pending_request(log_in, requests_data, look):
    page = log_in("clearing", QUEUE)
    pending = requests_data["pending"]
    row = page.locator(f'tr[data-membership-id="{pending.pk}"]')
    row.get_by_test_id("preview-link").click()
    expect(row.get_by_test_id("request-preview")).to_contain_text("Opens a new CGW target for iLink gateway CGW1")
    look("approval-queue-preview")
    page.get_by_role("link", name="Your firm's decision history").click()
    expect(page.get_by_role("heading", name="Decision history")).to_be_visible()

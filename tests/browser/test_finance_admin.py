"""Finance in the admin, in a real browser (R12): log in, compute a month from the runs list, read
its lines and totals on the run's page, close it after confirming and download its CSV; and close
an ended month's run from the runs list."""

import datetime as dt

import pytest

from billing.choices import RunStatus
from billing.models import BillingRun
from billing.services import billing_run_compute
from dropcopy_admin import clock
from dropcopy_admin.choices import Environment, Role
from tests import factories

pytestmark = [
    pytest.mark.browser,
    # The reference data and the finance group's permissions come from migrations: restore them.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

RUNS = "/admin/billing/billingrun/"
MAY = dt.date(2025, 5, 1)


@pytest.fixture(autouse=True)
def _mid_june_2025():
    clock.freeze(dt.datetime(2025, 6, 15, 12, tzinfo=dt.UTC))  # the live server shares the product's clock


@pytest.fixture
def acme(db):
    """One entity with two production groups open since April: one free, one at the fee."""
    entity = factories.EntityFactory(code="ACME", name="Acme Trading")
    opened_at = dt.datetime(2025, 4, 1, 12, tzinfo=dt.UTC)
    for name in ("ACME-ORDERS", "ACME-FILLS"):
        factories.GroupFactory(entity=entity, name=name, environment=Environment.PRODUCTION, opened_at=opened_at)
    return entity


@pytest.fixture
def may_run(account_manager, acme):
    return billing_run_compute(actor=account_manager, month=MAY)


@pytest.fixture
def finance(db):
    return factories.UserFactory(role=Role.FINANCE, username="finance")  # in the finance group


def confirm_close(page):
    assert "Close these runs?" in page.locator("#content").inner_text()
    page.get_by_role("button", name="Yes, close them").click()
    page.wait_for_load_state()


def test_finance_computes_a_month_reads_it_closes_it_and_downloads_its_csv(log_in, live_server, finance, acme):
    page = log_in("finance", RUNS)
    assert page.url == f"{live_server.url}{RUNS}"
    page.get_by_role("link", name="Compute a month").click()
    page.wait_for_load_state()
    month = page.get_by_label("Month")
    assert month.input_value() == "2025-06"  # this month, by default

    month.fill("2025-05")
    page.get_by_role("button", name="Compute").click()
    page.wait_for_load_state()

    run = BillingRun.objects.get(month=MAY)
    assert page.url == f"{live_server.url}{RUNS}{run.pk}/change/"
    success = page.locator("ul.messagelist li.success")
    assert success.inner_text() == "May 2025 computed: 2 lines, 500.00 USD in all."
    lines = page.locator("#run-lines tbody tr")
    assert lines.count() == 2
    fills = lines.filter(has_text="ACME-FILLS")
    assert fills.locator("td").nth(3).inner_text() == "500.00"
    assert fills.locator("td").nth(4).inner_text() == "Additional"
    assert fills.locator("td").nth(5).inner_text() == "1 May 2025 – 31 May 2025"
    assert lines.filter(has_text="ACME-ORDERS").locator("td").nth(4).inner_text() == "Free"
    overall = page.locator("#run-totals tr.overall")
    assert overall.inner_text().split() == ["All", "bill-to", "parties", "2", "500.00", "USD"]
    assert page.locator("#run-totals tr.bill-to").count() == 1

    page.get_by_role("link", name="Close the run").click()
    page.wait_for_load_state()
    confirm_close(page)
    assert page.url == f"{live_server.url}{RUNS}{run.pk}/change/"
    assert page.locator("ul.messagelist li.success").inner_text() == "Runs closed: 1."
    assert page.get_by_role("button", name="Compute again").count() == 0
    run.refresh_from_db()
    assert run.status == RunStatus.CLOSED

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename == "billing-2025-05.csv"
    with open(download.path(), "rb") as csv_file:
        assert csv_file.read() == bytes(run.csv_bytes)
    assert bytes(run.csv_bytes).count(b"\r\n") == 3  # the header and the two lines


def test_finance_computes_a_draft_again_from_its_page(log_in, live_server, finance, acme, may_run):
    factories.GroupFactory(
        entity=acme,
        name="ACME-RISK",
        environment=Environment.PRODUCTION,
        opened_at=dt.datetime(2025, 5, 20, 12, tzinfo=dt.UTC),
    )
    page = log_in("finance", f"{RUNS}{may_run.pk}/change/")
    assert page.locator("#run-lines tbody tr").count() == 2

    page.get_by_role("button", name="Compute again").click()
    page.wait_for_load_state()

    assert page.locator("ul.messagelist li.success").inner_text() == (
        "May 2025 computed again: 3 lines, 1000.00 USD in all."
    )
    risk = page.locator("#run-lines tbody tr").filter(has_text="ACME-RISK")
    assert risk.locator("td").nth(5).inner_text() == "20 May 2025 – 31 May 2025"
    assert BillingRun.objects.get(pk=may_run.pk).total == 1000


def test_finance_closes_a_run_from_the_runs_list(log_in, live_server, finance, may_run):
    page = log_in("finance", RUNS)
    assert page.url == f"{live_server.url}{RUNS}"
    row = page.locator("#result_list tbody tr").filter(has_text="May 2025")
    assert row.locator("td.field-status").inner_text() == "Draft"
    assert row.locator("td.field-total").inner_text() == "500.00"
    assert row.locator("td.field-line_count").inner_text() == "2"
    # Finance sees the Billing app only.
    assert page.locator("#nav-sidebar .app-billing").count() == 1
    assert page.locator("#nav-sidebar .app-dropcopy_admin").count() == 0

    row.locator('input[name="_selected_action"]').check()
    page.locator('select[name="action"]').select_option("close_runs")
    page.get_by_role("button", name="Go").click()
    page.wait_for_load_state()
    assert BillingRun.objects.get(month=MAY).status == RunStatus.DRAFT  # not before confirming
    confirm_close(page)

    assert page.locator("ul.messagelist li.success").inner_text() == "Runs closed: 1."
    row = page.locator("#result_list tbody tr").filter(has_text="May 2025")
    assert row.locator("td.field-status").inner_text() == "Closed"
    assert row.locator("td.field-closed_at").inner_text() != "-"
    run = BillingRun.objects.get(month=MAY)
    assert run.status == RunStatus.CLOSED and run.csv_sha256

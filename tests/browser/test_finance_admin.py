"""Finance in the admin, in a real browser: log in, open the billing runs, close an ended month's
run with the action and see it closed (R12)."""

import datetime as dt

import pytest

from billing.choices import RunStatus
from billing.models import BillingRun
from billing.services import billing_run_compute
from dropcopy_admin.choices import Environment, Role
from tests import factories

pytestmark = [
    pytest.mark.browser,
    # The reference data and the finance group's permissions come from migrations: restore them.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

RUNS = "/admin/billing/billingrun/"
MAY = dt.date(2025, 5, 1)


@pytest.fixture
def may_run(account_manager):
    """May 2025 (long ended): one entity with two production groups, so one line costs the fee."""
    entity = factories.EntityFactory(code="ACME", name="Acme Trading")
    opened_at = dt.datetime(2025, 4, 1, 12, tzinfo=dt.UTC)
    for _ in range(2):
        factories.GroupFactory(entity=entity, environment=Environment.PRODUCTION, opened_at=opened_at)
    return billing_run_compute(actor=account_manager, month=MAY)


@pytest.fixture
def finance(db):
    return factories.UserFactory(role=Role.FINANCE, username="finance")  # in the finance group


def test_finance_closes_a_run_from_the_runs_list(log_in, live_server, finance, may_run):
    page = log_in("finance", RUNS)
    assert page.url == f"{live_server.url}{RUNS}"
    row = page.locator("#result_list tbody tr").filter(has_text="2025-05")
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

    assert page.locator("ul.messagelist li.success").inner_text() == "Runs closed: 1."
    row = page.locator("#result_list tbody tr").filter(has_text="2025-05")
    assert row.locator("td.field-status").inner_text() == "Closed"
    assert row.locator("td.field-closed_at").inner_text() != "-"
    run = BillingRun.objects.get(month=MAY)
    assert run.status == RunStatus.CLOSED and run.csv_sha256

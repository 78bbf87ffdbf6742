"""Finance's dashboard (issue 15): runs by month with totals and the change from the month before,
the largest bill-to parties, adjustments, status and downloads; every figure a link to the lines
behind it; a constant number of queries whatever the number of runs and lines; finance's only."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.dashboard import finance, forecast_by_venue
from billing.models import BillingLine, BillingRun
from billing.services import billing_adjustment_create, current_month
from dropcopy_admin.choices import Environment, GroupStatus
from dropcopy_admin.models import DropCopyGroup, Entity
from dropcopy_admin.services.audit import SystemActor

pytestmark = pytest.mark.django_db

URL = "/admin/billing/dashboard/"


def seed(billed_months=3) -> None:
    call_command("seed_scale", scale=0.01, billed_months=billed_months, stdout=io.StringIO())


def listed_count(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.context["cl"].result_count


def test_finance_sees_each_month_with_its_change_and_every_count_links_to_its_lines(client, finance_user):
    seed()
    entity = Entity.objects.filter(code__startswith="SCALE").order_by("id").first()
    billing_adjustment_create(
        actor=SystemActor("test"),
        entity=entity,
        corrects_month=current_month(),
        amount=Decimal("-25.00"),
        note="Credit",
    )
    client.force_login(finance_user)

    response = client.get(URL)

    assert response.status_code == 200
    context = response.context
    runs = [item["run"] for item in context["runs"]]
    assert [run.month for run in runs] == list(BillingRun.objects.order_by("-month").values_list("month", flat=True))
    newest, before = runs[0], runs[1]
    assert newest.change == newest.total - before.total
    for item in context["runs"]:
        assert listed_count(client, item["lines_url"]) == item["run"].lines
        assert [label for label, _ in item["downloads"]] == ["CSV", "JSON", "XLSX"]
    latest = context["latest"]
    assert len(context["largest"]) > 0
    for party, url in context["largest"]:
        assert listed_count(client, url) == party.lines
        total = BillingLine.objects.filter(run_id=latest.run_id, bill_to_id=party.bill_to_id).aggregate(t=Sum("amount"))
        assert party.total == total["t"]
    totals = [party.total for party, _ in context["largest"]]
    assert totals == sorted(totals, reverse=True)
    assert context["adjustment_count"] == 1 == listed_count(client, context["adjustments_url"])
    page = response.content.decode()
    assert "Credit" in page and "-25.00" in page
    assert 'src="data:image/svg+xml;base64,' in page
    download = client.get(context["runs"][0]["downloads"][0][1])
    assert download.status_code == 200


def test_the_cost_in_queries_is_the_same_with_no_run_and_with_a_year_of_runs(client, finance_user):
    client.force_login(finance_user)
    client.get(URL)
    with CaptureQueriesContext(connection) as empty:
        page = client.get(URL).content.decode()
    assert "No billing run yet" in page

    seed(billed_months=4)
    entity = Entity.objects.filter(code__startswith="SCALE").order_by("id").first()
    billing_adjustment_create(
        actor=SystemActor("test"), entity=entity, corrects_month=current_month(), amount=Decimal("10.00"), note="Fix"
    )
    with CaptureQueriesContext(connection) as seeded:
        client.get(URL)

    assert BillingLine.objects.count() > 1_000
    assert len(seeded.captured_queries) == len(empty.captured_queries)


def test_the_forecast_bills_the_live_production_groups_as_billing_does(db):
    seed(billed_months=1)
    forecast, tariff = forecast_by_venue(month=current_month())
    live = DropCopyGroup.objects.filter(environment=Environment.PRODUCTION, status=GroupStatus.ACTIVE)
    assert sum(row.groups for row in forecast) == live.count() > 0
    entities = live.values("entity_id").distinct().count()
    free = sum(min(tariff.free_groups, count) for count in _groups_per_entity(live))
    assert entities > 0
    assert sum(row.amount for row in forecast) == (live.count() - free) * tariff.monthly_fee
    assert finance()["runs"][-1].change is None  # one run: nothing to compare it with


def _groups_per_entity(groups) -> list[int]:
    from django.db.models import Count

    return list(groups.values("entity_id").annotate(n=Count("id")).values_list("n", flat=True))


def test_only_who_reads_billing_runs_opens_it_and_the_admin_index_links_it(
    client, finance_user, client_user, account_manager
):
    client.force_login(finance_user)
    index = client.get(reverse("admin:index")).content.decode()
    assert f'href="{URL}"' in index
    assert 'href="/admin/dashboard/"' not in index
    assert f'href="{URL}"' in client.get("/portal/", follow=True).content.decode()
    client.force_login(client_user)
    assert client.get(URL).status_code == 302
    client.force_login(account_manager)
    assert client.get(URL).status_code == 200
    assert Decimal("0.00") == finance()["adjustment_total"]

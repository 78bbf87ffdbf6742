"""The account managers' dashboard (issue 15): every figure a link to a list with as many rows, the
live gateway's published figures, a constant number of queries whatever the world's size, and
nobody else's page."""

import datetime as dt
import io
import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dropcopy_admin import clock
from dropcopy_admin.models import ConnectivityCheck, GatewayProcess, TargetSession
from dropcopy_admin.models.checks import CheckOutcome, CheckStage
from dropcopy_admin.selectors.dashboard import connectivity

pytestmark = pytest.mark.django_db

URL = "/admin/dashboard/"


def seed(scale=0.01, billed_months=2) -> None:
    call_command("seed_scale", scale=scale, billed_months=billed_months, stdout=io.StringIO())


def queries_of(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def listed_count(client, url: str) -> int:
    """How many rows the admin list at ``url`` holds (its own count, as it shows it)."""
    response = client.get(url)
    assert response.status_code == 200, url
    assert "e=1" not in response.get("Location", ""), f"the list refused the filter of {url}"
    return response.context["cl"].result_count


def figure_links(context) -> list[tuple[str, int, str]]:
    """(label, number shown, list URL) of every figure of the page."""
    links = []
    for key in ("capacity_figures", "status_figures", "pending_figures", "test_target_figures"):
        links += [(item["figure"].label, item["figure"].value, item["url"]) for item in context[key]]
    links.append(("keys", context["expiring_keys"]["figure"].value, context["expiring_keys"]["url"]))
    links.append(("pending", context["queues"]["pending"].value, context["pending_url"]))
    links.append(("gateway", context["gateway"]["running"].value, context["gateway_url"]))
    links += [(row.label, row.targets, url) for row, url in context["gateway_rows"]]
    links += [(row.target_comp_id, row.failed_checks, url) for row, url in context["failing"]]
    for day in context["check_days"]:
        links += [(f"{day['day']} ok", day["ok"].value, day["ok_url"])]
        links += [(f"{day['day']} failed", day["failed"].value, day["failed_url"])]
    links += [(row["label"], row["value"], row["url"]) for row in context["certifications"]]
    links += [(row.venue, row.groups, url) for row, url in context["forecast"]]
    links += [(row.in_words, row.lines, url) for row, url in context["revenue_months"]]
    return links


def test_every_figure_links_to_the_list_of_as_many_rows(client, account_manager):
    seed()
    GatewayProcess.objects.create(
        name="gateway", host="gw-1", pid=7, started_at=clock.now(), last_seen_at=clock.now(), sessions_logged_on=3
    )
    client.force_login(account_manager)

    response = client.get(URL)

    assert response.status_code == 200
    links = figure_links(response.context)
    assert len(links) > 40
    assert sum(value for _, value, _ in links) > 0
    for label, value, url in links:
        assert listed_count(client, url) == value, f"{label}: {value} shown, the list at {url} differs"
    statuses = {figure.label: figure.value for figure in response.context["connectivity"]["statuses"]}
    live = TargetSession.objects.filter(closed_at__isnull=True)
    assert statuses["Failed"] == live.filter(status="failed").count() > 0
    assert response.context["revenue"]["forecast_total"] > 0


def test_the_cost_in_queries_is_the_same_in_an_empty_and_a_seeded_world(client, account_manager):
    client.force_login(account_manager)
    GatewayProcess.objects.create(name="gateway", host="gw-1", pid=7, started_at=clock.now(), last_seen_at=clock.now())
    client.get(URL)  # content types and the like, cached once
    empty = queries_of(client, URL)

    seed()
    GatewayProcess.objects.create(name="gateway", host="gw-2", pid=8, started_at=clock.now(), last_seen_at=clock.now())
    seeded = queries_of(client, URL)

    assert TargetSession.objects.count() >= 20 and ConnectivityCheck.objects.count() >= 7_000
    assert seeded == empty


def test_an_empty_world_says_what_to_do(client, account_manager):
    client.force_login(account_manager)

    page = client.get(URL).content.decode()

    assert "No gateway process is running" in page
    assert "No request is waiting for a decision." in page
    assert "No address is failing" in page
    assert "No month is closed yet" in page


def test_the_live_gateway_panel_shows_what_each_running_process_published(client, account_manager):
    at = clock.now()
    GatewayProcess.objects.create(
        name="gateway",
        host="gw-live",
        pid=41,
        started_at=at,
        last_seen_at=at,
        sessions_logged_on=12,
        last_heartbeat_at=dt.datetime(2026, 12, 4, 20, 49, tzinfo=dt.UTC),
        resend_requests_today=5,
        refused_logons_today=2,
        published_at=dt.datetime(2026, 12, 4, 20, 50, tzinfo=dt.UTC),
    )
    GatewayProcess.objects.create(
        name="gateway", host="gw-stopped", pid=42, started_at=at, last_seen_at=at, stopped_at=at
    )
    client.force_login(account_manager)

    page = client.get(URL).content.decode()

    row = re.search(r"<tr><th scope=\"row\"><a [^>]*>gw-live \(process 41\)</a></th>(.*?)</tr>", page)
    assert row is not None
    cells = re.findall(r"<td>(.*?)</td>", row.group(1))
    assert cells[:5] == ["12", "2026-12-04 20:49 UTC", "5", "2", "0"]
    assert cells[5] == "2026-12-04 20:50 UTC"
    assert "gw-stopped" not in page


def test_a_failing_address_counts_from_its_first_failure_after_the_last_pass(account_manager):
    from tests.dropcopy_admin.test_provisioning import approved_target

    target = approved_target()
    TargetSession.objects.filter(pk=target.pk).update(status="failed")
    address = target.addresses.order_by("id").first()
    at = clock.now()

    def check(days_ago: int, outcome: str) -> None:
        ConnectivityCheck.objects.create(
            target=target,
            ip=address.ip,
            role=address.role,
            market_segment=address.market_segment,
            outcome=outcome,
            stage=None if outcome == CheckOutcome.OK else CheckStage.CONNECT,
            checked_at=at - dt.timedelta(days=days_ago),
        )

    check(5, CheckOutcome.FAILED)
    check(4, CheckOutcome.OK)
    check(3, CheckOutcome.FAILED)
    check(2, CheckOutcome.FAILED)

    failing = connectivity(at=at)["failing"]

    assert [(row.target_comp_id, row.ip, row.failed_checks) for row in failing] == [
        (target.target_comp_id, address.ip, 2)
    ]
    assert failing[0].since == at - dt.timedelta(days=3)
    check(1, CheckOutcome.OK)
    assert connectivity(at=at)["failing"] == []


def test_only_account_managers_open_it_and_the_admin_index_and_home_link_it(
    client, account_manager, finance_user, client_user
):
    client.force_login(finance_user)
    assert client.get(URL).status_code == 403
    assert reverse("admin-dashboard") not in client.get(reverse("admin:index")).content.decode()
    client.force_login(client_user)
    assert client.get(URL).status_code == 302  # not staff: the admin's login
    client.force_login(account_manager)
    assert f'href="{URL}"' in client.get(reverse("admin:index")).content.decode()
    assert f'href="{URL}"' in client.get("/portal/", follow=True).content.decode()


def test_a_target_at_80_percent_is_flagged_and_listed_by_the_load_filter(client, account_manager):
    from tests.dropcopy_admin.test_provisioning import approved_target

    full, roomy = approved_target(), approved_target()
    TargetSession.objects.filter(pk=full.pk).update(used=full.capacity * 8 // 10)
    TargetSession.objects.filter(pk=roomy.pk).update(used=full.capacity * 8 // 10 - 1)
    client.force_login(account_manager)

    context = client.get(URL).context

    figure = context["capacity"]["full"]
    assert (figure.value, figure.flagged) == (1, True)
    assert [target.pk for target in context["capacity"]["full_targets"]] == [full.pk]
    url = next(item["url"] for item in context["capacity_figures"] if item["figure"] is figure)
    assert listed_count(client, url) == 1
    assert full.target_comp_id in client.get(url).content.decode()

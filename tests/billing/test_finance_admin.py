"""Finance in the admin (R12, R18): the finance group holds the billing permissions only — runs by
month with their totals, a month computed or computed again, a run's lines and totals, lines filtered
by month, entity and bill-to party, closing, downloads and tariffs — and nothing of the core domain;
tariffs change from a month after every closed run only, through the audited service; clients and
clearing firms never reach the admin. Months and refusals read in words."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from billing.choices import RunStatus
from billing.models import BillingLine, BillingRun, Tariff
from billing.services import billing_adjustment_create, billing_run_close, billing_run_compute
from billing.tariffs import tariff_create, tariff_update
from dropcopy_admin import clock
from dropcopy_admin.choices import Environment, Role
from dropcopy_admin.errors import Conflict, InvalidInput, PermissionDenied
from dropcopy_admin.models import AuditEvent
from dropcopy_admin.services import users
from tests import factories

pytestmark = pytest.mark.django_db

MAY = dt.date(2025, 5, 1)
JUNE = dt.date(2025, 6, 1)
RUNS = reverse("admin:billing_billingrun_changelist")
LINES = reverse("admin:billing_billingline_changelist")
TARIFFS = reverse("admin:billing_tariff_changelist")
ADD_TARIFF = reverse("admin:billing_tariff_add")
COMPUTE = reverse("admin:billing_billingrun_compute")
FINANCE_PERMISSIONS = {
    "view_billingrun",
    "add_billingrun",
    "change_billingrun",
    "close_billingrun",
    "export_billingrun",
    "view_billingline",
    "view_tariff",
    "add_tariff",
    "change_tariff",
}


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _mid_june_2025():
    clock.freeze(utc(2025, 6, 15, 12))


@pytest.fixture
def finance(account_manager):
    """A finance user made as account managers make them: staff, in the finance group."""
    return users.user_create(actor=account_manager, username="fin", password="Fin4nce-Pa55word", role=Role.FINANCE)


@pytest.fixture
def finance_client(client, finance):
    client.force_login(finance)
    return client


@pytest.fixture
def am_client(client, account_manager):
    client.force_login(account_manager)
    return client


def billed_group(entity, *, opened_at=None):
    return factories.GroupFactory(
        entity=entity, environment=Environment.PRODUCTION, opened_at=opened_at or utc(2025, 4, 1, 12)
    )


@pytest.fixture
def may_run(account_manager):
    """May's draft run: ACME (billed to itself) with two groups, BETA (billed to ACME) with one."""
    acme = factories.EntityFactory(code="ACME", name="Acme Trading")
    beta = factories.EntityFactory(code="BETA", name="Beta Capital", bill_to=acme)
    billed_group(acme)
    billed_group(acme)
    billed_group(beta)
    run = billing_run_compute(actor=account_manager, month=MAY)
    return {"run": run, "acme": acme, "beta": beta}


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def close_action(client, *runs, confirm: bool = True):
    form = {"action": "close_runs", "_selected_action": [run.pk for run in runs]}
    return client.post(RUNS, {**form, "confirm": "yes"} if confirm else form, follow=True)


def tariff_form(month: str, fee: str, free: str = "1") -> dict:
    return {"effective_month": month, "free_groups": free, "monthly_fee": fee, "currency": "USD"}


# Who gets in, and to what


def test_the_finance_group_holds_exactly_the_billing_permissions():
    finance = Group.objects.get(name=users.FINANCE_GROUP)
    granted = set(finance.permissions.values_list("content_type__app_label", "codename"))
    assert granted == {("billing", codename) for codename in FINANCE_PERMISSIONS}


def test_finance_users_are_staff_in_the_finance_group_without_superuser(finance):
    assert finance.is_staff and not finance.is_superuser
    assert list(finance.groups.values_list("name", flat=True)) == [users.FINANCE_GROUP]


def test_the_admin_index_shows_finance_the_billing_app_only(finance_client):
    response = finance_client.get(reverse("admin:index"))
    assert response.status_code == 200
    apps = {app["app_label"]: {model["object_name"] for model in app["models"]} for app in response.context["app_list"]}
    assert apps == {"billing": {"BillingRun", "BillingLine", "Tariff"}}


@pytest.mark.parametrize(
    "model",
    [model for model in admin.site._registry if model._meta.app_label != "billing"],
    ids=lambda model: model._meta.label,
)
def test_every_other_changelist_is_forbidden_to_finance(finance_client, model):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    assert finance_client.get(url).status_code == 403


@pytest.mark.parametrize("user_fixture", ["client_user", "clearing_user"])
def test_clients_and_clearing_firms_never_reach_the_admin(client, request, user_fixture):
    client.force_login(request.getfixturevalue(user_fixture))
    for url in (reverse("admin:index"), RUNS, LINES, TARIFFS):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))


def test_finance_may_neither_add_nor_change_nor_delete_runs_or_lines(finance_client, may_run):
    run = may_run["run"]
    line = run.lines.first()
    assert finance_client.get(reverse("admin:billing_billingrun_add")).status_code == 403
    assert finance_client.get(reverse("admin:billing_billingline_add")).status_code == 403
    assert finance_client.get(reverse("admin:billing_billingrun_delete", args=[run.pk])).status_code == 403
    assert finance_client.get(reverse("admin:billing_billingline_delete", args=[line.pk])).status_code == 403
    assert finance_client.get(reverse("admin:billing_billingrun_change", args=[run.pk])).status_code == 200
    assert finance_client.post(reverse("admin:billing_billingrun_change", args=[run.pk]), {}).status_code == 403
    assert finance_client.post(reverse("admin:billing_billingline_change", args=[line.pk]), {}).status_code == 403


def test_a_closed_run_is_read_only_even_for_an_account_manager(am_client, may_run, account_manager):
    run = billing_run_close(actor=account_manager, month=MAY)
    page = am_client.get(reverse("admin:billing_billingrun_change", args=[run.pk]))
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert am_client.post(reverse("admin:billing_billingrun_change", args=[run.pk]), {}).status_code == 403


# Runs and lines


def test_finance_sees_runs_by_month_with_their_totals(finance_client, may_run):
    response = finance_client.get(RUNS)
    assert response.status_code == 200
    [run] = response.context["cl"].result_list
    assert (run.month, run.status, run.total, run.line_count, run.closed_at) == (
        MAY,
        RunStatus.DRAFT,
        Decimal("500.00"),
        3,
        None,
    )
    page = response.content.decode()
    assert '<th class="field-billed_month"><a href="' in page and ">May 2025</a></th>" in page
    assert '<td class="field-total">500.00</td>' in page
    assert f'href="{LINES}?month=2025-05"' in page


def filtered_lines(client, **params) -> set[int]:
    response = client.get(LINES, params)
    assert response.status_code == 200
    return {line.pk for line in response.context["cl"].result_list}


def test_finance_filters_lines_by_entity_and_by_bill_to_party(finance_client, may_run):
    acme, beta = may_run["acme"], may_run["beta"]
    acme_lines = set(BillingLine.objects.filter(entity=acme).values_list("pk", flat=True))
    beta_lines = set(BillingLine.objects.filter(entity=beta).values_list("pk", flat=True))
    assert len(acme_lines) == 2 and len(beta_lines) == 1

    assert filtered_lines(finance_client, entity__id__exact=acme.pk) == acme_lines
    assert filtered_lines(finance_client, entity__id__exact=beta.pk) == beta_lines
    assert filtered_lines(finance_client, bill_to__id__exact=acme.pk) == acme_lines | beta_lines
    assert filtered_lines(finance_client, bill_to__id__exact=beta.pk) == set()
    assert filtered_lines(finance_client, q="BETA") == beta_lines


def test_finance_filters_lines_by_the_month_of_their_run(finance_client, may_run, account_manager):
    june_line = billing_adjustment_create(
        actor=account_manager, entity=may_run["beta"], corrects_month=MAY, amount=Decimal("-20.00"), note="Refund"
    )
    may_lines = set(may_run["run"].lines.values_list("pk", flat=True))
    assert filtered_lines(finance_client, month="2025-05") == may_lines
    assert filtered_lines(finance_client, month="2025-06") == {june_line.pk}
    assert filtered_lines(finance_client, month="not-a-month") == set()
    assert filtered_lines(finance_client) == may_lines | {june_line.pk}


def test_the_close_action_asks_first_and_closes_nothing_until_confirmed(finance_client, may_run):
    response = close_action(finance_client, may_run["run"], confirm=False)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Close these runs?" in page and "May 2025, draft: 3 lines, 500.00 USD" in page
    assert BillingRun.objects.get(month=MAY).status == RunStatus.DRAFT


def test_finance_closes_an_ended_months_draft_run_through_the_action(finance_client, finance, may_run):
    response = close_action(finance_client, may_run["run"])
    assert response.status_code == 200
    assert messages_of(response) == ["Runs closed: 1."]
    run = BillingRun.objects.get(month=MAY)
    assert run.status == RunStatus.CLOSED and run.closed_at == clock.now() and run.csv_sha256
    event = AuditEvent.objects.get(object_type="billingrun", object_id=run.pk, action="billing_run.close")
    assert (event.actor, event.actor_user_id) == ("fin", finance.pk)


def test_closing_a_month_not_yet_ended_or_already_closed_is_a_message_not_an_error(finance_client, may_run):
    june = BillingRun.objects.create(month=JUNE)
    response = close_action(finance_client, may_run["run"], june)
    assert response.status_code == 200
    assert messages_of(response) == [
        "June 2025 has not ended yet.",
        "Runs closed: 1.",
    ]
    assert BillingRun.objects.get(month=JUNE).status == RunStatus.DRAFT

    again = close_action(finance_client, may_run["run"])
    assert again.status_code == 200
    assert messages_of(again) == ["The run of May 2025 is already closed."]


def test_the_close_action_is_offered_only_with_the_close_permission(client, finance, finance_client, may_run):
    assert "close_runs" in dict(finance_client.get(RUNS).context["action_form"].fields["action"].choices)
    viewer = factories.UserFactory(role=Role.FINANCE, username="viewer")
    viewer.groups.clear()  # the finance group's permissions, but the close one
    viewer.user_permissions.add(*Group.objects.get(name="finance").permissions.exclude(codename="close_billingrun"))
    client.force_login(viewer)
    response = client.get(RUNS)
    assert response.status_code == 200
    assert "close_runs" not in dict(response.context["action_form"].fields["action"].choices)
    refused = close_action(client, may_run["run"])
    assert refused.status_code == 200
    assert BillingRun.objects.get(month=MAY).status == RunStatus.DRAFT


def add_billing_rows(actor, count: int) -> None:
    """``count`` more runs (earlier years), tariffs (later years) and lines in May's run."""
    earliest_run = BillingRun.objects.order_by("month").values_list("month", flat=True).first() or JUNE
    latest_tariff = Tariff.objects.order_by("-effective_month").first().effective_month
    for offset in range(1, count + 1):
        entity = factories.EntityFactory()
        billed_group(entity)
        billed_group(entity)
        BillingRun.objects.create(month=dt.date(earliest_run.year - offset, 1, 1))
        tariff_create(
            actor=actor, effective_month=dt.date(latest_tariff.year + offset, 1, 1), monthly_fee=Decimal(offset)
        )
    billing_run_compute(actor=actor, month=MAY)


@pytest.mark.parametrize("url", [RUNS, LINES, TARIFFS], ids=["runs", "lines", "tariffs"])
def test_a_billing_list_costs_the_same_queries_for_one_row_and_for_twenty(finance_client, account_manager, url):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = finance_client.get(url)
        assert response.status_code == 200
        return len(captured), response.context["cl"].result_count

    add_billing_rows(account_manager, 1)
    finance_client.get(url)  # warm the session and content types
    one, few = queries()
    add_billing_rows(account_manager, 19)
    many, rows = queries()
    assert rows >= 20 > few
    assert many == one


# Computing a month, a run's page, closing it from there, downloads


def run_page(run) -> str:
    return reverse("admin:billing_billingrun_change", args=[run.pk])


def run_url(view: str, run, *args) -> str:
    return reverse(f"admin:billing_billingrun_{view}", args=[run.pk, *args])


def test_the_runs_list_leads_finance_to_the_compute_form_set_to_this_month(finance_client):
    assert f'href="{COMPUTE}"' in finance_client.get(RUNS).content.decode()
    response = finance_client.get(COMPUTE)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'type="month"' in page and 'value="2025-06"' in page


def test_finance_computes_a_month_and_lands_on_its_run(finance_client, finance):
    entity = factories.EntityFactory(code="ACME", name="Acme Trading")
    billed_group(entity)
    billed_group(entity)

    response = finance_client.post(COMPUTE, {"month": "2025-05"}, follow=True, HTTP_X_REQUEST_ID="compute-may")

    run = BillingRun.objects.get(month=MAY)
    assert response.redirect_chain == [(run_page(run), 302)]
    assert messages_of(response) == ["May 2025 computed: 2 lines, 500.00 USD in all."]
    assert (run.status, run.total, run.line_count) == (RunStatus.DRAFT, Decimal("500.00"), 2)
    event = AuditEvent.objects.get(object_type="billingrun", object_id=run.pk)
    assert (event.action, event.actor, event.actor_user_id, event.request_id) == (
        "billing_run.create",
        "fin",
        finance.pk,
        "compute-may",
    )


def test_finance_computes_a_draft_again_from_its_page(finance_client, finance, may_run):
    run = may_run["run"]
    recompute = run_url("recompute", run)
    assert f'action="{recompute}"' in finance_client.get(run_page(run)).content.decode()
    billed_group(may_run["beta"])  # opened since the run was computed: BETA's second group costs the fee

    response = finance_client.post(recompute, follow=True)

    assert response.redirect_chain == [(run_page(run), 302)]
    assert messages_of(response) == ["May 2025 computed again: 4 lines, 1000.00 USD in all."]
    run.refresh_from_db()
    assert (run.total, run.line_count) == (Decimal("1000.00"), 4)
    event = AuditEvent.objects.get(object_type="billingrun", object_id=run.pk, action="billing_run.recompute")
    assert event.actor_user_id == finance.pk
    assert finance_client.get(recompute).status_code == 405


def test_computing_the_same_month_from_the_form_computes_its_draft_again(finance_client, may_run):
    response = finance_client.post(COMPUTE, {"month": "2025-05"}, follow=True)
    assert messages_of(response) == ["May 2025 computed again: 3 lines, 500.00 USD in all."]
    assert BillingRun.objects.get(month=MAY).pk == may_run["run"].pk


@pytest.mark.parametrize(
    ("month", "refusal"),
    [
        ("2025-05", "The run of May 2025 is closed."),
        ("1999-12", "No tariff is in force for December 1999; billing starts later."),
        ("2025-07", "July 2025 has not begun."),
        ("July", "Give a month as year and month, such as 2026-11."),
        ("", "Pick a month."),
    ],
    ids=["closed", "before-the-first-tariff", "not-begun", "not-a-month", "none"],
)
def test_a_month_that_cannot_be_computed_is_refused_in_words_beside_the_field(
    finance_client, account_manager, may_run, month, refusal
):
    billing_run_close(actor=account_manager, month=MAY)
    events = AuditEvent.objects.count()

    response = finance_client.post(COMPUTE, {"month": month})

    assert response.status_code == 200
    assert response.context["form"].errors == {"month": [refusal]}
    page = response.content.decode()
    assert f'<ul class="errorlist" id="id_month_error"><li>{refusal}</li></ul>' in page
    assert "billing_period_closed" not in page and "(invalid)" not in page
    assert AuditEvent.objects.count() == events
    assert BillingRun.objects.count() == 1


def test_a_closed_run_cannot_be_computed_again_from_its_page(finance_client, account_manager, may_run):
    run = billing_run_close(actor=account_manager, month=MAY)
    page = finance_client.get(run_page(run)).content.decode()
    assert run_url("recompute", run) not in page and run_url("close", run) not in page

    response = finance_client.post(run_url("recompute", run), follow=True)

    assert messages_of(response) == ["The run of May 2025 is closed."]
    assert BillingRun.objects.get(pk=run.pk).computed_at == run.computed_at


def test_a_runs_page_shows_its_lines_and_its_totals_per_bill_to_party(finance_client, account_manager, may_run):
    gamma = factories.EntityFactory(code="GAMMA", name="Gamma Futures")
    billed_group(gamma, opened_at=utc(2025, 6, 10, 17))  # 12:00 in Chicago, 10 June
    billing_adjustment_create(
        actor=account_manager, entity=may_run["beta"], corrects_month=MAY, amount=Decimal("-20.00"), note="Refund"
    )
    june = billing_run_compute(actor=account_manager, month=JUNE)

    response = finance_client.get(run_page(june))

    assert response.status_code == 200
    assert [(total["bill_to__code"], total["lines"], total["total"]) for total in response.context["run_totals"]] == [
        ("ACME", 4, Decimal("480.00")),
        ("GAMMA", 1, Decimal("0.00")),
    ]
    shown = [
        (line.entity.code, line.bill_to.code, line.amount, line.get_reason_display(), period, corrects, line.note)
        for line, period, corrects in response.context["run_lines"]
    ]
    june_whole = "1 June 2025 – 30 June 2025"
    assert shown == [
        ("BETA", "ACME", Decimal("-20.00"), "Adjustment", "", "May 2025", "Refund"),
        ("ACME", "ACME", Decimal("0.00"), "Free", june_whole, "", ""),
        ("ACME", "ACME", Decimal("500.00"), "Additional", june_whole, "", ""),
        ("BETA", "ACME", Decimal("0.00"), "Free", june_whole, "", ""),
        ("GAMMA", "GAMMA", Decimal("0.00"), "Free", "10 June 2025 – 30 June 2025", "", ""),
    ]
    page = response.content.decode()
    assert "June 2025, draft" in page
    assert f"<td>{escape(may_run['beta'])}</td>" in page and "<td>Refund</td>" in page
    group_names = june.lines.filter(group__isnull=False).values_list("group__name", flat=True)
    assert all(f"<td>{escape(name)}</td>" in page for name in group_names)
    assert f"<td>{escape(gamma)}</td>" in page and "<td>10 June 2025 – 30 June 2025</td>" in page
    assert '<th class="amount">480.00</th>' in page and "<th>USD</th>" in page


def test_a_runs_page_costs_the_same_queries_for_one_line_and_for_many(finance_client, account_manager):
    def shown() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            response = finance_client.get(run_page(run))
        assert response.status_code == 200
        return len(captured), len(response.context["run_lines"])

    billed_group(factories.EntityFactory())
    run = billing_run_compute(actor=account_manager, month=MAY)
    finance_client.get(run_page(run))  # warm the session and content types
    one, few = shown()
    for _ in range(20):
        entity = factories.EntityFactory()
        billed_group(entity)
        billed_group(entity)
    billing_run_compute(actor=account_manager, month=MAY)
    many, lines = shown()
    assert (few, lines) == (1, 41)
    assert many == one


def test_finance_closes_a_run_from_its_page_after_confirming(finance_client, finance, may_run):
    run = may_run["run"]
    close = run_url("close", run)
    assert f'href="{close}"' in finance_client.get(run_page(run)).content.decode()

    question = finance_client.get(close)
    assert question.status_code == 200 and "Close these runs?" in question.content.decode()
    assert BillingRun.objects.get(pk=run.pk).status == RunStatus.DRAFT

    response = finance_client.post(close, {"confirm": "yes"}, follow=True)

    assert response.redirect_chain == [(run_page(run), 302)]
    assert messages_of(response) == ["Runs closed: 1."]
    closed = BillingRun.objects.get(pk=run.pk)
    assert closed.status == RunStatus.CLOSED and closed.csv_sha256
    assert AuditEvent.objects.get(object_id=run.pk, action="billing_run.close").actor_user_id == finance.pk


def test_closing_a_month_that_has_not_ended_from_its_page_says_so(finance_client, account_manager):
    june = billing_run_compute(actor=account_manager, month=JUNE)
    response = finance_client.post(run_url("close", june), {"confirm": "yes"}, follow=True)
    assert messages_of(response) == ["June 2025 has not ended yet."]
    assert BillingRun.objects.get(pk=june.pk).status == RunStatus.DRAFT


def downloaded(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_a_run_downloads_from_its_page_streamed_while_draft_and_as_stored_once_closed(
    finance_client, account_manager, may_run, fmt
):
    run = may_run["run"]
    url = run_url("download", run, fmt)
    assert f'href="{url}"' in finance_client.get(run_page(run)).content.decode()

    draft = finance_client.get(url)
    assert draft.status_code == 200 and draft.streaming
    assert draft["Content-Disposition"] == f'attachment; filename="billing-2025-05.{fmt}"'
    draft_bytes = downloaded(draft)

    billing_run_close(actor=account_manager, month=MAY)
    closed = finance_client.get(url)
    assert closed.status_code == 200 and not closed.streaming
    assert closed["Content-Disposition"] == f'attachment; filename="billing-2025-05.{fmt}"'
    stored = bytes(getattr(BillingRun.objects.get(pk=run.pk), f"{fmt}_bytes"))
    assert closed.content == stored
    if fmt == "xlsx":
        assert draft_bytes.startswith(b"PK")  # a workbook; openpyxl's write-only mode zips it differently
    else:
        assert draft_bytes == stored
    assert finance_client.get(run_url("download", run, "pdf")).status_code == 404


@pytest.mark.parametrize("user_fixture", ["client_user", "clearing_user"])
def test_clients_and_clearing_firms_may_not_compute_close_or_download(client, request, user_fixture, account_manager):
    client.force_login(request.getfixturevalue(user_fixture))
    billed_group(factories.EntityFactory())
    run = billing_run_compute(actor=account_manager, month=MAY)
    events = AuditEvent.objects.count()
    attempts = [
        client.get(COMPUTE),
        client.post(COMPUTE, {"month": "2025-05"}),
        client.post(run_url("recompute", run)),
        client.get(run_url("close", run)),
        client.post(run_url("close", run), {"confirm": "yes"}),
        client.get(run_url("download", run, "csv")),
    ]
    for response in attempts:
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))
    assert AuditEvent.objects.count() == events
    assert BillingRun.objects.get(pk=run.pk).status == RunStatus.DRAFT


def test_staff_without_the_billing_run_permissions_get_403(client, may_run):
    viewer = factories.UserFactory(role=Role.FINANCE, username="viewer")
    viewer.groups.clear()  # may see runs and lines, nothing more
    viewer.user_permissions.add(*Group.objects.get(name="finance").permissions.filter(codename__startswith="view_"))
    client.force_login(viewer)
    run = may_run["run"]
    assert f'href="{COMPUTE}"' not in client.get(RUNS).content.decode()
    page = client.get(run_page(run))
    assert page.status_code == 200
    assert page.context["downloads"] == [] and not page.context["may_recompute"] and not page.context["may_close"]
    for response in (
        client.get(COMPUTE),
        client.post(COMPUTE, {"month": "2025-05"}),
        client.post(run_url("recompute", run)),
        client.get(run_url("close", run)),
        client.post(run_url("close", run), {"confirm": "yes"}),
        client.get(run_url("download", run, "csv")),
    ):
        assert response.status_code == 403
    assert not AuditEvent.objects.filter(actor_user_id=viewer.pk).exists()


# Tariffs


def test_finance_adds_a_tariff_from_a_coming_month_and_it_is_audited(finance_client, finance):
    response = finance_client.post(ADD_TARIFF, tariff_form("2025-07-01", "750.00"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    tariff = Tariff.objects.get(effective_month=dt.date(2025, 7, 1))
    assert (tariff.monthly_fee, tariff.free_groups) == (Decimal("750.00"), 1)
    event = AuditEvent.objects.get(object_type="tariff", object_id=tariff.pk)
    assert (event.action, event.before, event.after["monthly_fee"]) == ("tariff.create", None, "750.00")


@pytest.mark.parametrize("editor", ["finance", "account_manager"])
def test_finance_and_account_managers_change_a_tariff_and_the_change_is_audited(client, request, editor):
    user = request.getfixturevalue(editor)
    client.force_login(user)
    tariff = Tariff.objects.create(effective_month=dt.date(2025, 7, 1), monthly_fee=Decimal("600.00"))
    response = client.post(
        reverse("admin:billing_tariff_change", args=[tariff.pk]), tariff_form("2025-07-01", "650.00", "2")
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    tariff.refresh_from_db()
    assert (tariff.monthly_fee, tariff.free_groups) == (Decimal("650.00"), 2)
    event = AuditEvent.objects.get(object_type="tariff", object_id=tariff.pk, action="tariff.update")
    assert (event.before["monthly_fee"], event.after["monthly_fee"], event.after["free_groups"]) == (
        "600.00",
        "650.00",
        2,
    )


def test_a_tariff_in_or_before_a_closed_month_is_refused_on_the_form(finance_client, may_run, account_manager):
    billing_run_close(actor=account_manager, month=MAY)
    seeded = Tariff.objects.get(effective_month=dt.date(2000, 1, 1))

    refusal = ["The run of May 2025 is closed: a tariff may start only after it."]
    added = finance_client.post(ADD_TARIFF, tariff_form("2025-05-01", "900.00"))
    assert added.status_code == 200
    assert added.context["adminform"].form.errors == {"effective_month": refusal}
    changed = finance_client.post(
        reverse("admin:billing_tariff_change", args=[seeded.pk]), tariff_form("2000-01-01", "900.00")
    )
    assert changed.status_code == 200
    assert changed.context["adminform"].form.errors == {"effective_month": refusal}
    assert "billing_period_closed" not in changed.content.decode()

    assert not Tariff.objects.filter(effective_month=MAY).exists()
    assert Tariff.objects.get(pk=seeded.pk).monthly_fee == Decimal("500.00")
    assert not AuditEvent.objects.filter(object_type="tariff").exists()


def test_finance_may_not_delete_a_tariff(finance_client):
    seeded = Tariff.objects.get(effective_month=dt.date(2000, 1, 1))
    assert finance_client.get(reverse("admin:billing_tariff_delete", args=[seeded.pk])).status_code == 403


# The tariff service


def test_a_tariff_applies_from_its_month_on_only(account_manager):
    entity = factories.EntityFactory()
    billed_group(entity)
    billed_group(entity)
    billing_run_compute(actor=account_manager, month=MAY)
    billing_run_close(actor=account_manager, month=MAY)
    tariff_create(actor=account_manager, effective_month=JUNE, monthly_fee=Decimal("800.00"))

    june = billing_run_compute(actor=account_manager, month=JUNE)
    assert june.total == Decimal("800.00")
    assert BillingRun.objects.get(month=MAY).total == Decimal("500.00")


def test_a_tariff_may_not_move_back_into_a_closed_month(account_manager, may_run):
    tariff = tariff_create(actor=account_manager, effective_month=dt.date(2025, 8, 1), monthly_fee=Decimal("1.00"))
    billing_run_close(actor=account_manager, month=MAY)
    with pytest.raises(Conflict) as refused:
        tariff_update(actor=account_manager, tariff=tariff, changes={"effective_month": MAY})
    assert refused.value.code == "billing_period_closed"
    moved = tariff_update(actor=account_manager, tariff=tariff, changes={"effective_month": JUNE})
    assert moved.effective_month == JUNE


def test_a_second_tariff_for_a_month_is_refused(account_manager):
    tariff_create(actor=account_manager, effective_month=JUNE, monthly_fee=Decimal("1.00"))
    with pytest.raises(Conflict) as refused:
        tariff_create(actor=account_manager, effective_month=JUNE, monthly_fee=Decimal("2.00"))
    assert refused.value.code == "already_exists"


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"effective_month": dt.date(2025, 7, 2)}, "effective_month"),
        ({"monthly_fee": Decimal("-1.00")}, "monthly_fee"),
        ({"free_groups": -1}, "free_groups"),
    ],
)
def test_invalid_tariff_values_are_refused(account_manager, values, field):
    arguments = {"effective_month": dt.date(2025, 7, 1), "monthly_fee": Decimal("1.00"), **values}
    with pytest.raises(InvalidInput) as refused:
        tariff_create(actor=account_manager, **arguments)
    assert field in refused.value.errors


@pytest.mark.parametrize("user_fixture", ["client_user", "clearing_user"])
def test_only_account_managers_and_finance_edit_tariffs(request, user_fixture, finance):
    with pytest.raises(PermissionDenied):
        tariff_create(
            actor=request.getfixturevalue(user_fixture), effective_month=dt.date(2025, 7, 1), monthly_fee=Decimal("1")
        )
    assert tariff_create(actor=finance, effective_month=dt.date(2025, 7, 1), monthly_fee=Decimal("1")).pk


# The API


def test_finance_closes_exports_and_filters_lines_through_the_api(finance_api, may_run):
    base = "/api/v1/billing/runs/2025-05/"
    assert finance_api.get("/api/v1/billing/runs/").status_code == 200
    assert finance_api.post(f"{base}close/", {}, format="json").status_code == 200
    export = finance_api.get(f"{base}export.csv")
    assert export.status_code == 200
    assert b"".join(getattr(export, "streaming_content", [export.content])) == bytes(
        BillingRun.objects.get(month=MAY).csv_bytes
    )
    by_entity = finance_api.get(f"{base}lines/", {"entity": may_run["beta"].pk})
    assert [line["bill_to"] for line in by_entity.json()["results"]] == [may_run["acme"].pk]
    by_bill_to = finance_api.get(f"{base}lines/", {"bill_to": may_run["acme"].pk})
    assert len(by_bill_to.json()["results"]) == 3

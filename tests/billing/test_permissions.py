"""Who may call which billing endpoint: a table, role × endpoint × method → answer (as in
tests/dropcopy_admin/test_permissions.py), and billing's rules in the one visibility table."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from billing.models import BillingLine, BillingRun, Tariff
from billing.selectors import BILLING_OBJECT_TYPES
from billing.services import billing_run_close, billing_run_compute
from dropcopy_admin import clock
from dropcopy_admin.choices import Environment, Role
from dropcopy_admin.models import AuditEvent
from dropcopy_admin.selectors import visibility
from dropcopy_admin.services.audit import SystemActor
from tests import factories

pytestmark = pytest.mark.django_db

BILLING = "/api/v1/billing/"

AM, CLIENT, CLEARING, FINANCE = Role.ACCOUNT_MANAGER, Role.CLIENT, Role.CLEARING_FIRM, Role.FINANCE
API_OF_ROLE = {AM: "am_api", CLIENT: "client_api", CLEARING: "clearing_api", FINANCE: "finance_api"}

NO_RUNS = "Your role has no access to billing runs."
NO_LINES = "Your role has no access to billing lines."
NO_ADJUSTMENTS = "Your role has no access to billing adjustments."
NO_SUCH_RUN = "No such billing run."


def refused(detail: str) -> tuple:
    return (403, "permission_denied", detail)


def missing(detail: str) -> tuple:
    return (404, "not_found", detail)


READ = (200, None, None)
INVALID = (400, "invalid", None)
NOT_NOW = (409, "invalid_transition", None)


@pytest.fixture
def runs(client_entity):
    """May 2025 closed, June 2025 (the current month) a draft; the client has a group in both."""
    clock.freeze(dt.datetime(2025, 6, 15, 12, tzinfo=dt.UTC))
    Tariff.objects.update_or_create(
        effective_month=dt.date(2025, 1, 1), defaults={"free_groups": 1, "monthly_fee": Decimal("500.00")}
    )
    opened = dt.datetime(2025, 4, 1, 12, tzinfo=dt.UTC)
    factories.GroupFactory(entity=client_entity, environment=Environment.PRODUCTION, opened_at=opened)
    factories.GroupFactory(environment=Environment.PRODUCTION, opened_at=opened)
    actor = SystemActor("billing-permissions-test")
    billing_run_compute(actor=actor, month=dt.date(2025, 5, 1))
    billing_run_close(actor=actor, month=dt.date(2025, 5, 1))
    billing_run_compute(actor=actor, month=dt.date(2025, 6, 1))
    return {"closed": "2025-05", "draft": "2025-06"}


# (method, path, body, {role: (status, code, detail)}). Bodies are malformed on purpose: a caller
# the permission lets through is answered 400 (or 409), so nothing is written.
TABLE = [
    ("get", "runs/", None, {AM: READ, CLIENT: refused(NO_RUNS), CLEARING: refused(NO_RUNS), FINANCE: READ}),
    (
        "post",
        "runs/",
        {"month": "May 2025"},
        {AM: INVALID, CLIENT: refused(NO_RUNS), CLEARING: refused(NO_RUNS), FINANCE: INVALID},
    ),
    *[
        (
            "get",
            f"runs/{{{run}}}/{suffix}",
            None,
            {AM: READ, CLIENT: missing(NO_SUCH_RUN), CLEARING: missing(NO_SUCH_RUN), FINANCE: READ},
        )
        for run in ("closed", "draft")
        for suffix in ("", "export.csv", "export.json", "export.xlsx")
    ],
    (
        "get",
        "runs/2025-5/",
        None,
        {
            AM: missing("No billing run has that month; give it as YYYY-MM."),
            CLIENT: missing(NO_SUCH_RUN),
            CLEARING: missing(NO_SUCH_RUN),
            FINANCE: missing("No billing run has that month; give it as YYYY-MM."),
        },
    ),
    (
        "post",
        "runs/{draft}/close/",
        {},
        {AM: NOT_NOW, CLIENT: missing(NO_SUCH_RUN), CLEARING: missing(NO_SUCH_RUN), FINANCE: NOT_NOW},
    ),
    (
        "post",
        "runs/{closed}/close/",
        {},
        {AM: NOT_NOW, CLIENT: missing(NO_SUCH_RUN), CLEARING: missing(NO_SUCH_RUN), FINANCE: NOT_NOW},
    ),
    ("get", "runs/{closed}/lines/", None, {AM: READ, CLIENT: READ, CLEARING: refused(NO_LINES), FINANCE: READ}),
    (
        "get",
        "runs/{draft}/lines/",
        None,
        {AM: READ, CLIENT: missing("There is no run for 2025-06."), CLEARING: refused(NO_LINES), FINANCE: READ},
    ),
    (
        "get",
        "runs/2025-04/lines/",
        None,
        {
            AM: missing("There is no run for 2025-04."),
            CLIENT: missing("There is no run for 2025-04."),
            CLEARING: refused(NO_LINES),
            FINANCE: missing("There is no run for 2025-04."),
        },
    ),
    (
        "get",
        "adjustments/",
        None,
        {AM: READ, CLIENT: refused(NO_ADJUSTMENTS), CLEARING: refused(NO_ADJUSTMENTS), FINANCE: READ},
    ),
    (
        "post",
        "adjustments/",
        {},
        {AM: INVALID, CLIENT: refused(NO_ADJUSTMENTS), CLEARING: refused(NO_ADJUSTMENTS), FINANCE: INVALID},
    ),
    (
        "options",
        "adjustments/",
        None,
        {AM: READ, CLIENT: refused(NO_ADJUSTMENTS), CLEARING: refused(NO_ADJUSTMENTS), FINANCE: READ},
    ),
]

CASES = [
    pytest.param(method, path, body, role, answer, id=f"{role}-{method}-{path}")
    for method, path, body, answers in TABLE
    for role, answer in answers.items()
]


@pytest.mark.parametrize(("method", "path", "body", "role", "answer"), CASES)
def test_each_role_gets_the_answer_the_table_gives(request, runs, method, path, body, role, answer):
    api = request.getfixturevalue(API_OF_ROLE[role])
    url = BILLING + path.format(**runs)
    audit_rows = AuditEvent.objects.count()
    response = getattr(api, method)(url) if body is None else getattr(api, method)(url, body, format="json")
    status, code, detail = answer
    assert response.status_code == status, response.content
    if code is not None:
        assert response.json()["code"] == code
    if detail is not None:
        assert response.json()["detail"] == detail
    assert AuditEvent.objects.count() == audit_rows  # nothing was written
    assert BillingRun.objects.count() == 2


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "runs/"),
        ("post", "runs/"),
        ("get", "runs/2025-05/"),
        ("post", "runs/2025-05/close/"),
        ("get", "runs/2025-05/export.csv"),
        ("get", "runs/2025-05/lines/"),
        ("get", "adjustments/"),
        ("post", "adjustments/"),
    ],
)
def test_without_credentials_every_billing_endpoint_is_401(client, method, path):
    response = getattr(client, method)(BILLING + path)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


# --- billing's rules in the one visibility table ----------------------------------------------


def test_each_role_sees_the_billing_rows_it_saw_before(
    runs, account_manager, client_user, clearing_user, finance_user, client_entity
):
    every_line = set(BillingLine.objects.values_list("pk", flat=True))
    clients_closed_lines = set(
        BillingLine.objects.filter(run__month=dt.date(2025, 5, 1), entity=client_entity).values_list("pk", flat=True)
    )
    assert clients_closed_lines and clients_closed_lines < every_line
    for user in (account_manager, finance_user):
        assert set(visibility.visible(user, BillingLine).values_list("pk", flat=True)) == every_line
        assert visibility.visible(user, BillingRun).count() == 2
        assert visibility.visible(user, Tariff).count() == Tariff.objects.count()
    assert set(visibility.visible(client_user, BillingLine).values_list("pk", flat=True)) == clients_closed_lines
    for model in (BillingRun, Tariff):
        assert visibility.visible(client_user, model) is None
    for model in (BillingRun, BillingLine, Tariff):
        assert visibility.visible(clearing_user, model) is None


@pytest.fixture
def trails_restored(monkeypatch):
    """Registrations made by a test are forgotten after it."""
    monkeypatch.setattr(visibility, "_TRAILS", dict(visibility._TRAILS))


def test_finance_reads_the_trail_billing_registered(finance_user):
    events = {
        object_type: AuditEvent.objects.create(
            actor="system:test", action="test", object_type=object_type, object_id=1, at=clock.now()
        )
        for object_type in (*BILLING_OBJECT_TYPES, "group", "entity")
    }
    read = set(visibility.visible_audit_events(finance_user).values_list("object_type", flat=True))
    assert read == set(BILLING_OBJECT_TYPES)
    assert events["group"].pk not in visibility.visible_audit_events(finance_user).values_list("pk", flat=True)


def test_a_registered_trail_adds_object_types_for_that_role_only(trails_restored, finance_user, clearing_user):
    AuditEvent.objects.create(actor="system:test", action="test", object_type="portrange", object_id=1, at=clock.now())
    visibility.register_trail(Role.FINANCE, ["portrange"])
    assert visibility.visible_audit_events(finance_user).filter(object_type="portrange").exists()
    assert not visibility.visible_audit_events(clearing_user).filter(object_type="portrange").exists()


@pytest.mark.parametrize("role", [Role.ACCOUNT_MANAGER, "auditor"], ids=["account-managers", "unknown-role"])
def test_a_trail_registration_that_would_be_ambiguous_is_refused(trails_restored, role):
    with pytest.raises(ImproperlyConfigured):
        visibility.register_trail(role, ["tariff"])

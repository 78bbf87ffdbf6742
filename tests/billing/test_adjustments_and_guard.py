"""Adjustment lines (R12) and the closed-billing-month guard on back-dated group times (R4)."""

import datetime as dt
from decimal import Decimal

import pytest

from billing.choices import LineReason, RunStatus
from billing.group_rules import BillingRules
from billing.models import BillingLine, BillingRun
from dropcopy_admin import clock
from dropcopy_admin.choices import Environment
from dropcopy_admin.errors import Conflict
from dropcopy_admin.models import AuditEvent, DropCopyGroup
from dropcopy_admin.services import groups
from dropcopy_admin.services.group_rules import group_rules
from tests import factories

pytestmark = pytest.mark.django_db

ADJUSTMENTS = "/api/v1/billing/adjustments/"
GROUPS = "/api/v1/groups/"
NOW = dt.datetime(2025, 6, 15, 17, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _frozen():
    clock.freeze(NOW)


def closed_run(month: dt.date) -> BillingRun:
    return BillingRun.objects.create(month=month, status=RunStatus.CLOSED, closed_at=NOW)


def body(entity, **overrides):
    data = {"entity": entity.pk, "corrects_month": "2025-04", "amount": "-125.50", "note": "Refund April"}
    data.update(overrides)
    return data


# --- adjustments ------------------------------------------------------------------------------


def test_adjustment_lands_in_the_current_months_run(am_api, client_entity):
    response = am_api.post(ADJUSTMENTS, body(client_entity), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["corrects_month"] == "2025-04"
    assert response.json()["note"] == "Refund April"
    line = BillingLine.objects.get()
    assert line.reason == LineReason.ADJUSTMENT
    assert line.group is None
    assert line.corrects_month == dt.date(2025, 4, 1)
    assert line.amount == Decimal("-125.50")
    assert line.bill_to_id == client_entity.bill_to_party_id
    run = line.run
    assert run.month == dt.date(2025, 6, 1)
    assert run.status == RunStatus.DRAFT
    assert run.total == Decimal("-125.50")
    assert run.line_count == 1
    assert AuditEvent.objects.filter(object_type="billingrun", object_id=str(run.pk)).exists()
    listed = am_api.get(ADJUSTMENTS)
    assert listed.status_code == 200
    assert listed.json()["results"][0]["id"] == line.pk


def test_finance_may_create_and_list(finance_api, client_entity):
    assert finance_api.post(ADJUSTMENTS, body(client_entity), format="json").status_code == 201
    assert finance_api.get(ADJUSTMENTS).status_code == 200


def test_client_and_clearing_firm_are_403(client_api, clearing_api, client_entity):
    assert client_api.post(ADJUSTMENTS, body(client_entity), format="json").status_code == 403
    assert client_api.get(ADJUSTMENTS).status_code == 403
    assert clearing_api.get(ADJUSTMENTS).status_code == 403
    assert not BillingLine.objects.exists()


def test_closed_current_run_is_409(am_api, client_entity):
    closed_run(dt.date(2025, 6, 1))
    response = am_api.post(ADJUSTMENTS, body(client_entity), format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "billing_period_closed"
    assert not BillingLine.objects.exists()


@pytest.mark.parametrize(
    "overrides",
    [
        {"amount": "0"},
        {"amount": "1.234"},
        {"amount": "abc"},
        {"note": ""},
        {"note": "x" * 501},
        {"corrects_month": "2025-07"},
        {"corrects_month": "2025-4"},
    ],
)
def test_bad_input_is_400_invalid(am_api, client_entity, overrides):
    response = am_api.post(ADJUSTMENTS, body(client_entity, **overrides), format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    assert not BillingLine.objects.exists()


def test_missing_note_is_400_invalid(am_api, client_entity):
    data = body(client_entity)
    del data["note"]
    response = am_api.post(ADJUSTMENTS, data, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


# --- back-dating guard ------------------------------------------------------------------------


@pytest.fixture
def prod_group(client_entity):
    return factories.GroupFactory(
        entity=client_entity, environment=Environment.PRODUCTION, opened_at=dt.datetime(2025, 3, 2, tzinfo=dt.UTC)
    )


def test_backdated_close_into_a_closed_month_is_409(am_api, prod_group):
    closed_run(dt.date(2025, 5, 1))
    response = am_api.post(f"{GROUPS}{prod_group.pk}/close/", {"at": "2025-04-20T12:00:00Z"}, format="json")
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "billing_period_closed"
    prod_group.refresh_from_db()
    assert prod_group.closed_at is None


def test_backdated_close_into_an_open_month_is_allowed(am_api, prod_group):
    closed_run(dt.date(2025, 4, 1))
    BillingRun.objects.create(month=dt.date(2025, 5, 1))
    response = am_api.post(f"{GROUPS}{prod_group.pk}/close/", {"at": "2025-05-20T12:00:00Z"}, format="json")
    assert response.status_code == 200, response.content
    prod_group.refresh_from_db()
    assert prod_group.closed_at == dt.datetime(2025, 5, 20, 12, tzinfo=dt.UTC)


@pytest.fixture
def create_body(client_entity):
    fes = factories.FrontEndSystemFactory(entity=client_entity, name="Desk", version="1.0", vendor="ACME")

    def make(opened_at):
        return {
            "entity": client_entity.pk,
            "name": "Backdated",
            "venue": "CME",
            "environment": Environment.NEW_RELEASE,
            "front_end_system": fes.pk,
            "opened_at": opened_at,
        }

    return make


def test_backdated_opened_at_into_a_closed_month_is_409(am_api, create_body):
    closed_run(dt.date(2025, 5, 1))
    response = am_api.post(GROUPS, create_body("2025-05-31T23:00:00-05:00"), format="json")
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "billing_period_closed"
    assert not DropCopyGroup.objects.filter(name="Backdated").exists()


def test_backdated_opened_at_into_a_draft_month_is_allowed(am_api, create_body):
    closed_run(dt.date(2025, 4, 1))
    BillingRun.objects.create(month=dt.date(2025, 5, 1))
    # 00:30 Chicago on 1 May: after April's end, so April's closed run is untouched.
    response = am_api.post(GROUPS, create_body("2025-05-01T00:30:00-05:00"), format="json")
    assert response.status_code == 201, response.content


# --- the same rules in the group services, whoever calls them ---------------------------------


def test_the_group_services_refuse_a_closed_month_without_any_interface(account_manager, client_entity, prod_group):
    closed_run(dt.date(2025, 5, 1))
    fes = factories.FrontEndSystemFactory(entity=client_entity)

    with pytest.raises(Conflict) as opening:
        groups.group_create(
            actor=account_manager,
            entity=client_entity,
            name="Backdated",
            venue=factories.venue("CME"),
            environment=Environment.NEW_RELEASE,
            front_end_system=fes,
            opened_at=dt.datetime(2025, 5, 10, tzinfo=dt.UTC),
        )
    with pytest.raises(Conflict) as closing:
        groups.group_close(actor=account_manager, group=prod_group, at=dt.datetime(2025, 4, 20, tzinfo=dt.UTC))

    assert (opening.value.code, closing.value.code) == ("billing_period_closed", "billing_period_closed")
    assert not DropCopyGroup.objects.filter(name="Backdated").exists()
    prod_group.refresh_from_db()
    assert prod_group.closed_at is None
    assert not AuditEvent.objects.filter(object_type="dropcopygroup").exists()


def test_moving_an_opening_time_out_of_a_closed_month_is_refused(account_manager, prod_group):
    closed_run(dt.date(2025, 3, 1))  # prod_group opened on 2 March

    with pytest.raises(Conflict) as refused:
        groups.group_update(actor=account_manager, group=prod_group, opened_at=dt.datetime(2025, 4, 2, tzinfo=dt.UTC))

    assert refused.value.code == "billing_period_closed"
    prod_group.refresh_from_db()
    assert prod_group.opened_at == dt.datetime(2025, 3, 2, tzinfo=dt.UTC)


def test_billing_registers_its_rules_on_group_writes_once():
    assert [type(rule) for rule in group_rules()].count(BillingRules) == 1

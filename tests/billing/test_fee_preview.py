"""R13: the fee preview and its confirmation on production group creation; R9 on groups."""

import datetime as dt
from decimal import Decimal

import pytest

from billing.models import Tariff
from dropcopy_admin import clock, errors
from dropcopy_admin.choices import CertificationStatus, Environment, Role
from dropcopy_admin.models import AuditEvent, DropCopyGroup
from dropcopy_admin.services import groups
from tests import factories
from tests.support import assert_error, assert_invalid

pytestmark = pytest.mark.django_db

GROUPS = "/api/v1/groups/"
# 15 March 2026 17:00 UTC = noon in Chicago (CDT); March runs from 1 March 06:00 UTC.
NOW = dt.datetime(2026, 3, 15, 17, 0, tzinfo=dt.UTC)
MARCH_START = dt.datetime(2026, 3, 1, 6, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    clock.freeze(NOW)


@pytest.fixture
def desk(client_entity):
    system = factories.FrontEndSystemFactory(entity=client_entity, name="Desk")
    factories.passed_certification(system, "CME")
    return system


def preview_url(entity) -> str:
    return f"/api/v1/entities/{entity.pk}/fee-preview/"


def production_body(system, **overrides) -> dict:
    body = {"name": "Prod", "venue": "CME", "environment": Environment.PRODUCTION, "front_end_system": system.pk}
    body.update(overrides)
    return body


def production_group(entity, system, **fields):
    return factories.GroupFactory(entity=entity, front_end_system=system, environment=Environment.PRODUCTION, **fields)


# --- the preview ------------------------------------------------------------------------------


def test_an_entity_without_groups_gets_its_first_group_free(client_api, client_entity):
    response = client_api.get(preview_url(client_entity))

    assert response.status_code == 200
    assert response.json() == {"active_groups": 0, "monthly_fee": "0.00", "currency": "USD"}


def test_a_second_group_costs_the_tariff_fee(client_api, client_entity, desk):
    production_group(client_entity, desk, opened_at=NOW - dt.timedelta(days=40))

    assert client_api.get(preview_url(client_entity)).json() == {
        "active_groups": 1,
        "monthly_fee": "500.00",
        "currency": "USD",
    }


def test_after_the_months_free_group_closed_it_still_counts(client_api, client_entity, desk):
    """The free group closed mid-month is still billable (and free) this month: one more costs the fee."""
    production_group(
        client_entity,
        desk,
        opened_at=NOW - dt.timedelta(days=40),
        closed_at=NOW - dt.timedelta(days=2),
        status="closed",
    )

    body = client_api.get(preview_url(client_entity)).json()

    assert body == {"active_groups": 1, "monthly_fee": "500.00", "currency": "USD"}


def test_a_group_closed_before_the_month_began_no_longer_counts(client_api, client_entity, desk):
    production_group(
        client_entity,
        desk,
        opened_at=NOW - dt.timedelta(days=90),
        closed_at=MARCH_START - dt.timedelta(minutes=1),
        status="closed",
    )

    assert client_api.get(preview_url(client_entity)).json()["monthly_fee"] == "0.00"


def test_test_environments_are_not_counted(client_api, client_entity, desk):
    factories.GroupFactory(entity=client_entity, front_end_system=desk, environment=Environment.NEW_RELEASE)

    assert client_api.get(preview_url(client_entity)).json()["active_groups"] == 0


def test_a_tariff_of_this_month_applies_to_the_preview(client_api, client_entity, desk):
    production_group(client_entity, desk, opened_at=NOW - dt.timedelta(days=40))
    Tariff.objects.create(effective_month=dt.date(2026, 3, 1), free_groups=1, monthly_fee=Decimal("650.00"))
    Tariff.objects.create(effective_month=dt.date(2026, 4, 1), free_groups=1, monthly_fee=Decimal("900.00"))

    assert client_api.get(preview_url(client_entity)).json()["monthly_fee"] == "650.00"


def test_another_entitys_preview_is_not_found(client_api):
    other = factories.EntityFactory()

    assert_error(client_api.get(preview_url(other)), 404, "not_found")


def test_account_managers_and_finance_see_any_entitys_preview(am_api, finance_api, client_entity):
    assert am_api.get(preview_url(client_entity)).status_code == 200
    assert finance_api.get(preview_url(client_entity)).status_code == 200


# --- confirmation on creation -----------------------------------------------------------------


def test_a_production_group_needs_the_confirmed_fee(client_api, desk):
    assert_invalid(client_api.post(GROUPS, production_body(desk), format="json"), "confirmed_monthly_fee")
    assert not DropCopyGroup.objects.exists()


def test_the_fee_shown_by_the_preview_is_accepted(client_api, client_entity, desk):
    fee = client_api.get(preview_url(client_entity)).json()["monthly_fee"]

    response = client_api.post(GROUPS, production_body(desk, confirmed_monthly_fee=fee), format="json")

    assert response.status_code == 201, response.content
    assert "confirmed_monthly_fee" not in response.json()
    event = AuditEvent.objects.get(object_id=response.json()["id"], action="create")
    assert event.actor == "client"


def test_a_stale_fee_is_refused_and_nothing_is_written(client_api, client_entity, desk):
    fee = client_api.get(preview_url(client_entity)).json()["monthly_fee"]  # 0.00: the free group
    production_group(client_entity, desk, opened_at=NOW - dt.timedelta(hours=1))  # meanwhile

    response = client_api.post(GROUPS, production_body(desk, confirmed_monthly_fee=fee), format="json")

    body = assert_error(response, 409, "fee_changed")
    assert "500.00" in body["detail"]
    assert DropCopyGroup.objects.filter(entity=client_entity).count() == 1


def test_confirming_the_free_slot_twice_is_refused_the_second_time(client_api, desk):
    first = client_api.post(GROUPS, production_body(desk, name="A", confirmed_monthly_fee="0.00"), format="json")
    second = client_api.post(GROUPS, production_body(desk, name="B", confirmed_monthly_fee="0.00"), format="json")

    assert first.status_code == 201
    assert_error(second, 409, "fee_changed")
    third = client_api.post(GROUPS, production_body(desk, name="B", confirmed_monthly_fee="500"), format="json")
    assert third.status_code == 201


def test_other_environments_ignore_the_fee(client_api, desk):
    body = production_body(desk, environment=Environment.NEW_RELEASE, confirmed_monthly_fee="12.34")

    assert client_api.post(GROUPS, body, format="json").status_code == 201


@pytest.mark.parametrize("fee", ["-1", "abc", "1e400", "0.001", ["0"], {"a": 1}])
def test_a_malformed_fee_is_invalid_input(client_api, desk, fee):
    assert_invalid(client_api.post(GROUPS, production_body(desk, confirmed_monthly_fee=fee), format="json"))
    assert not DropCopyGroup.objects.exists()


def test_a_client_without_self_service_is_refused_before_the_fee(api_for, desk):
    entity = factories.EntityFactory(self_service=False)
    user = factories.UserFactory(role=Role.CLIENT, entity=entity)
    system = factories.FrontEndSystemFactory(entity=entity)
    factories.passed_certification(system)

    response = api_for(user).post(GROUPS, production_body(system, confirmed_monthly_fee="1.00"), format="json")

    assert_error(response, 403, "permission_denied")


# --- R9: certification_required ---------------------------------------------------------------


def test_production_is_refused_without_a_passed_certification(client_api, client_entity):
    system = factories.FrontEndSystemFactory(entity=client_entity)

    response = client_api.post(GROUPS, production_body(system, confirmed_monthly_fee="0.00"), format="json")

    assert_error(response, 409, "certification_required")
    assert not DropCopyGroup.objects.exists()


@pytest.mark.parametrize(
    ("venue", "status"),
    [("BROKERTEC", CertificationStatus.PASSED), ("CME", CertificationStatus.FAILED)],
    ids=["other-venue", "failed"],
)
def test_a_certification_for_another_venue_or_a_failed_one_does_not_count(client_api, client_entity, venue, status):
    system = factories.FrontEndSystemFactory(entity=client_entity)
    factories.passed_certification(system, venue, status=status)

    response = client_api.post(GROUPS, production_body(system, confirmed_monthly_fee="0.00"), format="json")

    assert_error(response, 409, "certification_required")


def test_a_vendor_product_certified_by_another_entity_serves_every_entity(client_api):
    vendor_product = factories.FrontEndSystemFactory(entity=None, name="VendorDesk", vendor="Vendor")
    factories.passed_certification(vendor_product, entity=factories.EntityFactory())

    response = client_api.post(GROUPS, production_body(vendor_product, confirmed_monthly_fee="0.00"), format="json")

    assert response.status_code == 201, response.content


def test_changing_to_an_uncertified_front_end_system_is_refused(client_api, client_entity, desk):
    group = production_group(client_entity, desk)
    uncertified = factories.FrontEndSystemFactory(entity=client_entity)

    response = client_api.patch(f"{GROUPS}{group.pk}/", {"front_end_system": uncertified.pk}, format="json")

    assert_error(response, 409, "certification_required")
    group.refresh_from_db()
    assert group.front_end_system_id == desk.pk


def test_test_environments_need_no_certification(client_api, client_entity):
    system = factories.FrontEndSystemFactory(entity=client_entity)

    response = client_api.post(GROUPS, production_body(system, environment=Environment.NEW_RELEASE), format="json")

    assert response.status_code == 201


def test_the_group_service_itself_asks_for_the_fee_it_is_given(account_manager, client_entity, desk):
    def create(name, fee):
        return groups.group_create(
            actor=account_manager,
            entity=client_entity,
            name=name,
            venue=factories.venue("CME"),
            environment=Environment.PRODUCTION,
            front_end_system=desk,
            confirmed_monthly_fee=fee,
        )

    with pytest.raises(errors.InvalidInput) as missing:
        create("A", None)
    create("A", Decimal("0.00"))
    with pytest.raises(errors.Conflict) as stale:
        create("B", Decimal("0.00"))

    assert "confirmed_monthly_fee" in missing.value.errors
    assert stale.value.code == "fee_changed"
    assert list(DropCopyGroup.objects.values_list("name", flat=True)) == ["A"]

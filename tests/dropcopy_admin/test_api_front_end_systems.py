"""front-end-systems/: an entity's own, or a vendor product (account managers); R3a; visibility."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dropcopy_admin.choices import Role
from dropcopy_admin.models import AuditEvent, FrontEndSystem
from tests import factories
from tests.support import assert_error

pytestmark = pytest.mark.django_db

SYSTEMS = "/api/v1/front-end-systems/"


def system_url(system) -> str:
    return f"{SYSTEMS}{system.pk if hasattr(system, 'pk') else system}/"


BODY = {"name": "TradeDesk", "version": "4.2", "vendor": "ACME"}


@pytest.fixture
def not_self_service_client(api_for):
    entity = factories.EntityFactory(self_service=False)
    user = factories.UserFactory(role=Role.CLIENT, entity=entity)
    return entity, user, api_for(user)


# --- create ---------------------------------------------------------------------------------


def test_client_registers_its_own_front_end_system(client_api, client_entity):
    response = client_api.post(SYSTEMS, BODY, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body == {"id": body["id"], "entity": client_entity.pk, **BODY}
    assert FrontEndSystem.objects.get(pk=body["id"]).entity == client_entity


def test_client_may_name_its_own_entity(client_api, client_entity):
    response = client_api.post(SYSTEMS, BODY | {"entity": client_entity.pk}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["entity"] == client_entity.pk


def test_client_cannot_register_for_another_entity(client_api):
    other = factories.EntityFactory()

    body = assert_error(client_api.post(SYSTEMS, BODY | {"entity": other.pk}, format="json"), 400, "invalid")
    assert "entity" in body["errors"]
    assert not FrontEndSystem.objects.exists()


def test_client_cannot_register_a_vendor_product(client_api):
    assert_error(client_api.post(SYSTEMS, BODY | {"entity": None}, format="json"), 403, "permission_denied")
    assert not FrontEndSystem.objects.exists()


def test_account_manager_registers_a_vendor_product(am_api):
    response = am_api.post(SYSTEMS, BODY | {"entity": None}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["entity"] is None
    assert FrontEndSystem.objects.get().is_vendor_product


def test_account_manager_registers_for_any_entity(am_api):
    entity = factories.EntityFactory(self_service=False)

    response = am_api.post(SYSTEMS, BODY | {"entity": entity.pk}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["entity"] == entity.pk


def test_client_without_self_service_cannot_register(not_self_service_client):
    _, _, api = not_self_service_client

    assert_error(api.post(SYSTEMS, BODY, format="json"), 403, "permission_denied")
    assert not FrontEndSystem.objects.exists()


def test_the_same_system_twice_for_an_entity_is_already_exists(client_api):
    assert client_api.post(SYSTEMS, BODY, format="json").status_code == 201

    assert_error(client_api.post(SYSTEMS, BODY, format="json"), 409, "already_exists")
    assert FrontEndSystem.objects.count() == 1


def test_the_same_vendor_product_twice_is_already_exists(am_api):
    assert am_api.post(SYSTEMS, BODY | {"entity": None}, format="json").status_code == 201

    assert_error(am_api.post(SYSTEMS, BODY | {"entity": None}, format="json"), 409, "already_exists")


def test_another_version_is_a_new_system(client_api):
    client_api.post(SYSTEMS, BODY, format="json")

    assert client_api.post(SYSTEMS, BODY | {"version": "4.3"}, format="json").status_code == 201


def test_two_entities_may_register_the_same_system(client_api, am_api):
    other = factories.EntityFactory()
    assert client_api.post(SYSTEMS, BODY, format="json").status_code == 201

    assert am_api.post(SYSTEMS, BODY | {"entity": other.pk}, format="json").status_code == 201


def test_an_entity_may_register_a_system_named_like_a_vendor_product(client_api):
    factories.FrontEndSystemFactory(entity=None, **BODY)

    assert client_api.post(SYSTEMS, BODY, format="json").status_code == 201


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "x" * 31),
        ("version", "1" * 11),
        ("vendor", "v" * 11),
        ("name", ""),
        ("version", ""),
        ("vendor", ""),
        ("name", None),
        ("name", ["x"]),
        ("name", {"x": 1}),
        ("name", "Tab\there"),
        ("name", "Nul\x00"),
        ("name", "Caf\u00e9"),
        ("vendor", "A\nB"),
        ("entity", "abc"),
        ("entity", True),
        ("entity", [1]),
        ("entity", 10**30),
    ],
)
def test_bad_values_are_invalid(am_api, field, value):
    body = BODY | {field: value}

    error = assert_error(am_api.post(SYSTEMS, body, format="json"), 400, "invalid")
    assert field in error["errors"]
    assert not FrontEndSystem.objects.exists()


def test_longest_values_are_accepted(client_api):
    response = client_api.post(SYSTEMS, {"name": "n" * 30, "version": "v" * 10, "vendor": "w" * 10}, format="json")

    assert response.status_code == 201, response.json()


@pytest.mark.parametrize("field", ["name", "version", "vendor"])
def test_missing_fields_are_invalid(client_api, field):
    body = dict(BODY)
    del body[field]

    error = assert_error(client_api.post(SYSTEMS, body, format="json"), 400, "invalid")
    assert field in error["errors"]


@pytest.mark.parametrize("body", [[], [BODY], "TradeDesk", 1, None])
def test_a_body_that_is_not_an_object_is_invalid(client_api, body):
    assert_error(client_api.post(SYSTEMS, body, format="json"), 400, "invalid")


def test_malformed_json_is_invalid(client_api):
    assert_error(client_api.post(SYSTEMS, '{"name":', content_type="application/json"), 400, "invalid")


def test_front_end_systems_cannot_be_edited_or_deleted(am_api):
    system = factories.FrontEndSystemFactory()

    assert_error(am_api.patch(system_url(system), {"name": "x"}, format="json"), 405, "method_not_allowed")
    assert_error(am_api.delete(system_url(system)), 405, "method_not_allowed")


# --- who sees what ----------------------------------------------------------------------------


def test_client_sees_its_own_and_vendor_systems(client_api, client_entity):
    own = factories.FrontEndSystemFactory(entity=client_entity)
    vendor = factories.FrontEndSystemFactory(entity=None)
    foreign = factories.FrontEndSystemFactory()

    listing = client_api.get(SYSTEMS).json()

    assert [s["id"] for s in listing["results"]] == [own.pk, vendor.pk]
    assert client_api.get(system_url(vendor)).status_code == 200
    assert_error(client_api.get(system_url(foreign)), 404, "not_found")


def test_account_manager_sees_every_system(am_api):
    systems = [factories.FrontEndSystemFactory(), factories.FrontEndSystemFactory(entity=None)]

    assert [s["id"] for s in am_api.get(SYSTEMS).json()["results"]] == [s.pk for s in systems]


@pytest.mark.parametrize("user_fixture", ["clearing_api", "finance_api"])
def test_clearing_firm_and_finance_have_no_access(request, user_fixture):
    api = request.getfixturevalue(user_fixture)
    system = factories.FrontEndSystemFactory(entity=None)

    assert_error(api.get(SYSTEMS), 403, "permission_denied")
    assert_error(api.get(system_url(system)), 404, "not_found")


def test_list_filters_by_entity_and_vendor(am_api, client_entity):
    own = factories.FrontEndSystemFactory(entity=client_entity, vendor="ONE")
    factories.FrontEndSystemFactory(vendor="TWO")

    assert [s["id"] for s in am_api.get(f"{SYSTEMS}?entity={client_entity.pk}").json()["results"]] == [own.pk]
    assert [s["id"] for s in am_api.get(f"{SYSTEMS}?vendor=ONE").json()["results"]] == [own.pk]


@pytest.mark.parametrize("query", ["entity=abc", "page_size=zero", "page=9"])
def test_malformed_filters_are_refused(am_api, query):
    response = am_api.get(f"{SYSTEMS}?{query}")

    assert response.status_code in (400, 404)
    assert response.json()["code"] == ("invalid" if response.status_code == 400 else "not_found")


def test_filtering_by_an_invisible_entity_reads_like_a_missing_one(client_api):
    other = factories.EntityFactory()

    invisible = assert_error(client_api.get(f"{SYSTEMS}?entity={other.pk}"), 400, "invalid")
    missing = assert_error(client_api.get(f"{SYSTEMS}?entity={other.pk + 1000}"), 400, "invalid")
    assert invisible["errors"].keys() == missing["errors"].keys() == {"entity"}


def _list_queries(api) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = api.get(SYSTEMS)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("user_fixture", ["am_api", "client_api"])
def test_list_costs_the_same_queries_for_one_and_fifty(request, user_fixture, client_entity):
    api = request.getfixturevalue(user_fixture)
    factories.FrontEndSystemFactory(entity=client_entity)
    one = _list_queries(api)

    factories.FrontEndSystemFactory.create_batch(24, entity=client_entity)
    factories.FrontEndSystemFactory.create_batch(25, entity=None)
    fifty = _list_queries(api)

    assert api.get(SYSTEMS).json()["count"] == 50
    assert fifty == one


# --- audit ------------------------------------------------------------------------------------


def test_registration_is_audited(client_api, client_user):
    created = client_api.post(SYSTEMS, BODY, format="json", HTTP_X_REQUEST_ID="fes-1").json()

    event = AuditEvent.objects.get(object_type="frontendsystem", object_id=created["id"])
    assert (event.action, event.actor, event.request_id) == ("create", client_user.username, "fes-1")
    assert event.before is None
    assert event.after["name"] == "TradeDesk"
    assert event.after["entity_id"] == client_user.entity_id


def test_refused_registrations_record_nothing(client_api):
    client_api.post(SYSTEMS, BODY | {"name": "x" * 31}, format="json")
    client_api.post(SYSTEMS, BODY | {"entity": None}, format="json")

    assert not AuditEvent.objects.exists()

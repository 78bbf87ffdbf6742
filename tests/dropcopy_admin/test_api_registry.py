"""entities/, clearing-firms/, gfids/, cgw-gateways/, segment-gateways/: roles, R1, codes, lists."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from dropcopy_admin.models import AuditEvent, ClearingFirm, Entity, Gfid
from tests import factories
from tests.support import assert_error, assert_invalid

ENTITIES = "/api/v1/entities/"
FIRMS = "/api/v1/clearing-firms/"
GFIDS = "/api/v1/gfids/"
CGW = "/api/v1/cgw-gateways/"
SEGMENTS = "/api/v1/segment-gateways/"


# Every test here touches the database, some only through request.getfixturevalue(); marking the
# module keeps pytest-django from ordering those after the transactional tests (which flush the
# migrations' reference data).
pytestmark = pytest.mark.django_db


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def other_entity(db):
    return factories.EntityFactory(code="OTHER", name="Other Trading")


@pytest.fixture
def other_firm(db):
    return factories.ClearingFirmFactory(code="OF1", name="Other Clearing")


@pytest.fixture
def client_gfid(client_entity, clearing_firm):
    """The client's CME GFID, guaranteed by the clearing user's firm."""
    return factories.GfidFactory(code="ACM", entity=client_entity, clearing_firm=clearing_firm)


@pytest.fixture
def other_gfid(other_entity, other_firm):
    return factories.GfidFactory(code="OTH", entity=other_entity, clearing_firm=other_firm)


# --- clearing firms -------------------------------------------------------------------------


def test_account_manager_registers_a_clearing_firm_with_audit(am_api):
    response = am_api.post(FIRMS, {"code": "ABC", "name": "ABC Clearing"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body == {"id": body["id"], "code": "ABC", "name": "ABC Clearing"}
    event = AuditEvent.objects.get(object_type="clearingfirm", object_id=body["id"])
    assert (event.action, event.actor, event.before) == ("create", "am", None)
    assert event.after["code"] == "ABC"


@pytest.mark.parametrize("code", ["AB", "ABCD", "abc", "A-C", "", "A C", None, 12, True, ["ABC"]])
def test_clearing_firm_code_is_three_uppercase_alphanumerics(am_api, code):
    assert_invalid(am_api.post(FIRMS, {"code": code, "name": "Firm"}, format="json"), "code")
    assert not ClearingFirm.objects.exists()


def test_taken_clearing_firm_code_is_already_exists(am_api, clearing_firm):
    assert_error(am_api.post(FIRMS, {"code": "CF1", "name": "Again"}, format="json"), 409, "already_exists")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "ABC"}, "name"),
        ({"code": "ABC", "name": ""}, "name"),
        ({"code": "ABC", "name": None}, "name"),
        ({"code": "ABC", "name": "n" * 101}, "name"),
        ({"name": "Firm"}, "code"),
    ],
)
def test_bad_clearing_firm_fields_are_invalid(am_api, body, field):
    assert_invalid(am_api.post(FIRMS, body, format="json"), field)


def test_account_manager_renames_a_clearing_firm_with_before_and_after(am_api, clearing_firm):
    response = am_api.patch(f"{FIRMS}{clearing_firm.id}/", {"name": "Renamed"}, format="json")
    assert response.status_code == 200
    assert response.json()["name"] == "Renamed"
    event = AuditEvent.objects.get(object_type="clearingfirm", object_id=clearing_firm.id, action="update")
    assert event.before["name"] == "First Clearing"
    assert event.after["name"] == "Renamed"


def test_patch_that_changes_nothing_writes_no_audit(am_api, clearing_firm):
    response = am_api.patch(f"{FIRMS}{clearing_firm.id}/", {"name": "First Clearing"}, format="json")
    assert response.status_code == 200
    assert not AuditEvent.objects.filter(object_type="clearingfirm").exists()


def test_clearing_firm_code_change_to_a_taken_one_is_already_exists(am_api, clearing_firm, other_firm):
    assert_error(am_api.patch(f"{FIRMS}{other_firm.id}/", {"code": "CF1"}, format="json"), 409, "already_exists")
    other_firm.refresh_from_db()
    assert other_firm.code == "OF1"


def test_clearing_firm_code_change_is_validated(am_api, clearing_firm):
    assert_invalid(am_api.patch(f"{FIRMS}{clearing_firm.id}/", {"code": "x"}, format="json"), "code")


def test_clearing_user_reads_only_its_own_firm(clearing_api, clearing_firm, other_firm):
    assert ids(clearing_api.get(FIRMS)) == [clearing_firm.id]
    assert clearing_api.get(f"{FIRMS}{clearing_firm.id}/").status_code == 200
    assert_error(clearing_api.get(f"{FIRMS}{other_firm.id}/"), 404, "not_found")


def test_client_reads_the_firms_guaranteeing_its_gfids(client_api, client_gfid, clearing_firm, other_firm):
    assert ids(client_api.get(FIRMS)) == [clearing_firm.id]
    assert_error(client_api.get(f"{FIRMS}{other_firm.id}/"), 404, "not_found")


def test_client_whose_entity_is_a_clearing_firm_reads_that_firm(client_api, client_entity, other_firm):
    client_entity.clearing_firm = other_firm
    client_entity.save()
    assert ids(client_api.get(FIRMS)) == [other_firm.id]


def test_clearing_user_patching_another_firm_is_not_found(clearing_api, other_firm):
    assert_error(clearing_api.patch(f"{FIRMS}{other_firm.id}/", {"name": "Mine"}, format="json"), 404, "not_found")


def test_clearing_firms_cannot_be_deleted(am_api, clearing_firm):
    assert_error(am_api.delete(f"{FIRMS}{clearing_firm.id}/"), 405, "method_not_allowed")


# --- entities -------------------------------------------------------------------------------


def test_account_manager_registers_an_entity_billed_to_itself(am_api):
    response = am_api.post(ENTITIES, {"code": "NEWCO", "name": "New Co"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body == {
        "id": body["id"],
        "code": "NEWCO",
        "name": "New Co",
        "self_service": False,
        "bill_to": body["id"],
        "clearing_firm": None,
    }
    event = AuditEvent.objects.get(object_type="entity", object_id=body["id"])
    assert event.action == "create" and event.actor == "am"


def test_entity_billed_to_another_and_being_a_clearing_firm(am_api, client_entity, clearing_firm):
    response = am_api.post(
        ENTITIES,
        {
            "code": "CLR",
            "name": "Clearing Co",
            "self_service": True,
            "bill_to": client_entity.id,
            "clearing_firm": clearing_firm.id,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    entity = Entity.objects.get(code="CLR")
    assert entity.bill_to == client_entity
    assert entity.clearing_firm == clearing_firm
    assert response.json()["bill_to"] == client_entity.id


def test_taken_entity_code_is_already_exists(am_api, client_entity):
    assert_error(am_api.post(ENTITIES, {"code": "ACME", "name": "Again"}, format="json"), 409, "already_exists")


def test_clearing_firm_that_is_already_an_entity_is_already_exists(am_api, client_entity, clearing_firm):
    client_entity.clearing_firm = clearing_firm
    client_entity.save()
    response = am_api.post(
        ENTITIES,
        {"code": "DUP", "name": "Dup", "clearing_firm": clearing_firm.id},
        format="json",
    )
    assert_error(response, 409, "already_exists")
    assert not Entity.objects.filter(code="DUP").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "No code"}, "code"),
        ({"code": "X" * 21, "name": "Long"}, "code"),
        ({"code": None, "name": "Null"}, "code"),
        ({"code": "X1", "name": "n" * 101}, "name"),
        ({"code": "X1"}, "name"),
        ({"code": "X1", "name": "Y", "self_service": "maybe"}, "self_service"),
        ({"code": "X1", "name": "Y", "self_service": None}, "self_service"),
        ({"code": "X1", "name": "Y", "bill_to": 999999}, "bill_to"),
        ({"code": "X1", "name": "Y", "bill_to": True}, "bill_to"),
        ({"code": "X1", "name": "Y", "bill_to": "x"}, "bill_to"),
        ({"code": "X1", "name": "Y", "clearing_firm": 999999}, "clearing_firm"),
        ({"code": "X1", "name": "Y", "clearing_firm": False}, "clearing_firm"),
        ({"code": "X1", "name": "Y", "clearing_firm": {"id": 1}}, "clearing_firm"),
        ({"code": "X\x00", "name": "Y"}, "code"),
    ],
)
def test_bad_entity_fields_are_invalid(am_api, body, field):
    assert_invalid(am_api.post(ENTITIES, body, format="json"), field)
    assert not Entity.objects.exists()


def test_nonexistent_ids_in_an_entity_body_are_worded_like_any_missing_id(am_api, client_entity):
    first = assert_invalid(
        am_api.post(ENTITIES, {"code": "X1", "name": "Y", "bill_to": 999998}, format="json"), "bill_to"
    )
    second = assert_invalid(
        am_api.post(ENTITIES, {"code": "X1", "name": "Y", "bill_to": 999999}, format="json"), "bill_to"
    )
    assert first["errors"]["bill_to"][0].replace("999998", "N") == second["errors"]["bill_to"][0].replace("999999", "N")


def test_entity_body_with_broken_json_is_invalid(am_api):
    assert_error(am_api.post(ENTITIES, data="{bad", content_type="application/json"), 400, "invalid")


def test_entity_body_that_is_not_an_object_is_invalid(am_api, client_entity):
    assert_invalid(am_api.post(ENTITIES, "just a string", format="json"), "non_field_errors")
    assert_invalid(am_api.patch(f"{ENTITIES}{client_entity.id}/", [1, 2], format="json"), "non_field_errors")


def test_entity_body_as_form_data_is_unsupported_media_type(am_api):
    assert_error(am_api.post(ENTITIES, {"code": "X1", "name": "Y"}), 415, "unsupported_media_type")


def test_account_manager_authorises_self_service_with_audit(am_api, other_entity):
    response = am_api.patch(f"{ENTITIES}{other_entity.id}/", {"self_service": False}, format="json")
    assert response.status_code == 200
    assert response.json()["self_service"] is False
    event = AuditEvent.objects.get(object_type="entity", object_id=other_entity.id, action="update")
    assert event.before["self_service"] is True
    assert event.after["self_service"] is False
    assert event.actor == "am"


def test_billing_an_entity_to_itself_is_stored_as_the_default(am_api, client_entity, other_entity):
    am_api.patch(f"{ENTITIES}{client_entity.id}/", {"bill_to": other_entity.id}, format="json")
    client_entity.refresh_from_db()
    assert client_entity.bill_to == other_entity
    response = am_api.patch(f"{ENTITIES}{client_entity.id}/", {"bill_to": client_entity.id}, format="json")
    assert response.status_code == 200
    assert response.json()["bill_to"] == client_entity.id
    client_entity.refresh_from_db()
    assert client_entity.bill_to is None


def test_entity_code_change_to_a_taken_one_is_already_exists(am_api, client_entity, other_entity):
    assert_error(am_api.patch(f"{ENTITIES}{other_entity.id}/", {"code": "ACME"}, format="json"), 409, "already_exists")


def test_linking_a_clearing_firm_held_by_another_entity_is_already_exists(
    am_api, client_entity, other_entity, clearing_firm
):
    client_entity.clearing_firm = clearing_firm
    client_entity.save()
    response = am_api.patch(f"{ENTITIES}{other_entity.id}/", {"clearing_firm": clearing_firm.id}, format="json")
    assert_error(response, 409, "already_exists")


def test_client_reads_only_its_own_entity(client_api, client_entity, other_entity):
    assert ids(client_api.get(ENTITIES)) == [client_entity.id]
    assert client_api.get(f"{ENTITIES}{client_entity.id}/").json()["code"] == "ACME"
    assert_error(client_api.get(f"{ENTITIES}{other_entity.id}/"), 404, "not_found")


def test_client_may_not_write_entities(client_api, client_entity, other_entity):
    assert_error(client_api.post(ENTITIES, {"code": "MINE", "name": "Mine"}, format="json"), 403, "permission_denied")
    assert_error(
        client_api.patch(f"{ENTITIES}{client_entity.id}/", {"self_service": True, "name": "x"}, format="json"),
        403,
        "permission_denied",
    )
    assert_error(client_api.patch(f"{ENTITIES}{other_entity.id}/", {"name": "x"}, format="json"), 404, "not_found")
    client_entity.refresh_from_db()
    assert client_entity.name == "Acme Trading"


def test_client_write_is_refused_before_its_body_is_looked_at(client_api, other_entity):
    response = client_api.post(ENTITIES, {"code": None, "bill_to": other_entity.id}, format="json")
    assert_error(response, 403, "permission_denied")


def test_clearing_user_reads_its_own_entity_and_those_of_gfids_it_guarantees(
    clearing_api, clearing_firm, client_gfid, client_entity, other_entity, other_gfid
):
    firm_entity = factories.EntityFactory(code="CF1ENT", clearing_firm=clearing_firm)
    assert ids(clearing_api.get(ENTITIES)) == [client_entity.id, firm_entity.id]
    assert_error(clearing_api.get(f"{ENTITIES}{other_entity.id}/"), 404, "not_found")
    assert_error(clearing_api.post(ENTITIES, {"code": "N", "name": "N"}, format="json"), 403, "permission_denied")
    assert_error(
        clearing_api.patch(f"{ENTITIES}{client_entity.id}/", {"name": "N"}, format="json"), 403, "permission_denied"
    )


def test_finance_reads_every_entity_but_writes_none(finance_api, client_entity, other_entity):
    assert ids(finance_api.get(ENTITIES)) == [client_entity.id, other_entity.id]
    assert finance_api.get(f"{ENTITIES}{other_entity.id}/").status_code == 200
    assert_error(finance_api.post(ENTITIES, {"code": "F", "name": "F"}, format="json"), 403, "permission_denied")
    assert_error(
        finance_api.patch(f"{ENTITIES}{other_entity.id}/", {"name": "F"}, format="json"), 403, "permission_denied"
    )


def test_entities_filter_by_self_service_and_code(am_api, client_entity, other_entity):
    other_entity.self_service = False
    other_entity.save()
    assert ids(am_api.get(f"{ENTITIES}?self_service=true")) == [client_entity.id]
    assert ids(am_api.get(f"{ENTITIES}?self_service=false")) == [other_entity.id]
    assert ids(am_api.get(f"{ENTITIES}?code=OTHER")) == [other_entity.id]


@pytest.mark.parametrize("query", ["self_service=maybe", "clearing_firm=abc", "clearing_firm=999999", "code=A%00B"])
def test_malformed_entity_filters_are_invalid(am_api, client_entity, query):
    assert_invalid(am_api.get(f"{ENTITIES}?{query}"))


def test_client_filtering_by_an_invisible_firm_reads_like_a_missing_one(client_api, client_entity, other_firm):
    invisible = assert_invalid(client_api.get(f"{ENTITIES}?clearing_firm={other_firm.id}"), "clearing_firm")
    missing = assert_invalid(client_api.get(f"{ENTITIES}?clearing_firm=999999"), "clearing_firm")
    assert invisible["errors"] == missing["errors"]


def test_missing_entity_paths_are_not_found(am_api):
    assert_error(am_api.get(f"{ENTITIES}999999/"), 404, "not_found")
    assert_error(am_api.get(f"{ENTITIES}99999999999999999999999/"), 404, "not_found")
    assert_error(am_api.patch(f"{ENTITIES}999999/", {"name": "x"}, format="json"), 404, "not_found")


def test_entities_cannot_be_deleted(am_api, client_entity):
    assert_error(am_api.delete(f"{ENTITIES}{client_entity.id}/"), 405, "method_not_allowed")


def test_unauthenticated_registry_reads_are_refused(client_entity):
    anonymous = APIClient()
    for url in (ENTITIES, FIRMS, GFIDS, CGW, SEGMENTS, f"{ENTITIES}{client_entity.id}/"):
        assert_error(anonymous.get(url), 401, "not_authenticated")


# --- GFIDs ----------------------------------------------------------------------------------


def test_account_manager_registers_a_cme_gfid_with_a_clearing_firm(am_api, client_entity, clearing_firm):
    response = am_api.post(
        GFIDS,
        {"code": "XYZ", "venue": "CME", "entity": client_entity.id, "clearing_firm": clearing_firm.id},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body == {
        "id": body["id"],
        "code": "XYZ",
        "venue": "CME",
        "entity": client_entity.id,
        "clearing_firm": clearing_firm.id,
        "admin_control": False,
    }
    event = AuditEvent.objects.get(object_type="gfid", object_id=body["id"])
    assert event.action == "create" and event.after["code"] == "XYZ" and event.after["venue_id"] == "CME"


@pytest.mark.parametrize(("venue", "code"), [("BROKERTEC", "AB123"), ("EBS", "E01")])
def test_brokertec_and_ebs_gfids_may_have_no_clearing_firm(am_api, client_entity, venue, code):
    response = am_api.post(
        GFIDS,
        {"code": code, "venue": venue, "entity": client_entity.id, "admin_control": True},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["clearing_firm"] is None
    assert response.json()["admin_control"] is True


def test_cme_gfid_needs_a_clearing_firm(am_api, client_entity):
    assert_invalid(
        am_api.post(GFIDS, {"code": "XYZ", "venue": "CME", "entity": client_entity.id}, format="json"), "clearing_firm"
    )
    assert_invalid(
        am_api.post(
            GFIDS,
            {"code": "XYZ", "venue": "CME", "entity": client_entity.id, "clearing_firm": None},
            format="json",
        ),
        "clearing_firm",
    )


@pytest.mark.parametrize(
    ("venue", "code"),
    [
        ("CME", "AB"),
        ("CME", "ABCD"),
        ("CME", "abc"),
        ("CME", "A-C"),
        ("CME", "AB123"),
        ("BROKERTEC", "ABC"),
        ("BROKERTEC", "AB1234"),
        ("EBS", "ABCDE"),
        ("CME", ""),
        ("CME", None),
    ],
)
def test_gfid_code_length_depends_on_the_venue(am_api, client_entity, clearing_firm, venue, code):
    response = am_api.post(
        GFIDS,
        {"code": code, "venue": venue, "entity": client_entity.id, "clearing_firm": clearing_firm.id},
        format="json",
    )
    assert_invalid(response, "code")
    assert not Gfid.objects.exists()


def test_gfid_code_is_unique_per_venue_only(am_api, client_entity, clearing_firm):
    body = {"code": "ABC", "venue": "CME", "entity": client_entity.id, "clearing_firm": clearing_firm.id}
    assert am_api.post(GFIDS, body, format="json").status_code == 201
    assert_error(am_api.post(GFIDS, body, format="json"), 409, "already_exists")
    assert am_api.post(GFIDS, {**body, "venue": "EBS"}, format="json").status_code == 201
    assert Gfid.objects.filter(code="ABC").count() == 2


@pytest.mark.parametrize("venue", ["EBS_DIRECT", "ICE", "cme", "", 5, True, ["CME"], {"code": "CME"}, "C\x00ME"])
def test_unsupported_gfid_venue_is_refused_before_any_other_field(am_api, venue):
    response = am_api.post(
        GFIDS,
        {"code": "toolongcode", "venue": venue, "entity": "x", "clearing_firm": True, "admin_control": "?"},
        format="json",
    )
    assert_error(response, 400, "venue_not_supported")


def test_gfid_venue_missing_or_null_is_invalid(am_api, client_entity):
    assert_invalid(am_api.post(GFIDS, {"code": "ABC", "entity": client_entity.id}, format="json"), "venue")
    assert_invalid(
        am_api.post(GFIDS, {"code": "ABC", "venue": None, "entity": client_entity.id}, format="json"), "venue"
    )


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"entity": None}, "entity"),
        ({"entity": 999999}, "entity"),
        ({"entity": True}, "entity"),
        ({"entity": "not-an-id"}, "entity"),
        ({"clearing_firm": 999999}, "clearing_firm"),
        ({"clearing_firm": False}, "clearing_firm"),
        ({"admin_control": "perhaps"}, "admin_control"),
    ],
)
def test_bad_gfid_fields_are_invalid(am_api, client_entity, clearing_firm, extra, field):
    body = {"code": "XYZ", "venue": "CME", "entity": client_entity.id, "clearing_firm": clearing_firm.id}
    assert_invalid(am_api.post(GFIDS, {**body, **extra}, format="json"), field)
    assert not Gfid.objects.exists()


def test_account_manager_gives_admin_control_with_audit(am_api, client_gfid):
    response = am_api.patch(f"{GFIDS}{client_gfid.id}/", {"admin_control": True}, format="json")
    assert response.status_code == 200
    assert response.json()["admin_control"] is True
    event = AuditEvent.objects.get(object_type="gfid", object_id=client_gfid.id, action="update")
    assert (event.before["admin_control"], event.after["admin_control"]) == (False, True)


def test_gfid_without_sessions_may_change_its_code(am_api, client_gfid):
    response = am_api.patch(f"{GFIDS}{client_gfid.id}/", {"code": "NEW"}, format="json")
    assert response.status_code == 200
    assert response.json()["code"] == "NEW"


def test_gfid_with_sessions_keeps_its_code(am_api, client_gfid):
    factories.SourceSessionFactory(gfid=client_gfid)
    assert_error(am_api.patch(f"{GFIDS}{client_gfid.id}/", {"code": "NEW"}, format="json"), 409, "invalid_transition")
    client_gfid.refresh_from_db()
    assert client_gfid.code == "ACM"


def test_gfid_code_change_to_a_taken_one_is_already_exists(am_api, client_gfid, other_gfid):
    assert_error(am_api.patch(f"{GFIDS}{other_gfid.id}/", {"code": "ACM"}, format="json"), 409, "already_exists")


def test_cme_gfid_cannot_lose_its_clearing_firm(am_api, client_gfid):
    assert_invalid(am_api.patch(f"{GFIDS}{client_gfid.id}/", {"clearing_firm": None}, format="json"), "clearing_firm")


def test_gfid_patch_to_an_unsupported_venue_is_venue_not_supported(am_api, client_gfid):
    assert_error(
        am_api.patch(f"{GFIDS}{client_gfid.id}/", {"venue": "EBS_DIRECT", "code": "??"}, format="json"),
        400,
        "venue_not_supported",
    )


def test_gfid_patch_with_broken_json_is_invalid(am_api, client_gfid):
    assert_error(
        am_api.patch(f"{GFIDS}{client_gfid.id}/", data="{bad", content_type="application/json"), 400, "invalid"
    )


def test_client_reads_only_its_own_gfids(client_api, client_gfid, other_gfid):
    assert ids(client_api.get(GFIDS)) == [client_gfid.id]
    assert client_api.get(f"{GFIDS}{client_gfid.id}/").status_code == 200
    assert_error(client_api.get(f"{GFIDS}{other_gfid.id}/"), 404, "not_found")


def test_client_may_not_write_gfids(client_api, client_entity, client_gfid, other_gfid, clearing_firm):
    body = {"code": "NEW", "venue": "CME", "entity": client_entity.id, "clearing_firm": clearing_firm.id}
    assert_error(client_api.post(GFIDS, body, format="json"), 403, "permission_denied")
    assert_error(
        client_api.patch(f"{GFIDS}{client_gfid.id}/", {"admin_control": True}, format="json"), 403, "permission_denied"
    )
    assert_error(client_api.patch(f"{GFIDS}{other_gfid.id}/", {"admin_control": True}, format="json"), 404, "not_found")
    client_gfid.refresh_from_db()
    assert client_gfid.admin_control is False


def test_clearing_user_reads_the_gfids_its_firm_guarantees(clearing_api, client_gfid, other_gfid):
    assert ids(clearing_api.get(GFIDS)) == [client_gfid.id]
    assert_error(clearing_api.get(f"{GFIDS}{other_gfid.id}/"), 404, "not_found")
    assert_error(
        clearing_api.patch(f"{GFIDS}{client_gfid.id}/", {"admin_control": True}, format="json"),
        403,
        "permission_denied",
    )
    assert_error(clearing_api.post(GFIDS, {}, format="json"), 403, "permission_denied")


def test_gfids_filter_by_venue_entity_and_admin_control(am_api, client_gfid, other_gfid, client_entity):
    ebs = factories.GfidFactory(code="EB1", venue=factories.venue("EBS"), entity=client_entity, admin_control=True)
    assert ids(am_api.get(f"{GFIDS}?venue=EBS")) == [ebs.id]
    assert ids(am_api.get(f"{GFIDS}?venue=CME")) == [client_gfid.id, other_gfid.id]
    assert ids(am_api.get(f"{GFIDS}?entity={client_entity.id}")) == [client_gfid.id, ebs.id]
    assert ids(am_api.get(f"{GFIDS}?admin_control=true")) == [ebs.id]
    assert ids(am_api.get(f"{GFIDS}?admin_control=false")) == [client_gfid.id, other_gfid.id]


@pytest.mark.parametrize(
    "query",
    [
        "venue=XYZ",
        "venue=EBS_DIRECT",
        "venue=cme",
        "admin_control=maybe",
        "entity=abc",
        "entity=999999",
        "clearing_firm=x",
    ],
)
def test_malformed_gfid_filters_are_invalid(am_api, client_gfid, query):
    assert_invalid(am_api.get(f"{GFIDS}?{query}"))


def test_client_filtering_gfids_by_another_entity_reads_like_a_missing_one(client_api, other_entity):
    invisible = assert_invalid(client_api.get(f"{GFIDS}?entity={other_entity.id}"), "entity")
    missing = assert_invalid(client_api.get(f"{GFIDS}?entity=999999"), "entity")
    assert invisible["errors"] == missing["errors"]


# --- gateways (reference data) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("venue", "count"),
    [("CME", 4), ("EBS", 2), ("BROKERTEC", 0)],
)
@pytest.mark.parametrize("environment", ["PRODUCTION", "NEW_RELEASE", "CERT"])
def test_cgw_gateways_are_seeded_per_venue_and_environment(am_api, venue, count, environment):
    body = am_api.get(f"{CGW}?venue={venue}&environment={environment}").json()
    assert body["count"] == count
    for row in body["results"]:
        assert set(row) == {"id", "code", "venue", "environment", "primary_ip", "backup_ip"}
        assert (row["venue"], row["environment"]) == (venue, environment)


@pytest.mark.parametrize(
    ("venue", "count"),
    [("CME", 19), ("EBS", 4), ("BROKERTEC", 3)],
)
@pytest.mark.parametrize(
    ("environment", "prefix"),
    [("PRODUCTION", "127.10."), ("NEW_RELEASE", "127.20."), ("CERT", "127.30.")],
)
def test_segment_gateways_are_seeded_per_venue_and_environment(am_api, venue, count, environment, prefix):
    body = am_api.get(f"{SEGMENTS}?venue={venue}&environment={environment}").json()
    assert body["count"] == count
    for row in body["results"]:
        assert set(row) == {"id", "venue", "environment", "market_segment", "primary_ip", "backup_ip"}
        assert row["primary_ip"].startswith(prefix) and row["backup_ip"].startswith(prefix)
        assert row["primary_ip"] != row["backup_ip"]


@pytest.mark.parametrize("api_name", ["am_api", "client_api", "clearing_api", "finance_api"])
def test_every_role_reads_the_gateways(request, api_name):
    api = request.getfixturevalue(api_name)
    cgw = api.get(CGW).json()
    assert cgw["count"] == 18
    assert api.get(f"{CGW}{cgw['results'][0]['id']}/").status_code == 200
    segments = api.get(SEGMENTS).json()
    assert segments["count"] == 78
    assert api.get(f"{SEGMENTS}{segments['results'][0]['id']}/").status_code == 200


@pytest.mark.parametrize("url", [CGW, SEGMENTS])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_gateways_are_read_only(am_api, url, method):
    first = am_api.get(url).json()["results"][0]["id"]
    target = url if method == "post" else f"{url}{first}/"
    assert_error(getattr(am_api, method)(target, {"code": "X"}, format="json"), 405, "method_not_allowed")


@pytest.mark.parametrize(
    "query",
    [
        "venue=XYZ",
        "venue=EBS_DIRECT",
        "environment=PROD",
        "market_segment=abc",
    ],
)
def test_malformed_gateway_filters_are_invalid(am_api, query):
    assert_invalid(am_api.get(f"{SEGMENTS}?{query}"))
    if not query.startswith("market_segment"):
        assert_invalid(am_api.get(f"{CGW}?{query}"))


def test_empty_filter_value_means_no_filter(am_api):
    assert am_api.get(f"{SEGMENTS}?environment=").json()["count"] == 78


def test_segment_gateways_filter_by_segment(am_api):
    body = am_api.get(f"{SEGMENTS}?venue=CME&environment=PRODUCTION&market_segment={_first_segment(am_api)}").json()
    assert body["count"] == 1


def _first_segment(api) -> int:
    return api.get(f"{SEGMENTS}?venue=CME&environment=PRODUCTION").json()["results"][0]["market_segment"]


def test_out_of_range_segment_filter_finds_nothing(am_api):
    assert am_api.get(f"{SEGMENTS}?market_segment=99999999999999999999").json()["count"] == 0


def test_missing_gateway_is_not_found(am_api):
    assert_error(am_api.get(f"{CGW}999999/"), 404, "not_found")
    assert_error(am_api.get(f"{SEGMENTS}nope/"), 404, "not_found")


# --- lists: pagination and query counts -----------------------------------------------------


def test_lists_page_by_fifty_with_absolute_links(am_api):
    ClearingFirm.objects.bulk_create([ClearingFirm(code=f"P{n:02d}", name=f"Firm {n}") for n in range(60)])
    first = am_api.get(FIRMS).json()
    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == 60
    assert len(first["results"]) == 50
    assert first["previous"] is None
    assert first["next"].startswith("http://testserver/api/v1/clearing-firms/") and "page=2" in first["next"]
    assert [row["code"] for row in first["results"]] == [f"P{n:02d}" for n in range(50)]
    second = am_api.get(first["next"]).json()
    assert len(second["results"]) == 10
    assert second["next"] is None
    assert second["previous"].startswith("http://testserver/")


def test_page_size_is_clamped_to_one_thousand(am_api):
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    codes = [a + b + c for a in digits for b in digits for c in digits][:1005]
    ClearingFirm.objects.bulk_create([ClearingFirm(code=code, name=f"Firm {code}") for code in codes])
    body = am_api.get(f"{FIRMS}?page_size=5000").json()
    assert body["count"] == 1005
    assert len(body["results"]) == 1000
    assert body["next"] is not None
    assert len(am_api.get(f"{FIRMS}?page_size=7").json()["results"]) == 7


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=abc", "page"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=1.5", "page"),
        ("page=last", "page"),
        ("page_size=abc", "page_size"),
        ("page_size=0", "page_size"),
        ("page_size=-5", "page_size"),
        ("page_size=", "page_size"),
    ],
)
@pytest.mark.parametrize("url", [ENTITIES, FIRMS, GFIDS, CGW, SEGMENTS])
def test_malformed_paging_is_invalid(am_api, url, query, field):
    assert_invalid(am_api.get(f"{url}?{query}"), field)


def test_page_past_the_end_is_not_found(am_api):
    assert_error(am_api.get(f"{FIRMS}?page=99"), 404, "not_found")


def _queries_for(api, url: str, expected_count: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = api.get(url)
    assert response.status_code == 200, response.content
    assert response.json()["count"] == expected_count
    return len(queries)


def test_entities_list_costs_the_same_queries_for_one_and_fifty_rows(am_api, client_api, client_entity):
    as_am = _queries_for(am_api, ENTITIES, 1)
    as_client = _queries_for(client_api, ENTITIES, 1)
    for _ in range(49):
        factories.EntityFactory(bill_to=client_entity, clearing_firm=factories.ClearingFirmFactory())
    assert _queries_for(am_api, ENTITIES, 50) == as_am
    assert _queries_for(client_api, ENTITIES, 1) == as_client


def test_clearing_firms_list_costs_the_same_queries_for_one_and_fifty_rows(am_api, clearing_firm):
    one = _queries_for(am_api, FIRMS, 1)
    factories.ClearingFirmFactory.create_batch(49)
    assert _queries_for(am_api, FIRMS, 50) == one


def test_gfids_list_costs_the_same_queries_for_one_and_fifty_rows(am_api, client_api, client_entity):
    factories.GfidFactory(entity=client_entity)
    as_am = _queries_for(am_api, GFIDS, 1)
    as_client = _queries_for(client_api, GFIDS, 1)
    for n in range(49):
        venue = factories.venue(("CME", "EBS", "BROKERTEC")[n % 3])
        factories.GfidFactory(entity=client_entity, venue=venue)
    assert _queries_for(am_api, GFIDS, 50) == as_am
    assert _queries_for(client_api, GFIDS, 50) == as_client


def test_gateway_lists_cost_the_same_queries_for_few_and_many_rows(am_api):
    assert _queries_for(am_api, f"{CGW}?venue=EBS&environment=CERT", 2) == _queries_for(am_api, CGW, 18)
    assert _queries_for(am_api, f"{SEGMENTS}?venue=BROKERTEC&environment=CERT", 3) == _queries_for(
        am_api, f"{SEGMENTS}?page_size=100", 78
    )

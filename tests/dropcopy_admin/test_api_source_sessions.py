"""source-sessions/: R1 venues and gateway types, R5 SenderCompIDs, roles, lists, audit."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dropcopy_admin.models import AuditEvent, SourceSession
from tests import factories
from tests.support import assert_error, assert_invalid

URL = "/api/v1/source-sessions/"


# Every test here touches the database, some only through request.getfixturevalue(); marking the
# module keeps pytest-django from ordering those after the transactional tests (which flush the
# migrations' reference data).
pytestmark = pytest.mark.django_db


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def cme_gfid(client_entity, clearing_firm):
    return factories.GfidFactory(code="ACM", entity=client_entity, clearing_firm=clearing_firm)


@pytest.fixture
def bt_gfid(client_entity):
    return factories.GfidFactory(
        code="BT001", venue=factories.venue("BROKERTEC"), entity=client_entity, clearing_firm=None
    )


@pytest.fixture
def ebs_gfid(client_entity):
    return factories.GfidFactory(code="EB1", venue=factories.venue("EBS"), entity=client_entity, clearing_firm=None)


@pytest.fixture
def other_gfid(db):
    other = factories.EntityFactory(code="OTHER")
    firm = factories.ClearingFirmFactory(code="OF1")
    return factories.GfidFactory(code="OTH", entity=other, clearing_firm=firm)


def cgw(venue="CME", environment="PRODUCTION", code="CGW1") -> int:
    return factories.cgw_gateway(venue, environment, code).id


def cme_body(gfid, /, **overrides) -> dict:
    body = {
        "sender_comp_id": f"S01{gfid.code}N",
        "venue": "CME",
        "environment": "PRODUCTION",
        "gateway_type": "CGW",
        "cgw_gateway": cgw(),
        "gfid": gfid.id,
    }
    body.update(overrides)
    return body


# --- allowed venue / gateway type combinations (R1) ------------------------------------------


def test_cme_cgw_session_takes_the_gfids_clearing_firm(am_api, cme_gfid, clearing_firm):
    response = am_api.post(URL, cme_body(cme_gfid), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body == {
        "id": body["id"],
        "sender_comp_id": "S01ACMN",
        "venue": "CME",
        "environment": "PRODUCTION",
        "gateway_type": "CGW",
        "cgw_gateway": cgw(),
        "gfid": cme_gfid.id,
        "clearing_firm": clearing_firm.id,
    }
    assert SourceSession.objects.get(pk=body["id"]).clearing_firm == clearing_firm


def test_cme_msgw_session_lives_on_no_cgw_gateway(am_api, cme_gfid):
    response = am_api.post(URL, cme_body(cme_gfid, gateway_type="MSGW", cgw_gateway=None), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["cgw_gateway"] is None


def test_cme_msgw_session_may_omit_the_cgw_gateway(am_api, cme_gfid):
    body = cme_body(cme_gfid, gateway_type="MSGW")
    del body["cgw_gateway"]
    assert am_api.post(URL, body, format="json").status_code == 201


@pytest.mark.parametrize(
    ("gateway_type", "gateway"),
    [("CGW", ("EBS", "NEW_RELEASE", "CGW2")), ("MSGW", None)],
)
def test_ebs_sessions_of_both_gateway_types_need_no_clearing_firm(am_api, ebs_gfid, gateway_type, gateway):
    body = {
        "sender_comp_id": "AB1EB10",
        "venue": "EBS",
        "environment": "NEW_RELEASE",
        "gateway_type": gateway_type,
        "cgw_gateway": cgw(*gateway) if gateway else None,
        "gfid": ebs_gfid.id,
    }
    response = am_api.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["clearing_firm"] is None


def test_brokertec_msgw_session_has_a_nine_character_sender_comp_id(am_api, bt_gfid):
    body = {
        "sender_comp_id": "X01BT0017",
        "venue": "BROKERTEC",
        "environment": "CERT",
        "gateway_type": "MSGW",
        "gfid": bt_gfid.id,
    }
    response = am_api.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["clearing_firm"] is None
    assert response.json()["sender_comp_id"] == "X01BT0017"


def test_brokertec_session_may_name_a_clearing_firm(am_api, bt_gfid, clearing_firm):
    body = {
        "sender_comp_id": "X01BT0017",
        "venue": "BROKERTEC",
        "environment": "CERT",
        "gateway_type": "MSGW",
        "gfid": bt_gfid.id,
        "clearing_firm": clearing_firm.id,
    }
    response = am_api.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["clearing_firm"] == clearing_firm.id


def test_session_may_be_guaranteed_by_another_firm_than_its_gfids(am_api, cme_gfid):
    firm = factories.ClearingFirmFactory(code="ZZZ")
    response = am_api.post(URL, cme_body(cme_gfid, clearing_firm=firm.id), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["clearing_firm"] == firm.id


def test_cme_session_needs_a_clearing_firm(am_api, cme_gfid):
    assert_invalid(am_api.post(URL, cme_body(cme_gfid, clearing_firm=None), format="json"), "clearing_firm")
    assert not SourceSession.objects.exists()


def test_cme_session_of_a_gfid_without_firm_needs_one(am_api, client_entity):
    gfid = factories.GfidFactory(code="NOF", entity=client_entity, clearing_firm=None)
    assert_invalid(am_api.post(URL, cme_body(gfid), format="json"), "clearing_firm")


def test_brokertec_cgw_session_is_gateway_type_not_supported(am_api, bt_gfid):
    body = {
        "sender_comp_id": "bad",
        "venue": "BROKERTEC",
        "environment": "NOPE",
        "gateway_type": "CGW",
        "cgw_gateway": 999999,
        "gfid": True,
    }
    assert_error(am_api.post(URL, body, format="json"), 400, "gateway_type_not_supported")
    body["cgw_gateway"] = "not-an-id"
    assert_error(am_api.post(URL, body, format="json"), 400, "gateway_type_not_supported")
    assert not SourceSession.objects.exists()


@pytest.mark.parametrize("venue", ["EBS_DIRECT", "ICE", "LSE", "cme", "", 5, 0, False, ["CME"], {"v": 1}, "CME\x00"])
def test_unsupported_venue_is_refused_before_any_other_field(am_api, venue):
    body = {
        "sender_comp_id": "?",
        "venue": venue,
        "environment": "MARS",
        "gateway_type": "FAX",
        "cgw_gateway": True,
        "gfid": "x",
        "clearing_firm": [],
    }
    assert_error(am_api.post(URL, body, format="json"), 400, "venue_not_supported")


def test_unsupported_venue_comes_before_a_missing_field(am_api):
    assert_error(am_api.post(URL, {"venue": "ICE"}, format="json"), 400, "venue_not_supported")


# --- gateway fields ---------------------------------------------------------------------------


def test_cgw_session_names_its_gateway(am_api, cme_gfid):
    body = cme_body(cme_gfid)
    del body["cgw_gateway"]
    assert_invalid(am_api.post(URL, body, format="json"), "cgw_gateway")
    assert_invalid(am_api.post(URL, cme_body(cme_gfid, cgw_gateway=None), format="json"), "cgw_gateway")


def test_msgw_session_names_no_gateway(am_api, cme_gfid):
    assert_invalid(am_api.post(URL, cme_body(cme_gfid, gateway_type="MSGW"), format="json"), "cgw_gateway")


@pytest.mark.parametrize(
    "gateway",
    [("CME", "NEW_RELEASE", "CGW1"), ("EBS", "PRODUCTION", "CGW1")],
)
def test_cgw_gateway_of_another_venue_or_environment_is_invalid(am_api, cme_gfid, gateway):
    assert_invalid(am_api.post(URL, cme_body(cme_gfid, cgw_gateway=cgw(*gateway)), format="json"), "cgw_gateway")


def test_gfid_of_another_venue_is_invalid(am_api, ebs_gfid):
    body = cme_body(ebs_gfid, clearing_firm=factories.ClearingFirmFactory().id)
    assert_invalid(am_api.post(URL, body, format="json"), "gfid")


# --- SenderCompID (R5) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sender_comp_id",
    [
        "S01ACM",  # 6
        "S01ACMNN",  # 8
        "s01acmn",  # lowercase
        "S01ACM-",  # punctuation
        "S0 ACMN",  # space inside
        "S01ACMÉ",  # non-ASCII
        "S01ACMN" * 10,  # over-long
        "S01ACMN" * 1000,  # far over-long
    ],
)
def test_sender_comp_id_of_wrong_length_or_characters_is_a_mismatch(am_api, cme_gfid, sender_comp_id):
    response = am_api.post(URL, cme_body(cme_gfid, sender_comp_id=sender_comp_id), format="json")
    assert_error(response, 400, "sender_comp_id_mismatch")
    assert not SourceSession.objects.exists()


def test_sender_comp_id_embedding_another_gfid_is_a_mismatch(am_api, cme_gfid, other_gfid):
    body = assert_error(
        am_api.post(URL, cme_body(cme_gfid, sender_comp_id="S01OTHN"), format="json"),
        400,
        "sender_comp_id_mismatch",
    )
    assert "OTH" in body["detail"] and "ACM" in body["detail"]


def test_cme_length_sender_comp_id_on_brokertec_is_a_mismatch(am_api, bt_gfid):
    body = {
        "sender_comp_id": "X01BT00",
        "venue": "BROKERTEC",
        "environment": "PRODUCTION",
        "gateway_type": "MSGW",
        "gfid": bt_gfid.id,
    }
    assert_error(am_api.post(URL, body, format="json"), 400, "sender_comp_id_mismatch")


def test_sender_comp_id_is_unique_per_environment(am_api, cme_gfid):
    assert am_api.post(URL, cme_body(cme_gfid), format="json").status_code == 201
    assert_error(
        am_api.post(URL, cme_body(cme_gfid, gateway_type="MSGW", cgw_gateway=None), format="json"),
        409,
        "already_exists",
    )
    again = am_api.post(
        URL,
        cme_body(cme_gfid, environment="NEW_RELEASE", cgw_gateway=cgw("CME", "NEW_RELEASE")),
        format="json",
    )
    assert again.status_code == 201, again.json()
    assert SourceSession.objects.filter(sender_comp_id="S01ACMN").count() == 2


# --- other bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"environment": "PROD"}, "environment"),
        ({"environment": None}, "environment"),
        ({"environment": 1}, "environment"),
        ({"gateway_type": "FIX"}, "gateway_type"),
        ({"gateway_type": None}, "gateway_type"),
        ({"gateway_type": "cgw"}, "gateway_type"),
        ({"gfid": None}, "gfid"),
        ({"gfid": True}, "gfid"),
        ({"gfid": "abc"}, "gfid"),
        ({"gfid": 999999}, "gfid"),
        ({"gfid": [1]}, "gfid"),
        ({"cgw_gateway": False}, "cgw_gateway"),
        ({"cgw_gateway": 999999}, "cgw_gateway"),
        ({"cgw_gateway": 99999999999999999999999}, "cgw_gateway"),
        ({"clearing_firm": True}, "clearing_firm"),
        ({"clearing_firm": 999999}, "clearing_firm"),
        ({"sender_comp_id": None}, "sender_comp_id"),
        ({"sender_comp_id": ""}, "sender_comp_id"),
        ({"sender_comp_id": "S01\x00CMN"}, "sender_comp_id"),
        ({"sender_comp_id": {"a": 1}}, "sender_comp_id"),
        ({"venue": None}, "venue"),
    ],
)
def test_bad_session_fields_are_invalid(am_api, cme_gfid, overrides, field):
    assert_invalid(am_api.post(URL, cme_body(cme_gfid, **overrides), format="json"), field)
    assert not SourceSession.objects.exists()


@pytest.mark.parametrize("missing", ["sender_comp_id", "venue", "environment", "gateway_type", "gfid"])
def test_missing_session_fields_are_invalid(am_api, cme_gfid, missing):
    body = cme_body(cme_gfid)
    del body[missing]
    assert_invalid(am_api.post(URL, body, format="json"), missing)


def test_session_body_with_broken_json_is_invalid(am_api):
    assert_error(am_api.post(URL, data="{bad", content_type="application/json"), 400, "invalid")
    assert_error(am_api.post(URL, data="", content_type="application/json"), 400, "invalid")


def test_session_body_that_is_not_an_object_is_invalid(am_api):
    assert_invalid(am_api.post(URL, [{"venue": "CME"}], format="json"), "non_field_errors")
    assert_invalid(am_api.post(URL, 7, format="json"), "non_field_errors")


def test_session_body_as_form_data_is_unsupported_media_type(am_api, cme_gfid):
    assert_error(am_api.post(URL, {"sender_comp_id": "S01ACMN"}), 415, "unsupported_media_type")


def test_session_creation_is_audited(am_api, cme_gfid):
    response = am_api.post(URL, cme_body(cme_gfid), format="json", HTTP_X_REQUEST_ID="req-ss-1")
    event = AuditEvent.objects.get(object_type="sourcesession", object_id=response.json()["id"])
    assert (event.action, event.actor, event.before) == ("create", "am", None)
    assert event.after["sender_comp_id"] == "S01ACMN"
    assert event.after["clearing_firm_id"] == cme_gfid.clearing_firm_id
    assert event.request_id == "req-ss-1"


def test_refused_session_leaves_no_audit(am_api, cme_gfid):
    am_api.post(URL, cme_body(cme_gfid, sender_comp_id="S01XXXN"), format="json")
    assert not AuditEvent.objects.filter(object_type="sourcesession").exists()


# --- PATCH ------------------------------------------------------------------------------------


@pytest.fixture
def session(cme_gfid):
    return factories.SourceSessionFactory(gfid=cme_gfid, sender_comp_id="S01ACMN")


def test_account_manager_changes_the_guaranteeing_firm_with_before_and_after(am_api, session):
    firm = factories.ClearingFirmFactory(code="NEW")
    response = am_api.patch(f"{URL}{session.id}/", {"clearing_firm": firm.id}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["clearing_firm"] == firm.id
    event = AuditEvent.objects.get(object_type="sourcesession", object_id=session.id, action="update")
    assert event.before["clearing_firm_id"] == session.clearing_firm_id
    assert event.after["clearing_firm_id"] == firm.id
    assert event.actor == "am"


def test_patch_moves_a_session_to_msgw(am_api, session):
    response = am_api.patch(f"{URL}{session.id}/", {"gateway_type": "MSGW", "cgw_gateway": None}, format="json")
    assert response.status_code == 200, response.json()
    session.refresh_from_db()
    assert (session.gateway_type, session.cgw_gateway) == ("MSGW", None)


def test_patch_to_a_mismatching_sender_comp_id_is_refused(am_api, session):
    assert_error(
        am_api.patch(f"{URL}{session.id}/", {"sender_comp_id": "S01ZZZN"}, format="json"),
        400,
        "sender_comp_id_mismatch",
    )
    session.refresh_from_db()
    assert session.sender_comp_id == "S01ACMN"


def test_patch_to_a_taken_sender_comp_id_is_already_exists(am_api, session, cme_gfid):
    factories.SourceSessionFactory(gfid=cme_gfid, sender_comp_id="S02ACMN")
    assert_error(
        am_api.patch(f"{URL}{session.id}/", {"sender_comp_id": "S02ACMN"}, format="json"), 409, "already_exists"
    )


def test_patch_to_an_unsupported_venue_is_venue_not_supported(am_api, session):
    assert_error(
        am_api.patch(f"{URL}{session.id}/", {"venue": "EBS_DIRECT", "gfid": "x"}, format="json"),
        400,
        "venue_not_supported",
    )


def test_patch_of_a_brokertec_session_to_cgw_is_gateway_type_not_supported(am_api, bt_gfid):
    session = factories.SourceSessionFactory(gfid=bt_gfid, gateway_type="MSGW", sender_comp_id="X01BT0010")
    response = am_api.patch(f"{URL}{session.id}/", {"gateway_type": "CGW", "cgw_gateway": 999999}, format="json")
    assert_error(response, 400, "gateway_type_not_supported")


def test_cme_session_cannot_drop_its_clearing_firm(am_api, session):
    assert_invalid(am_api.patch(f"{URL}{session.id}/", {"clearing_firm": None}, format="json"), "clearing_firm")


def test_routing_of_a_session_in_a_group_is_fixed(am_api, session, client_entity):
    group = factories.GroupFactory(entity=client_entity)
    factories.MembershipFactory(group=group, source_session=session)
    response = am_api.patch(
        f"{URL}{session.id}/",
        {"environment": "CERT", "cgw_gateway": cgw("CME", "CERT")},
        format="json",
    )
    assert_error(response, 409, "invalid_transition")
    firm = factories.ClearingFirmFactory(code="NEW")
    assert am_api.patch(f"{URL}{session.id}/", {"clearing_firm": firm.id}, format="json").status_code == 200


def test_session_patch_with_broken_json_is_invalid(am_api, session):
    assert_error(am_api.patch(f"{URL}{session.id}/", data="{bad", content_type="application/json"), 400, "invalid")


def test_sessions_cannot_be_deleted(am_api, session):
    assert_error(am_api.delete(f"{URL}{session.id}/"), 405, "method_not_allowed")


# --- who may ----------------------------------------------------------------------------------


@pytest.fixture
def sessions(cme_gfid, other_gfid, clearing_firm):
    """The client's session, another tenant's session, and another tenant's session guaranteed by
    the clearing user's firm (though its GFID's firm is another)."""
    own = factories.SourceSessionFactory(gfid=cme_gfid)
    foreign = factories.SourceSessionFactory(gfid=other_gfid)
    guaranteed = factories.SourceSessionFactory(gfid=other_gfid, clearing_firm=clearing_firm)
    return own, foreign, guaranteed


def test_client_reads_only_its_gfids_sessions(client_api, sessions):
    own, foreign, guaranteed = sessions
    assert ids(client_api.get(URL)) == [own.id]
    assert client_api.get(f"{URL}{own.id}/").status_code == 200
    assert_error(client_api.get(f"{URL}{foreign.id}/"), 404, "not_found")
    assert_error(client_api.get(f"{URL}{guaranteed.id}/"), 404, "not_found")


def test_client_whose_entity_is_a_clearing_firm_reads_the_sessions_it_guarantees(
    client_api, client_entity, clearing_firm, sessions
):
    own, foreign, guaranteed = sessions
    client_entity.clearing_firm = clearing_firm
    client_entity.save()
    assert ids(client_api.get(URL)) == [own.id, guaranteed.id]
    assert_error(client_api.get(f"{URL}{foreign.id}/"), 404, "not_found")


def test_clearing_user_reads_the_sessions_its_firm_guarantees(clearing_api, sessions):
    own, foreign, guaranteed = sessions
    assert ids(clearing_api.get(URL)) == [own.id, guaranteed.id]
    assert_error(clearing_api.get(f"{URL}{foreign.id}/"), 404, "not_found")


# --- lists ------------------------------------------------------------------------------------


def test_sessions_filter_by_venue_environment_gateway_type_and_gfid(am_api, cme_gfid, bt_gfid):
    cgw_session = factories.SourceSessionFactory(gfid=cme_gfid)
    msgw_session = factories.SourceSessionFactory(gfid=cme_gfid, gateway_type="MSGW", environment="CERT")
    bt_session = factories.SourceSessionFactory(gfid=bt_gfid, gateway_type="MSGW")
    assert ids(am_api.get(f"{URL}?venue=CME")) == [cgw_session.id, msgw_session.id]
    assert ids(am_api.get(f"{URL}?venue=BROKERTEC")) == [bt_session.id]
    assert ids(am_api.get(f"{URL}?environment=CERT")) == [msgw_session.id]
    assert ids(am_api.get(f"{URL}?gateway_type=MSGW")) == [msgw_session.id, bt_session.id]
    assert ids(am_api.get(f"{URL}?gfid={bt_gfid.id}")) == [bt_session.id]
    assert ids(am_api.get(f"{URL}?sender_comp_id={cgw_session.sender_comp_id}")) == [cgw_session.id]


@pytest.mark.parametrize(
    "query",
    [
        "venue=XYZ",
        "venue=EBS_DIRECT",
        "environment=prod",
        "gateway_type=FIX",
        "gfid=abc",
        "gfid=999999",
        "cgw_gateway=x",
        "clearing_firm=-1",
        "sender_comp_id=A%00B",
        "page=0",
        "page_size=x",
    ],
)
def test_malformed_session_filters_are_invalid(am_api, query):
    assert_invalid(am_api.get(f"{URL}?{query}"))


def test_client_filtering_by_another_tenants_gfid_reads_like_a_missing_one(client_api, other_gfid):
    invisible = assert_invalid(client_api.get(f"{URL}?gfid={other_gfid.id}"), "gfid")
    missing = assert_invalid(client_api.get(f"{URL}?gfid=999999"), "gfid")
    assert invisible["errors"] == missing["errors"]


def test_missing_session_is_not_found(am_api):
    assert_error(am_api.get(f"{URL}999999/"), 404, "not_found")
    assert_error(am_api.patch(f"{URL}999999/", {"clearing_firm": None}, format="json"), 404, "not_found")


def _queries_for(api, url: str, expected_count: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = api.get(url)
    assert response.status_code == 200, response.content
    assert response.json()["count"] == expected_count
    return len(queries)


def test_sessions_list_costs_the_same_queries_for_one_and_fifty_rows(
    am_api, client_api, clearing_api, cme_gfid, bt_gfid, ebs_gfid
):
    factories.SourceSessionFactory(gfid=cme_gfid)
    counts = {
        name: _queries_for(api, URL, 1)
        for name, api in (("am", am_api), ("client", client_api), ("clearing", clearing_api))
    }
    for n in range(49):
        gfid = (cme_gfid, bt_gfid, ebs_gfid)[n % 3]
        factories.SourceSessionFactory(gfid=gfid, gateway_type="MSGW" if gfid is bt_gfid else "CGW")
    assert _queries_for(am_api, URL, 50) == counts["am"]
    assert _queries_for(client_api, URL, 50) == counts["client"]
    # The clearing firm guarantees only the CME sessions: 1 + 17 of the 49.
    assert _queries_for(clearing_api, URL, 18) == counts["clearing"]

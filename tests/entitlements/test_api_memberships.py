"""memberships/: request (pending), list, DELETE = withdraw or remove (R2, R4, R3a), per-role access."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dropcopy_admin import clock
from dropcopy_admin.choices import Environment, GatewayType, GroupStatus, MembershipStatus, Role
from dropcopy_admin.models import AuditEvent, Membership
from tests import factories
from tests.support import assert_error

pytestmark = pytest.mark.django_db

MEMBERSHIPS = "/api/v1/memberships/"
NOW = dt.datetime(2026, 3, 10, 15, 30, tzinfo=dt.UTC)


def membership_url(membership) -> str:
    return f"{MEMBERSHIPS}{membership.pk if hasattr(membership, 'pk') else membership}/"


@pytest.fixture
def frozen_clock():
    clock.freeze(NOW)
    return NOW


@pytest.fixture
def group(client_entity):
    """A CME production group of the client's entity."""
    return factories.GroupFactory(entity=client_entity, name="Main")


@pytest.fixture
def session(client_entity):
    """A CME production session on one of the client's GFIDs, guaranteed by a clearing firm."""
    return factories.SourceSessionFactory(gfid__entity=client_entity)


def session_of(entity, **kwargs):
    return factories.SourceSessionFactory(gfid__entity=entity, **kwargs)


def ebs_session(entity, environment=Environment.PRODUCTION):
    """An EBS MSGW session whose GFID has a guaranteeing clearing firm (so it is not auto-approved)."""
    gfid = factories.GfidFactory(
        venue=factories.venue("EBS"), entity=entity, clearing_firm=factories.ClearingFirmFactory()
    )
    return factories.SourceSessionFactory(gfid=gfid, gateway_type=GatewayType.MSGW, environment=environment)


@pytest.fixture
def not_self_service_client(api_for):
    entity = factories.EntityFactory(self_service=False)
    user = factories.UserFactory(role=Role.CLIENT, entity=entity)
    return entity, user, api_for(user)


def request_body(group, session) -> dict:
    return {"group": group.pk, "source_session": session.pk}


# --- request ----------------------------------------------------------------------------------


def test_a_new_membership_is_pending_and_records_who_requested_it(
    client_api, client_user, group, session, frozen_clock
):
    response = client_api.post(MEMBERSHIPS, request_body(group, session), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["group"] == group.pk
    assert body["source_session"] == session.pk
    assert body["status"] == "pending"
    assert body["auto_approved"] is False
    assert body["target"] is None
    assert body["requested_by"] == client_user.pk
    assert body["requested_at"] == "2026-03-10T15:30:00Z"
    assert body["decided_by"] is None
    assert body["decided_at"] is None
    assert body["reason"] == ""
    stored = Membership.objects.get(pk=body["id"])
    assert stored.status == MembershipStatus.PENDING
    assert stored.requested_by == client_user


def test_account_manager_requests_any_session_for_any_group(am_api, account_manager):
    group = factories.GroupFactory()
    foreign_session = factories.SourceSessionFactory()

    response = am_api.post(MEMBERSHIPS, request_body(group, foreign_session), format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["requested_by"] == account_manager.pk


def test_a_session_of_another_venue_is_venue_mismatch(client_api, client_entity, group):
    other_venue = ebs_session(client_entity)

    body = assert_error(
        client_api.post(MEMBERSHIPS, request_body(group, other_venue), format="json"), 409, "venue_mismatch"
    )
    assert other_venue.sender_comp_id in body["detail"]
    assert not Membership.objects.exists()


def test_a_session_of_another_environment_is_environment_mismatch(client_api, client_entity, group):
    new_release = session_of(client_entity, environment=Environment.NEW_RELEASE)

    assert_error(
        client_api.post(MEMBERSHIPS, request_body(group, new_release), format="json"), 409, "environment_mismatch"
    )
    assert not Membership.objects.exists()


def test_a_session_of_the_groups_venue_and_environment_fits_whatever_its_gateway(client_api, client_entity, group):
    cgw = session_of(client_entity, gateway_type=GatewayType.CGW)
    msgw = session_of(client_entity, gateway_type=GatewayType.MSGW)

    for fitting in (cgw, msgw):
        assert client_api.post(MEMBERSHIPS, request_body(group, fitting), format="json").status_code == 201


def test_a_session_may_be_in_many_groups(client_api, client_entity, session):
    groups = [factories.GroupFactory(entity=client_entity) for _ in range(3)]

    for each in groups:
        response = client_api.post(MEMBERSHIPS, request_body(each, session), format="json")
        assert response.status_code == 201, response.json()

    assert Membership.objects.filter(source_session=session).count() == 3


def test_a_group_has_no_session_limit(client_api, client_entity, group):
    sessions = [session_of(client_entity) for _ in range(25)]

    for each in sessions:
        assert client_api.post(MEMBERSHIPS, request_body(group, each), format="json").status_code == 201

    assert Membership.objects.filter(group=group, status=MembershipStatus.PENDING).count() == 25


@pytest.mark.parametrize("target", [None, 1, "auto", {"id": 1}])
def test_naming_a_target_is_target_not_selectable(am_api, group, session, target):
    body = request_body(group, session) | {"target": target}

    assert_error(am_api.post(MEMBERSHIPS, body, format="json"), 400, "target_not_selectable")
    assert not Membership.objects.exists()


@pytest.mark.parametrize("status", [MembershipStatus.PENDING, MembershipStatus.APPROVED])
def test_a_second_live_membership_of_a_session_in_a_group_is_duplicate_membership(client_api, group, session, status):
    factories.MembershipFactory(group=group, source_session=session, status=status)

    assert_error(client_api.post(MEMBERSHIPS, request_body(group, session), format="json"), 409, "duplicate_membership")
    assert Membership.objects.count() == 1


def test_a_session_may_be_requested_again_after_withdrawal(client_api, group, session):
    first = client_api.post(MEMBERSHIPS, request_body(group, session), format="json").json()
    assert client_api.delete(membership_url(first["id"])).status_code == 200

    again = client_api.post(MEMBERSHIPS, request_body(group, session), format="json")

    assert again.status_code == 201, again.json()
    assert again.json()["id"] != first["id"]
    assert again.json()["status"] == "pending"


@pytest.mark.parametrize(
    "ended",
    [MembershipStatus.REJECTED, MembershipStatus.EXPIRED, MembershipStatus.REVOKED, MembershipStatus.REMOVED],
)
def test_a_session_may_be_requested_again_after_its_membership_ended(client_api, group, session, ended):
    factories.MembershipFactory(group=group, source_session=session, status=ended)

    assert client_api.post(MEMBERSHIPS, request_body(group, session), format="json").status_code == 201


def test_adding_a_session_to_a_closed_group_is_group_closed(am_api, client_entity, session):
    closed = factories.GroupFactory(
        entity=client_entity, status=GroupStatus.CLOSED, closed_at=clock.now() + dt.timedelta(seconds=1)
    )

    assert_error(am_api.post(MEMBERSHIPS, request_body(closed, session), format="json"), 409, "group_closed")


def test_client_requests_only_sessions_its_entity_may_read(client_api, group):
    foreign = factories.SourceSessionFactory()

    body = assert_error(client_api.post(MEMBERSHIPS, request_body(group, foreign), format="json"), 400, "invalid")
    assert "source_session" in body["errors"]
    missing = client_api.post(MEMBERSHIPS, {"group": group.pk, "source_session": foreign.pk + 10_000}, format="json")
    assert missing.json()["errors"]["source_session"] == [
        message.replace(str(foreign.pk), str(foreign.pk + 10_000)) for message in body["errors"]["source_session"]
    ]


def test_a_clearing_firm_entity_requests_the_sessions_it_guarantees(api_for, clearing_firm):
    firm_entity = factories.EntityFactory(clearing_firm=clearing_firm)
    user = factories.UserFactory(role=Role.CLIENT, entity=firm_entity)
    guaranteed = factories.SourceSessionFactory(gfid__clearing_firm=clearing_firm)
    group = factories.GroupFactory(entity=firm_entity)

    response = api_for(user).post(MEMBERSHIPS, request_body(group, guaranteed), format="json")

    assert response.status_code == 201, response.json()


def test_client_cannot_request_for_another_entitys_group(client_api, session):
    foreign_group = factories.GroupFactory()

    body = assert_error(
        client_api.post(MEMBERSHIPS, request_body(foreign_group, session), format="json"), 400, "invalid"
    )
    assert "group" in body["errors"]


def test_client_without_self_service_cannot_request_for_a_cme_group(not_self_service_client):
    entity, _, api = not_self_service_client
    group = factories.GroupFactory(entity=entity)

    assert_error(
        api.post(MEMBERSHIPS, request_body(group, session_of(entity)), format="json"), 403, "permission_denied"
    )
    assert not Membership.objects.exists()


def test_client_without_self_service_requests_for_an_ebs_group(not_self_service_client):
    entity, _, api = not_self_service_client
    group = factories.GroupFactory(entity=entity, venue=factories.venue("EBS"))

    response = api.post(MEMBERSHIPS, request_body(group, ebs_session(entity)), format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "pending"


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["group", "source_session"])
@pytest.mark.parametrize("value", [None, True, False, "abc", "", [1], {"id": 1}, 1.5, 10**30, -1])
def test_bad_ids_are_invalid(am_api, group, session, field, value):
    body = request_body(group, session)
    body[field] = value

    error = assert_error(am_api.post(MEMBERSHIPS, body, format="json"), 400, "invalid")
    assert field in error["errors"]
    assert not Membership.objects.exists()


@pytest.mark.parametrize("field", ["group", "source_session"])
def test_missing_fields_are_invalid(am_api, group, session, field):
    body = request_body(group, session)
    del body[field]

    error = assert_error(am_api.post(MEMBERSHIPS, body, format="json"), 400, "invalid")
    assert field in error["errors"]


@pytest.mark.parametrize("body", [[], [{"group": 1}], "x", 7, None])
def test_a_body_that_is_not_an_object_is_invalid(am_api, body):
    assert_error(am_api.post(MEMBERSHIPS, body, format="json"), 400, "invalid")


def test_malformed_json_is_invalid(am_api):
    assert_error(am_api.post(MEMBERSHIPS, "{", content_type="application/json"), 400, "invalid")


def test_read_only_fields_in_the_body_are_ignored(client_api, group, session, account_manager):
    body = request_body(group, session) | {
        "status": "approved",
        "auto_approved": True,
        "requested_by": account_manager.pk,
        "decided_by": account_manager.pk,
        "reason": "trust me",
    }

    response = client_api.post(MEMBERSHIPS, body, format="json")

    assert response.status_code == 201, response.json()
    stored = Membership.objects.get()
    assert stored.status == MembershipStatus.PENDING
    assert stored.auto_approved is False
    assert stored.decided_by is None
    assert stored.reason == ""


# --- DELETE: withdraw or remove ---------------------------------------------------------------


def test_deleting_a_pending_membership_withdraws_it(client_api, group, session, frozen_clock):
    membership = factories.MembershipFactory(group=group, source_session=session)

    response = client_api.delete(membership_url(membership))

    assert response.status_code == 200, response.json()
    assert response.json()["id"] == membership.pk
    assert response.json()["status"] == "withdrawn"
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.WITHDRAWN
    assert membership.ended_at == NOW


def test_deleting_an_approved_membership_removes_it(client_api, group, session):
    membership = factories.MembershipFactory(group=group, source_session=session, status=MembershipStatus.APPROVED)

    response = client_api.delete(membership_url(membership))

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "removed"
    assert response.json()["target"] is None
    assert Membership.objects.get(pk=membership.pk).status == MembershipStatus.REMOVED


@pytest.mark.parametrize(
    "ended",
    [
        MembershipStatus.WITHDRAWN,
        MembershipStatus.REJECTED,
        MembershipStatus.EXPIRED,
        MembershipStatus.REVOKED,
        MembershipStatus.REMOVED,
    ],
)
def test_deleting_an_ended_membership_is_invalid_transition(client_api, group, session, ended):
    membership = factories.MembershipFactory(group=group, source_session=session, status=ended)

    assert_error(client_api.delete(membership_url(membership)), 409, "invalid_transition")
    assert Membership.objects.get(pk=membership.pk).status == ended


def test_deleting_twice_is_invalid_transition(client_api, group, session):
    membership = factories.MembershipFactory(group=group, source_session=session)
    client_api.delete(membership_url(membership))

    assert_error(client_api.delete(membership_url(membership)), 409, "invalid_transition")


def test_memberships_are_kept_after_they_end(am_api, group, session):
    membership = factories.MembershipFactory(group=group, source_session=session)
    am_api.delete(membership_url(membership))

    response = am_api.get(membership_url(membership))

    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"


def test_client_without_self_service_cannot_withdraw_from_a_cme_group(not_self_service_client):
    entity, _, api = not_self_service_client
    membership = factories.MembershipFactory(group=factories.GroupFactory(entity=entity))

    assert_error(api.delete(membership_url(membership)), 403, "permission_denied")
    assert Membership.objects.get(pk=membership.pk).status == MembershipStatus.PENDING


# --- who sees what ----------------------------------------------------------------------------


def test_client_sees_only_its_groups_memberships(client_api, group, session):
    own = factories.MembershipFactory(group=group, source_session=session)
    foreign = factories.MembershipFactory()

    listing = client_api.get(MEMBERSHIPS).json()

    assert [m["id"] for m in listing["results"]] == [own.pk]
    assert_error(client_api.get(membership_url(foreign)), 404, "not_found")
    assert_error(client_api.delete(membership_url(foreign)), 404, "not_found")
    assert Membership.objects.get(pk=foreign.pk).status == MembershipStatus.PENDING


def test_clearing_firm_reads_the_memberships_on_its_sessions(clearing_api, clearing_firm):
    on_firm_session = factories.MembershipFactory(source_session__gfid__clearing_firm=clearing_firm)
    factories.MembershipFactory()

    listing = clearing_api.get(MEMBERSHIPS).json()

    assert [m["id"] for m in listing["results"]] == [on_firm_session.pk]
    assert clearing_api.get(membership_url(on_firm_session)).status_code == 200


def test_unknown_membership_is_not_found(am_api):
    assert_error(am_api.get(membership_url(999_999)), 404, "not_found")
    assert_error(am_api.delete(membership_url(999_999)), 404, "not_found")


def test_memberships_cannot_be_edited(am_api, group, session):
    membership = factories.MembershipFactory(group=group, source_session=session)

    assert_error(
        am_api.patch(membership_url(membership), {"status": "approved"}, format="json"), 405, "method_not_allowed"
    )
    assert_error(am_api.put(membership_url(membership), {}, format="json"), 405, "method_not_allowed")


def test_list_filters_by_status_and_group(am_api, client_entity, group, session):
    pending = factories.MembershipFactory(group=group, source_session=session)
    other_group = factories.GroupFactory(entity=client_entity)
    approved = factories.MembershipFactory(group=other_group, source_session=session, status=MembershipStatus.APPROVED)

    assert [m["id"] for m in am_api.get(f"{MEMBERSHIPS}?status=pending").json()["results"]] == [pending.pk]
    assert [m["id"] for m in am_api.get(f"{MEMBERSHIPS}?group={other_group.pk}").json()["results"]] == [approved.pk]
    assert am_api.get(f"{MEMBERSHIPS}?source_session={session.pk}").json()["count"] == 2


@pytest.mark.parametrize("query", ["status=open", "group=abc", "source_session=x", "auto_approved=maybe", "page=-1"])
def test_malformed_filters_are_invalid(am_api, query):
    assert_error(am_api.get(f"{MEMBERSHIPS}?{query}"), 400, "invalid")


def test_filtering_by_an_invisible_group_reads_like_a_missing_one(client_api):
    foreign = factories.GroupFactory()

    invisible = assert_error(client_api.get(f"{MEMBERSHIPS}?group={foreign.pk}"), 400, "invalid")
    missing = assert_error(client_api.get(f"{MEMBERSHIPS}?group={foreign.pk + 1000}"), 400, "invalid")
    assert invisible["errors"].keys() == missing["errors"].keys() == {"group"}


def _list_queries(api) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = api.get(MEMBERSHIPS)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("user_fixture", ["am_api", "client_api", "clearing_api"])
def test_membership_list_costs_the_same_queries_for_one_and_fifty(request, user_fixture, group, clearing_firm):
    api = request.getfixturevalue(user_fixture)
    session = factories.SourceSessionFactory(gfid__entity=group.entity, gfid__clearing_firm=clearing_firm)
    factories.MembershipFactory(group=group, source_session=session, status=MembershipStatus.APPROVED)
    one = _list_queries(api)

    for _ in range(49):
        factories.MembershipFactory(group=group, source_session__gfid=session.gfid)
    fifty = _list_queries(api)

    assert api.get(MEMBERSHIPS).json()["count"] == 50
    assert fifty == one


# --- audit ------------------------------------------------------------------------------------


def test_requesting_and_withdrawing_are_audited(client_api, client_user, group, session, frozen_clock):
    created = client_api.post(
        MEMBERSHIPS, request_body(group, session), format="json", HTTP_X_REQUEST_ID="req-1"
    ).json()
    client_api.delete(membership_url(created["id"]), HTTP_X_REQUEST_ID="req-2")

    events = list(AuditEvent.objects.filter(object_type="membership", object_id=created["id"]).order_by("id"))
    assert [(e.action, e.actor, e.request_id, e.at) for e in events] == [
        ("request", client_user.username, "req-1", NOW),
        ("withdraw", client_user.username, "req-2", NOW),
    ]
    request_event, withdraw_event = events
    assert request_event.before is None
    assert request_event.after["status"] == "pending"
    assert request_event.after["requested_by_id"] == client_user.pk
    assert withdraw_event.before["status"] == "pending"
    assert withdraw_event.after["status"] == "withdrawn"


def test_removing_is_audited(am_api, account_manager, group, session):
    membership = factories.MembershipFactory(group=group, source_session=session, status=MembershipStatus.APPROVED)

    am_api.delete(membership_url(membership))

    event = AuditEvent.objects.get(object_type="membership", object_id=membership.pk)
    assert (event.action, event.actor) == ("remove", account_manager.username)
    assert event.before["status"] == "approved" and event.after["status"] == "removed"


def test_refused_requests_record_nothing(client_api, client_entity, group, session):
    factories.MembershipFactory(group=group, source_session=session)
    client_api.post(MEMBERSHIPS, request_body(group, session), format="json")
    client_api.post(MEMBERSHIPS, request_body(group, ebs_session(client_entity)), format="json")

    assert not AuditEvent.objects.exists()


def test_account_manager_requests_and_withdraws_for_an_entity_without_self_service(am_api):
    entity = factories.EntityFactory(self_service=False)
    group = factories.GroupFactory(entity=entity)

    created = am_api.post(MEMBERSHIPS, request_body(group, session_of(entity)), format="json")
    assert created.status_code == 201, created.json()

    withdrawn = am_api.delete(membership_url(created.json()["id"]))
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"

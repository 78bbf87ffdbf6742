"""audit/ (R18): every write leaves one row in its own transaction; the trail is read per role."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dropcopy_admin import clock
from dropcopy_admin.choices import Environment, MembershipStatus, Role
from dropcopy_admin.models import AuditEvent, DropCopyGroup, FrontEndSystem, Membership
from dropcopy_admin.services import front_end_systems, groups
from dropcopy_admin.services.audit import SystemActor, audit_record, snapshot
from entitlements.services import memberships as entitlement_services
from tests import factories
from tests.support import assert_error

pytestmark = pytest.mark.django_db

AUDIT = "/api/v1/audit/"
NOW = dt.datetime(2026, 3, 10, 15, 30, tzinfo=dt.UTC)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [event["id"] for event in response.json()["results"]]


@pytest.fixture
def frozen_clock():
    clock.freeze(NOW)
    return NOW


@pytest.fixture
def client_group(client_entity):
    return factories.GroupFactory(entity=client_entity, name="Mine", environment=Environment.NEW_RELEASE)


def record(instance, *, actor, action="update", at=None):
    """Write one audit row for ``instance`` at the clock's time (or ``at``)."""
    if at is not None:
        clock.freeze(at)
    return audit_record(actor=actor, action=action, instance=instance)


# --- the row ----------------------------------------------------------------------------------


def test_an_audit_row_has_the_contract_shape(am_api, account_manager, client_entity, frozen_clock):
    fes = factories.FrontEndSystemFactory(entity=client_entity)
    created = am_api.post(
        "/api/v1/groups/",
        {
            "entity": client_entity.pk,
            "name": "Main",
            "venue": "CME",
            "environment": "NEW_RELEASE",
            "front_end_system": fes.pk,
        },
        format="json",
        HTTP_X_REQUEST_ID="shape-1",
    ).json()

    results = am_api.get(AUDIT).json()["results"]

    assert len(results) == 1
    event = results[0]
    assert set(event) >= {"actor", "action", "object_type", "object_id", "before", "after", "request_id", "at"}
    assert event["actor"] == account_manager.username
    assert event["action"] == "create"
    assert event["object_type"] == "group"
    assert event["object_id"] == created["id"]
    assert event["before"] is None
    assert event["after"]["name"] == "Main"
    assert event["after"]["opened_at"] == "2026-03-10T15:30:00Z"
    assert event["request_id"] == "shape-1"
    assert event["at"] == "2026-03-10T15:30:00Z"


def test_the_trail_is_newest_first(am_api, client_group):
    first = record(client_group, actor=SystemActor("a"), at=NOW)
    third = record(client_group, actor=SystemActor("c"), at=NOW + dt.timedelta(hours=1))
    second = record(client_group, actor=SystemActor("b"), at=NOW)

    assert ids(am_api.get(AUDIT)) == [third.pk, second.pk, first.pk]


def test_filters_by_object_type_object_id_and_actor(am_api, account_manager, client_group):
    other_group = factories.GroupFactory()
    fes = client_group.front_end_system
    on_group = record(client_group, actor=account_manager)
    on_other_group = record(other_group, actor=SystemActor("expire_requests"))
    on_fes = record(fes, actor=account_manager)

    assert ids(am_api.get(f"{AUDIT}?object_type=group")) == [on_other_group.pk, on_group.pk]
    assert ids(am_api.get(f"{AUDIT}?object_type=frontendsystem")) == [on_fes.pk]
    assert ids(am_api.get(f"{AUDIT}?object_type=group&object_id={client_group.pk}")) == [on_group.pk]
    assert ids(am_api.get(f"{AUDIT}?actor={account_manager.username}")) == [on_fes.pk, on_group.pk]
    assert ids(am_api.get(f"{AUDIT}?actor=system:expire_requests")) == [on_other_group.pk]
    assert ids(am_api.get(f"{AUDIT}?actor=nobody")) == []


@pytest.mark.parametrize("query", ["object_id=abc", "object_id=1.5", f"object_id={10**30}", "page=0", "page_size=-3"])
def test_malformed_filters_are_invalid(am_api, query):
    assert_error(am_api.get(f"{AUDIT}?{query}"), 400, "invalid")


def test_filters_with_a_nul_byte_are_refused_without_an_error(am_api):
    for query in ("actor=%00", "object_type=gr%00oup"):
        response = am_api.get(f"{AUDIT}?{query}")
        assert response.status_code in (200, 400), response.content
        if response.status_code == 400:
            assert response.json()["code"] == "invalid"


def test_the_trail_is_read_only(am_api, client_group):
    event = record(client_group, actor=SystemActor("x"))

    assert_error(am_api.post(AUDIT, {}, format="json"), 405, "method_not_allowed")
    assert_error(am_api.delete(f"{AUDIT}{event.pk}/"), 405, "method_not_allowed")
    assert_error(am_api.patch(f"{AUDIT}{event.pk}/", {}, format="json"), 405, "method_not_allowed")


def test_system_work_is_recorded_as_system_task(client_group):
    event = record(client_group, actor=SystemActor("expire_requests"))

    assert event.actor == "system:expire_requests"
    assert event.actor_user is None


def test_secrets_never_reach_the_trail(am_api, client_entity):
    response = am_api.post(
        "/api/v1/users/",
        {"username": "newclient", "password": "a-Long-s3cret-pw!", "role": "client", "entity": client_entity.pk},
        format="json",
    )
    assert response.status_code == 201, response.json()

    event = AuditEvent.objects.get(object_type="user", object_id=response.json()["id"])
    assert "password" not in event.after
    assert "a-Long-s3cret-pw!" not in str(event.after)
    assert "a-Long-s3cret-pw!" not in am_api.get(AUDIT).content.decode()


# --- same transaction -------------------------------------------------------------------------


class _AuditFailed(Exception):
    pass


def _failing_audit(**kwargs):
    raise _AuditFailed


def test_a_group_is_not_created_when_its_audit_row_cannot_be_written(monkeypatch, account_manager, client_entity):
    monkeypatch.setattr(groups, "audit_record", _failing_audit)
    fes = factories.FrontEndSystemFactory(entity=client_entity)

    with pytest.raises(_AuditFailed):
        groups.group_create(
            actor=account_manager,
            entity=client_entity,
            name="Main",
            venue=factories.venue("CME"),
            environment=Environment.NEW_RELEASE,
            front_end_system=fes,
        )

    assert not DropCopyGroup.objects.exists()


def test_a_group_stays_open_when_its_close_cannot_be_audited(monkeypatch, account_manager, client_group):
    membership = factories.MembershipFactory(
        group=client_group, status=MembershipStatus.APPROVED, source_session__environment=Environment.NEW_RELEASE
    )
    monkeypatch.setattr(groups, "audit_record", _failing_audit)

    with pytest.raises(_AuditFailed):
        groups.group_close(actor=account_manager, group=client_group)

    client_group.refresh_from_db()
    assert client_group.is_open
    assert Membership.objects.get(pk=membership.pk).status == MembershipStatus.APPROVED


def test_a_membership_is_not_requested_when_its_audit_row_cannot_be_written(monkeypatch, account_manager):
    membership_group = factories.GroupFactory()
    session = factories.SourceSessionFactory(gfid__entity=membership_group.entity)
    monkeypatch.setattr(entitlement_services, "audit_record_created", _failing_audit)

    with pytest.raises(_AuditFailed):
        entitlement_services.membership_request(actor=account_manager, group=membership_group, source_session=session)

    assert not Membership.objects.exists()


def test_a_front_end_system_is_not_created_when_its_audit_row_cannot_be_written(monkeypatch, account_manager):
    monkeypatch.setattr(front_end_systems, "audit_record", _failing_audit)

    with pytest.raises(_AuditFailed):
        front_end_systems.front_end_system_create(
            actor=account_manager, entity=None, name="Desk", version="1", vendor="V"
        )

    assert not FrontEndSystem.objects.exists()


def test_snapshot_leaves_out_a_models_secrets(account_manager):
    data = snapshot(account_manager)

    assert "password" not in data
    assert data["username"] == account_manager.username


# --- who reads what ---------------------------------------------------------------------------


def test_client_reads_the_trail_of_what_it_can_read(client_api, client_entity, client_group):
    own_membership = factories.MembershipFactory(
        group=client_group, source_session__environment=Environment.NEW_RELEASE
    )
    vendor = factories.FrontEndSystemFactory(entity=None)
    foreign_group = factories.GroupFactory()
    foreign_fes = factories.FrontEndSystemFactory()
    actor = SystemActor("test")
    visible = [
        record(client_entity, actor=actor),
        record(client_group, actor=actor),
        record(own_membership, actor=actor),
        record(vendor, actor=actor),
        record(client_group.front_end_system, actor=actor),
    ]
    hidden = [
        record(foreign_group, actor=actor),
        record(foreign_fes, actor=actor),
        record(foreign_group.entity, actor=actor),
        record(factories.MembershipFactory(), actor=actor),
    ]

    assert sorted(ids(client_api.get(AUDIT))) == sorted(event.pk for event in visible)
    assert_error(client_api.get(f"{AUDIT}{hidden[0].pk}/"), 404, "not_found")
    assert client_api.get(f"{AUDIT}{visible[1].pk}/").status_code == 200


def test_client_does_not_read_the_trail_of_users(client_api, client_user, account_manager):
    record(client_user, actor=account_manager)

    assert ids(client_api.get(AUDIT)) == []


def test_an_object_of_another_type_with_the_same_id_stays_hidden(client_api, client_group):
    hidden = AuditEvent.objects.create(
        actor="system:test", action="update", object_type="membership", object_id=client_group.pk, at=clock.now()
    )
    shown = record(client_group, actor=SystemActor("test"))

    assert ids(client_api.get(AUDIT)) == [shown.pk]
    assert hidden.pk != shown.pk


def test_clearing_firm_reads_its_own_trail(clearing_api, clearing_user, clearing_firm):
    firm_session = factories.SourceSessionFactory(gfid__clearing_firm=clearing_firm)
    membership = factories.MembershipFactory(source_session=firm_session)
    actor = SystemActor("test")
    visible = [
        record(clearing_firm, actor=actor),
        record(firm_session, actor=actor),
        record(membership, actor=actor),
        record(membership.group, actor=actor),
    ]
    record(factories.MembershipFactory(), actor=actor)
    record(factories.ClearingFirmFactory(), actor=actor)

    assert sorted(ids(clearing_api.get(AUDIT))) == sorted(event.pk for event in visible)


def test_finance_reads_the_billing_trail_only(finance_api, am_api, client_group, client_entity):
    am_api.patch(f"/api/v1/groups/{client_group.pk}/", {"name": "Renamed"}, format="json")
    record(client_entity, actor=SystemActor("test"))

    assert finance_api.get(AUDIT).json() == {"count": 0, "next": None, "previous": None, "results": []}

    billing = AuditEvent.objects.create(
        actor="system:billing", action="close", object_type="billingrun", object_id=1, at=clock.now()
    )
    assert ids(finance_api.get(AUDIT)) == [billing.pk]


def test_account_manager_reads_the_whole_trail(am_api, client_group):
    events = [record(client_group, actor=SystemActor("a")), record(factories.GroupFactory(), actor=SystemActor("b"))]

    assert sorted(ids(am_api.get(AUDIT))) == sorted(event.pk for event in events)


def test_unauthenticated_trail_is_refused(client):
    response = client.get(AUDIT)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


# --- list cost --------------------------------------------------------------------------------


def _list_queries(api) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = api.get(AUDIT)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("user_fixture", ["am_api", "client_api", "clearing_api", "finance_api"])
def test_trail_list_costs_the_same_queries_for_one_and_fifty(request, user_fixture, client_entity, clearing_firm):
    api = request.getfixturevalue(user_fixture)
    session = factories.SourceSessionFactory(gfid__entity=client_entity, gfid__clearing_firm=clearing_firm)
    membership = factories.MembershipFactory(group__entity=client_entity, source_session=session)

    def write(n):
        for _ in range(n):
            if user_fixture == "finance_api":
                AuditEvent.objects.create(
                    actor="system:billing", action="compute", object_type="billingrun", object_id=1, at=clock.now()
                )
            else:
                record(membership, actor=SystemActor("test"))

    write(1)
    one = _list_queries(api)
    write(49)
    fifty = _list_queries(api)

    assert api.get(AUDIT).json()["count"] == 50
    assert fifty == one


# --- every write of the API is audited --------------------------------------------------------


def test_every_api_write_of_groups_memberships_and_systems_leaves_one_row(
    client_api, client_user, client_entity, frozen_clock
):
    session = factories.SourceSessionFactory(gfid__entity=client_entity, environment=Environment.NEW_RELEASE)
    headers = {"HTTP_X_REQUEST_ID": "flow-1"}
    fes = client_api.post(
        "/api/v1/front-end-systems/", {"name": "Desk", "version": "1", "vendor": "V"}, format="json", **headers
    ).json()
    group = client_api.post(
        "/api/v1/groups/",
        {"name": "G", "venue": "CME", "environment": "NEW_RELEASE", "front_end_system": fes["id"]},
        format="json",
        **headers,
    ).json()
    client_api.patch(f"/api/v1/groups/{group['id']}/", {"message_filters": ["acks"]}, format="json", **headers)
    membership = client_api.post(
        "/api/v1/memberships/", {"group": group["id"], "source_session": session.pk}, format="json", **headers
    ).json()
    client_api.post(f"/api/v1/groups/{group['id']}/close/", format="json", **headers)

    trail = client_api.get(f"{AUDIT}?actor={client_user.username}").json()["results"]
    assert [(e["object_type"], e["object_id"], e["action"]) for e in reversed(trail)] == [
        ("frontendsystem", fes["id"], "create"),
        ("group", group["id"], "create"),
        ("group", group["id"], "update"),
        ("membership", membership["id"], "request"),
        ("group", group["id"], "close"),
        ("membership", membership["id"], "end_on_group_close"),
    ]
    assert {e["request_id"] for e in trail} == {"flow-1"}
    assert trail[0]["before"]["status"] == "pending" and trail[0]["after"]["status"] == "withdrawn"


def test_the_trail_of_a_user_lists_the_same_role_views(client_api, am_api, client_group):
    role_user = factories.UserFactory(role=Role.CLIENT, entity=client_group.entity)
    record(client_group, actor=role_user)

    assert ids(client_api.get(f"{AUDIT}?actor={role_user.username}")) == ids(
        am_api.get(f"{AUDIT}?actor={role_user.username}")
    )

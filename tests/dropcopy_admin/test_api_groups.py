"""groups/: create, edit, close (R2–R4, R3a), per-role visibility, bad input, list cost."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dropcopy_admin import clock
from dropcopy_admin.choices import Environment, GroupStatus, MembershipStatus, MessageFilter, Role
from dropcopy_admin.models import AuditEvent, DropCopyGroup, Membership
from tests import factories
from tests.support import assert_error

pytestmark = pytest.mark.django_db

GROUPS = "/api/v1/groups/"
NOW = dt.datetime(2026, 3, 10, 15, 30, tzinfo=dt.UTC)


def group_url(group) -> str:
    return f"{GROUPS}{group.pk if hasattr(group, 'pk') else group}/"


def close_url(group) -> str:
    return f"{group_url(group)}close/"


@pytest.fixture
def frozen_clock():
    clock.freeze(NOW)
    return NOW


@pytest.fixture
def client_fes(client_entity):
    return factories.FrontEndSystemFactory(entity=client_entity, name="Desk", version="1.0", vendor="ACME")


@pytest.fixture
def payload(client_fes):
    """A valid creation body for the client's entity (NEW_RELEASE: no fee or certification involved)."""

    def make(**overrides):
        body = {
            "name": "Main",
            "venue": "CME",
            "environment": Environment.NEW_RELEASE,
            "front_end_system": client_fes.pk,
        }
        body.update(overrides)
        return {key: value for key, value in body.items() if value is not _OMIT}

    return make


_OMIT = object()


@pytest.fixture
def client_group(client_entity, client_fes):
    return factories.GroupFactory(
        entity=client_entity,
        name="Existing",
        environment=Environment.NEW_RELEASE,
        front_end_system=client_fes,
        opened_at=NOW - dt.timedelta(days=30),
    )


@pytest.fixture
def not_self_service_client(api_for):
    entity = factories.EntityFactory(self_service=False)
    user = factories.UserFactory(role=Role.CLIENT, entity=entity)
    return entity, user, api_for(user)


# --- create ---------------------------------------------------------------------------------


def test_client_creates_a_group_for_its_entity(client_api, client_entity, client_fes, payload, frozen_clock):
    response = client_api.post(GROUPS, payload(), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["entity"] == client_entity.pk
    assert body["name"] == "Main"
    assert body["venue"] == "CME"
    assert body["environment"] == "NEW_RELEASE"
    assert body["front_end_system"] == client_fes.pk
    assert body["status"] == "active"
    assert body["opened_at"] == "2026-03-10T15:30:00Z"
    assert body["closed_at"] is None
    assert "confirmed_monthly_fee" not in body
    assert DropCopyGroup.objects.filter(pk=body["id"], entity=client_entity).exists()


def test_account_manager_creates_a_group_for_any_entity(am_api, payload):
    entity = factories.EntityFactory(self_service=False)
    fes = factories.FrontEndSystemFactory(entity=entity)

    response = am_api.post(GROUPS, payload(entity=entity.pk, front_end_system=fes.pk), format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["entity"] == entity.pk


def test_account_manager_must_name_the_entity(am_api, payload):
    body = assert_error(am_api.post(GROUPS, payload(), format="json"), 400, "invalid")
    assert "entity" in body["errors"]


def test_group_may_use_a_vendor_front_end_system(client_api, payload):
    vendor = factories.FrontEndSystemFactory(entity=None, name="Vendor", vendor="VEND")

    response = client_api.post(GROUPS, payload(front_end_system=vendor.pk), format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["front_end_system"] == vendor.pk


def test_account_manager_cannot_give_a_group_another_entitys_front_end_system(am_api, client_entity, payload):
    foreign = factories.FrontEndSystemFactory()

    body = assert_error(
        am_api.post(GROUPS, payload(entity=client_entity.pk, front_end_system=foreign.pk), format="json"),
        400,
        "invalid",
    )
    assert "front_end_system" in body["errors"]


def test_client_cannot_use_a_front_end_system_it_cannot_see(client_api, payload):
    foreign = factories.FrontEndSystemFactory()

    body = assert_error(client_api.post(GROUPS, payload(front_end_system=foreign.pk), format="json"), 400, "invalid")
    assert "front_end_system" in body["errors"]


def test_invisible_and_missing_front_end_system_ids_are_refused_alike(client_api, payload):
    foreign = factories.FrontEndSystemFactory()
    invisible = client_api.post(GROUPS, payload(front_end_system=foreign.pk), format="json").json()
    missing = client_api.post(GROUPS, payload(front_end_system=foreign.pk + 10_000), format="json").json()

    assert invisible["errors"]["front_end_system"] == [
        message.replace(str(foreign.pk + 10_000), str(foreign.pk)) for message in missing["errors"]["front_end_system"]
    ]


def test_client_cannot_create_a_group_for_another_entity(client_api, payload):
    other = factories.EntityFactory()

    body = assert_error(client_api.post(GROUPS, payload(entity=other.pk), format="json"), 400, "invalid")
    assert "entity" in body["errors"]
    assert not DropCopyGroup.objects.filter(entity=other).exists()


def test_client_without_self_service_cannot_create_a_cme_group(not_self_service_client):
    entity, _, api = not_self_service_client
    fes = factories.FrontEndSystemFactory(entity=entity)

    assert_error(
        api.post(
            GROUPS,
            {"name": "Main", "venue": "CME", "environment": "NEW_RELEASE", "front_end_system": fes.pk},
            format="json",
        ),
        403,
        "permission_denied",
    )
    assert not DropCopyGroup.objects.exists()


@pytest.mark.parametrize("venue", ["BROKERTEC", "EBS"])
def test_brokertec_and_ebs_groups_are_self_service_for_every_client(not_self_service_client, venue):
    entity, _, api = not_self_service_client
    fes = factories.FrontEndSystemFactory(entity=entity)

    response = api.post(
        GROUPS,
        {"name": "Main", "venue": venue, "environment": "NEW_RELEASE", "front_end_system": fes.pk},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["venue"] == venue


@pytest.mark.parametrize("user_fixture", ["clearing_api", "finance_api"])
def test_clearing_firm_and_finance_users_cannot_create_groups(request, user_fixture, client_entity, payload):
    api = request.getfixturevalue(user_fixture)

    assert_error(api.post(GROUPS, payload(entity=client_entity.pk), format="json"), 403, "permission_denied")
    assert_error(api.post(GROUPS, {}, format="json"), 403, "permission_denied")
    assert not DropCopyGroup.objects.exists()


def test_message_filters_default_to_all(client_api, payload):
    response = client_api.post(GROUPS, payload(), format="json")

    assert response.json()["message_filters"] == list(MessageFilter.values)


def test_fills_and_trade_busts_are_always_added_and_echoed(client_api, payload):
    response = client_api.post(GROUPS, payload(message_filters=["acks", "rejects"]), format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["message_filters"] == ["acks", "fills", "trade_busts", "rejects"]
    assert DropCopyGroup.objects.get().message_filters == ["acks", "fills", "trade_busts", "rejects"]


def test_an_empty_filter_list_keeps_the_mandatory_filters(client_api, payload):
    response = client_api.post(GROUPS, payload(message_filters=[]), format="json")

    assert response.json()["message_filters"] == ["fills", "trade_busts"]


def test_repeated_filters_are_stored_once(client_api, payload):
    response = client_api.post(GROUPS, payload(message_filters=["acks", "acks", "fills"]), format="json")

    assert response.json()["message_filters"] == ["acks", "fills", "trade_busts"]


def test_unknown_message_filter_is_invalid(client_api, payload):
    body = assert_error(
        client_api.post(GROUPS, payload(message_filters=["fills", "orders"]), format="json"), 400, "invalid"
    )
    assert "message_filters" in body["errors"]


def test_account_manager_may_backdate_opened_at(am_api, client_entity, payload, frozen_clock):
    response = am_api.post(
        GROUPS,
        payload(entity=client_entity.pk, opened_at="2026-01-05T08:00:00-06:00"),
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["opened_at"] == "2026-01-05T14:00:00Z"
    assert DropCopyGroup.objects.get().opened_at == dt.datetime(2026, 1, 5, 14, tzinfo=dt.UTC)


def test_opened_at_in_the_future_is_invalid(am_api, client_entity, payload, frozen_clock):
    body = assert_error(
        am_api.post(GROUPS, payload(entity=client_entity.pk, opened_at="2026-03-10T15:31:00Z"), format="json"),
        400,
        "invalid",
    )
    assert "opened_at" in body["errors"]


def test_naive_opened_at_is_invalid(am_api, client_entity, payload, frozen_clock):
    body = assert_error(
        am_api.post(GROUPS, payload(entity=client_entity.pk, opened_at="2026-01-05T08:00:00"), format="json"),
        400,
        "invalid",
    )
    assert "opened_at" in body["errors"]


def test_only_account_managers_send_opened_at(client_api, payload, frozen_clock):
    assert_error(
        client_api.post(GROUPS, payload(opened_at="2026-01-05T08:00:00Z"), format="json"),
        403,
        "permission_denied",
    )
    assert not DropCopyGroup.objects.exists()


# --- R3: names --------------------------------------------------------------------------------


def test_open_group_names_are_unique_per_entity_ignoring_case(client_api, client_group, payload):
    body = assert_error(client_api.post(GROUPS, payload(name="existing"), format="json"), 409, "already_exists")
    assert "existing" in body["detail"].lower()
    assert DropCopyGroup.objects.count() == 1


def test_surrounding_spaces_do_not_make_a_name_new(client_api, client_group, payload):
    assert_error(client_api.post(GROUPS, payload(name="  EXISTING "), format="json"), 409, "already_exists")


def test_a_closed_groups_name_may_be_used_again(client_api, client_group, payload):
    assert client_api.post(close_url(client_group), {}, format="json").status_code == 200

    response = client_api.post(GROUPS, payload(name="Existing"), format="json")

    assert response.status_code == 201, response.json()


def test_another_entity_may_use_the_same_name(am_api, client_group, payload):
    other = factories.EntityFactory()
    fes = factories.FrontEndSystemFactory(entity=other)

    response = am_api.post(GROUPS, payload(name="Existing", entity=other.pk, front_end_system=fes.pk), format="json")

    assert response.status_code == 201, response.json()


def test_the_same_name_in_another_venue_of_the_entity_is_taken(client_api, client_group, payload):
    assert_error(client_api.post(GROUPS, payload(name="Existing", venue="EBS"), format="json"), 409, "already_exists")


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "x" * 101),
        ("name", ""),
        ("name", "   "),
        ("name", None),
        ("name", ["Main"]),
        ("name", {"a": 1}),
        ("name", "Main\x00"),
        ("name", "Line\nbreak"),
        ("environment", "PROD"),
        ("environment", None),
        ("environment", 1),
        ("front_end_system", "abc"),
        ("front_end_system", True),
        ("front_end_system", None),
        ("front_end_system", [1]),
        ("front_end_system", {"id": 1}),
        ("front_end_system", 10**30),
        ("entity", True),
        ("entity", "x"),
        ("entity", None),
        ("message_filters", "fills"),
        ("message_filters", None),
        ("message_filters", {"fills": True}),
        ("message_filters", [1, 2]),
        ("message_filters", [None]),
        ("message_filters", ["fills"] * 100),
        ("opened_at", "yesterday"),
        ("opened_at", 12345),
        ("opened_at", None),
        ("opened_at", ["2026-01-01T00:00:00Z"]),
        ("venue", None),
    ],
)
def test_bad_field_values_are_invalid(am_api, client_entity, payload, field, value, frozen_clock):
    body = payload(entity=client_entity.pk)
    body[field] = value

    error = assert_error(am_api.post(GROUPS, body, format="json"), 400, "invalid")
    assert field in error["errors"]
    assert not DropCopyGroup.objects.exists()


@pytest.mark.parametrize("field", ["name", "venue", "environment", "front_end_system"])
def test_missing_required_fields_are_invalid(client_api, payload, field):
    body = payload()
    del body[field]

    error = assert_error(client_api.post(GROUPS, body, format="json"), 400, "invalid")
    assert field in error["errors"]


@pytest.mark.parametrize("venue", ["EBS_DIRECT", "NYMEX", "", "cme", 7, ["CME"], {"code": "CME"}])
def test_unknown_venue_is_venue_not_supported(client_api, payload, venue):
    assert_error(client_api.post(GROUPS, payload(venue=venue), format="json"), 400, "venue_not_supported")


def test_unknown_venue_is_reported_before_other_fields(client_api):
    assert_error(
        client_api.post(GROUPS, {"venue": "EBS_DIRECT", "environment": "NOPE"}, format="json"),
        400,
        "venue_not_supported",
    )


@pytest.mark.parametrize("body", [[], ["Main"], "Main", 42, None])
def test_a_body_that_is_not_an_object_is_invalid(client_api, body):
    assert_error(client_api.post(GROUPS, body, format="json"), 400, "invalid")


def test_malformed_json_is_invalid(client_api):
    response = client_api.post(GROUPS, '{"name": "Main",', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_a_body_that_is_not_json_is_unsupported_media_type(client_api):
    assert_error(
        client_api.post(GROUPS, "name=Main", content_type="application/x-www-form-urlencoded"),
        415,
        "unsupported_media_type",
    )


def test_confirmed_monthly_fee_is_write_only_and_must_be_a_decimal(client_api, payload):
    bad = assert_error(client_api.post(GROUPS, payload(confirmed_monthly_fee="lots"), format="json"), 400, "invalid")
    assert "confirmed_monthly_fee" in bad["errors"]


# --- edit -------------------------------------------------------------------------------------


def test_client_renames_its_group(client_api, client_group):
    response = client_api.patch(group_url(client_group), {"name": "Renamed"}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "Renamed"
    client_group.refresh_from_db()
    assert client_group.name == "Renamed"


def test_renaming_to_another_open_groups_name_is_already_exists(client_api, client_entity, client_group):
    factories.GroupFactory(entity=client_entity, name="Second")

    assert_error(client_api.patch(group_url(client_group), {"name": "SECOND"}, format="json"), 409, "already_exists")
    client_group.refresh_from_db()
    assert client_group.name == "Existing"


def test_renaming_to_a_closed_groups_name_is_allowed(client_api, client_entity, client_group):
    factories.GroupFactory(
        entity=client_entity, name="Old", status=GroupStatus.CLOSED, closed_at=clock.now() + dt.timedelta(seconds=1)
    )

    response = client_api.patch(group_url(client_group), {"name": "old"}, format="json")

    assert response.status_code == 200, response.json()


def test_a_group_may_change_the_case_of_its_own_name(client_api, client_group):
    response = client_api.patch(group_url(client_group), {"name": "EXISTING"}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "EXISTING"


def test_editing_message_filters_adds_the_mandatory_ones(client_api, client_group):
    response = client_api.patch(group_url(client_group), {"message_filters": ["heartbeats"]}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["message_filters"] == ["fills", "trade_busts", "heartbeats"]


def test_editing_with_an_unknown_message_filter_is_invalid(client_api, client_group):
    body = assert_error(
        client_api.patch(group_url(client_group), {"message_filters": ["everything"]}, format="json"), 400, "invalid"
    )
    assert "message_filters" in body["errors"]


def test_editing_the_front_end_system(client_api, client_entity, client_group):
    other_fes = factories.FrontEndSystemFactory(entity=client_entity)

    response = client_api.patch(group_url(client_group), {"front_end_system": other_fes.pk}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["front_end_system"] == other_fes.pk


def test_editing_to_another_entitys_front_end_system_is_invalid(am_api, client_group):
    foreign = factories.FrontEndSystemFactory()

    body = assert_error(
        am_api.patch(group_url(client_group), {"front_end_system": foreign.pk}, format="json"), 400, "invalid"
    )
    assert "front_end_system" in body["errors"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("entity", 1),
        ("environment", "CERT"),
        ("status", "closed"),
        ("opened_at", "2020-01-01T00:00:00Z"),
        ("closed_at", "2020-01-01T00:00:00Z"),
        ("venue", "EBS"),
    ],
)
def test_fields_other_than_name_filters_and_front_end_system_cannot_change(am_api, client_group, field, value):
    body = assert_error(am_api.patch(group_url(client_group), {field: value}, format="json"), 400, "invalid")
    assert field in body["errors"]
    assert DropCopyGroup.objects.get(pk=client_group.pk).status == GroupStatus.ACTIVE


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x" * 101},
        {"name": ""},
        {"name": None},
        {"name": ["x"]},
        {"message_filters": None},
        {"message_filters": "fills"},
        {"front_end_system": None},
        {"front_end_system": False},
        {"front_end_system": "1"},
    ],
)
def test_bad_edits_are_invalid(client_api, client_group, body):
    assert_error(client_api.patch(group_url(client_group), body, format="json"), 400, "invalid")
    client_group.refresh_from_db()
    assert client_group.name == "Existing"


@pytest.mark.parametrize("body", [[], ["name"], "name", 3])
def test_edit_body_that_is_not_an_object_is_invalid(client_api, client_group, body):
    assert_error(client_api.patch(group_url(client_group), body, format="json"), 400, "invalid")


def test_editing_a_closed_group_is_group_closed(am_api, client_group):
    assert am_api.post(close_url(client_group), {}, format="json").status_code == 200

    assert_error(am_api.patch(group_url(client_group), {"name": "Again"}, format="json"), 409, "group_closed")


def test_client_without_self_service_cannot_edit_a_cme_group(not_self_service_client):
    entity, _, api = not_self_service_client
    group = factories.GroupFactory(entity=entity, name="Main")

    assert_error(api.patch(group_url(group), {"name": "New"}, format="json"), 403, "permission_denied")
    group.refresh_from_db()
    assert group.name == "Main"


def test_client_without_self_service_edits_an_ebs_group(not_self_service_client):
    entity, _, api = not_self_service_client
    group = factories.GroupFactory(entity=entity, name="Main", venue=factories.venue("EBS"))

    response = api.patch(group_url(group), {"name": "New"}, format="json")

    assert response.status_code == 200, response.json()


def test_put_is_not_offered(client_api, client_group):
    assert_error(client_api.put(group_url(client_group), {"name": "x"}, format="json"), 405, "method_not_allowed")


# --- close ------------------------------------------------------------------------------------


def test_client_closes_its_group(client_api, client_group, frozen_clock):
    response = client_api.post(close_url(client_group), format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "closed"
    assert body["closed_at"] == "2026-03-10T15:30:00Z"
    client_group.refresh_from_db()
    assert client_group.status == GroupStatus.CLOSED
    assert client_group.closed_at == NOW


def test_closing_ends_approved_memberships_as_removed_and_pending_ones_as_withdrawn(
    client_api, client_entity, client_group, frozen_clock
):
    pending = factories.MembershipFactory(group=client_group, source_session__environment=Environment.NEW_RELEASE)
    approved = factories.MembershipFactory(
        group=client_group, status=MembershipStatus.APPROVED, source_session__environment=Environment.NEW_RELEASE
    )
    rejected = factories.MembershipFactory(
        group=client_group, status=MembershipStatus.REJECTED, source_session__environment=Environment.NEW_RELEASE
    )
    other_group_member = factories.MembershipFactory(
        group=factories.GroupFactory(entity=client_entity), status=MembershipStatus.APPROVED
    )

    assert client_api.post(close_url(client_group), format="json").status_code == 200

    statuses = dict(Membership.objects.values_list("pk", "status"))
    assert statuses == {
        pending.pk: MembershipStatus.WITHDRAWN,
        approved.pk: MembershipStatus.REMOVED,
        rejected.pk: MembershipStatus.REJECTED,
        other_group_member.pk: MembershipStatus.APPROVED,
    }
    ended = Membership.objects.filter(pk__in=[pending.pk, approved.pk])
    assert {m.ended_at for m in ended} == {NOW}
    assert Membership.objects.get(pk=rejected.pk).ended_at is None


def test_a_closed_group_is_kept_and_still_readable(client_api, client_group):
    client_api.post(close_url(client_group), format="json")

    response = client_api.get(group_url(client_group))

    assert response.status_code == 200
    assert response.json()["status"] == "closed"
    assert client_api.get(f"{GROUPS}?status=closed").json()["count"] == 1


def test_groups_are_never_deleted(am_api, client_group):
    assert_error(am_api.delete(group_url(client_group)), 405, "method_not_allowed")
    assert DropCopyGroup.objects.filter(pk=client_group.pk).exists()


def test_closing_a_closed_group_is_invalid_transition(client_api, client_group):
    client_api.post(close_url(client_group), format="json")

    assert_error(client_api.post(close_url(client_group), format="json"), 409, "invalid_transition")


def test_account_manager_closes_at_a_past_time(am_api, client_group, frozen_clock):
    response = am_api.post(close_url(client_group), {"at": "2026-03-01T00:00:00+01:00"}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["closed_at"] == "2026-02-28T23:00:00Z"


def test_close_at_the_opening_time_is_allowed(am_api, client_group):
    at = client_group.opened_at.isoformat()

    response = am_api.post(close_url(client_group), {"at": at}, format="json")

    assert response.status_code == 200, response.json()


def test_close_at_in_the_future_is_invalid(am_api, client_group, frozen_clock):
    body = assert_error(
        am_api.post(close_url(client_group), {"at": "2026-03-10T15:30:01Z"}, format="json"), 400, "invalid"
    )
    assert "at" in body["errors"]
    client_group.refresh_from_db()
    assert client_group.is_open


def test_close_at_before_opened_at_is_invalid(am_api, client_group, frozen_clock):
    before_opening = (client_group.opened_at - dt.timedelta(seconds=1)).isoformat()

    body = assert_error(am_api.post(close_url(client_group), {"at": before_opening}, format="json"), 400, "invalid")
    assert "at" in body["errors"]
    client_group.refresh_from_db()
    assert client_group.is_open


@pytest.mark.parametrize("at", ["2026-03-01T00:00:00", "yesterday", 5, True, ["2026-03-01T00:00:00Z"], ""])
def test_malformed_or_naive_close_at_is_invalid(am_api, client_group, frozen_clock, at):
    body = assert_error(am_api.post(close_url(client_group), {"at": at}, format="json"), 400, "invalid")
    assert "at" in body["errors"]


def test_only_account_managers_close_at_a_given_time(client_api, client_group, frozen_clock):
    assert_error(
        client_api.post(close_url(client_group), {"at": "2026-03-01T00:00:00Z"}, format="json"),
        403,
        "permission_denied",
    )
    client_group.refresh_from_db()
    assert client_group.is_open


def test_client_without_self_service_cannot_close_a_cme_group(not_self_service_client):
    entity, _, api = not_self_service_client
    group = factories.GroupFactory(entity=entity)

    assert_error(api.post(close_url(group), format="json"), 403, "permission_denied")
    group.refresh_from_db()
    assert group.is_open


def test_client_without_self_service_closes_a_brokertec_group(not_self_service_client):
    entity, _, api = not_self_service_client
    group = factories.GroupFactory(entity=entity, venue=factories.venue("BROKERTEC"))

    assert api.post(close_url(group), format="json").status_code == 200


def test_close_body_that_is_not_an_object_is_invalid(am_api, client_group):
    assert_error(am_api.post(close_url(client_group), ["now"], format="json"), 400, "invalid")


# --- who sees what ----------------------------------------------------------------------------


def test_client_sees_only_its_entitys_groups(client_api, client_group):
    foreign = factories.GroupFactory()

    listing = client_api.get(GROUPS).json()

    assert [g["id"] for g in listing["results"]] == [client_group.pk]
    assert_error(client_api.get(group_url(foreign)), 404, "not_found")
    assert_error(client_api.patch(group_url(foreign), {"name": "x"}, format="json"), 404, "not_found")
    assert_error(client_api.post(close_url(foreign), format="json"), 404, "not_found")


def test_unknown_group_is_not_found(am_api):
    assert_error(am_api.get(group_url(999_999)), 404, "not_found")
    assert_error(am_api.get(f"{GROUPS}abc/"), 404, "not_found")


def test_clearing_firm_sees_the_groups_holding_its_sessions(clearing_api, clearing_firm):
    holding = factories.GroupFactory()
    factories.MembershipFactory(group=holding, source_session__gfid__clearing_firm=clearing_firm)
    factories.GroupFactory()

    listing = clearing_api.get(GROUPS).json()

    assert [g["id"] for g in listing["results"]] == [holding.pk]
    assert clearing_api.get(group_url(holding)).status_code == 200


def test_clearing_firm_cannot_edit_or_close_the_groups_it_sees(clearing_api, clearing_firm):
    holding = factories.GroupFactory(name="Main")
    factories.MembershipFactory(group=holding, source_session__gfid__clearing_firm=clearing_firm)

    assert_error(clearing_api.patch(group_url(holding), {"name": "Mine"}, format="json"), 403, "permission_denied")
    assert_error(
        clearing_api.patch(group_url(holding), {"front_end_system": holding.front_end_system_id}, format="json"),
        403,
        "permission_denied",
    )
    assert_error(clearing_api.post(close_url(holding), format="json"), 403, "permission_denied")
    holding.refresh_from_db()
    assert holding.name == "Main" and holding.is_open


def test_finance_reads_every_group_but_cannot_write(finance_api, client_group):
    other = factories.GroupFactory()

    listing = finance_api.get(GROUPS).json()

    assert [g["id"] for g in listing["results"]] == [client_group.pk, other.pk]
    assert_error(finance_api.patch(group_url(other), {"name": "x"}, format="json"), 403, "permission_denied")
    assert_error(finance_api.post(close_url(other), format="json"), 403, "permission_denied")


def test_unauthenticated_requests_are_refused(client, client_group):
    response = client.get(GROUPS)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


# --- listing ----------------------------------------------------------------------------------


def test_list_filters_by_venue_environment_and_status(am_api):
    cme = factories.GroupFactory()
    ebs = factories.GroupFactory(venue=factories.venue("EBS"), environment=Environment.NEW_RELEASE)

    assert [g["id"] for g in am_api.get(f"{GROUPS}?venue=EBS").json()["results"]] == [ebs.pk]
    assert [g["id"] for g in am_api.get(f"{GROUPS}?environment=PRODUCTION").json()["results"]] == [cme.pk]
    assert am_api.get(f"{GROUPS}?status=closed").json()["count"] == 0


@pytest.mark.parametrize("query", ["venue=NYMEX", "environment=prod", "status=open", "entity=abc", "page=0"])
def test_malformed_filters_are_invalid(am_api, query):
    assert_error(am_api.get(f"{GROUPS}?{query}"), 400, "invalid")


def test_filtering_by_an_invisible_entity_reads_like_a_missing_one(client_api, client_entity, client_group):
    other = factories.EntityFactory()

    assert client_api.get(f"{GROUPS}?entity={client_entity.pk}").json()["count"] == 1
    invisible = assert_error(client_api.get(f"{GROUPS}?entity={other.pk}"), 400, "invalid")
    missing = assert_error(client_api.get(f"{GROUPS}?entity={other.pk + 1000}"), 400, "invalid")
    assert invisible["errors"].keys() == missing["errors"].keys() == {"entity"}


def test_times_in_responses_are_utc_with_z(am_api, client_group):
    body = am_api.get(group_url(client_group)).json()

    assert body["opened_at"].endswith("Z")


def _list_queries(api) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = api.get(GROUPS)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("user_fixture", ["am_api", "client_api", "finance_api"])
def test_group_list_costs_the_same_queries_for_one_and_fifty_groups(request, user_fixture, client_entity):
    api = request.getfixturevalue(user_fixture)
    fes = factories.FrontEndSystemFactory(entity=client_entity)
    factories.GroupFactory(entity=client_entity, front_end_system=fes)
    one = _list_queries(api)

    factories.GroupFactory.create_batch(49, entity=client_entity, front_end_system=fes, venue=factories.venue("EBS"))
    fifty = _list_queries(api)

    assert api.get(GROUPS).json()["count"] == 50
    assert fifty == one


def test_clearing_firm_group_list_costs_the_same_queries_for_one_and_fifty_groups(clearing_api, clearing_firm):
    session = factories.SourceSessionFactory(gfid__clearing_firm=clearing_firm)
    factories.MembershipFactory(source_session=session)
    one = _list_queries(clearing_api)

    for _ in range(49):
        factories.MembershipFactory(source_session=session, group__venue=factories.venue("EBS"))
    fifty = _list_queries(clearing_api)

    assert clearing_api.get(GROUPS).json()["count"] == 50
    assert fifty == one


# --- audit ------------------------------------------------------------------------------------


def test_creating_editing_and_closing_a_group_are_audited(client_api, client_user, payload, frozen_clock):
    group_id = client_api.post(GROUPS, payload(), format="json", HTTP_X_REQUEST_ID="req-create").json()["id"]
    client_api.patch(group_url(group_id), {"name": "Renamed"}, format="json", HTTP_X_REQUEST_ID="req-edit")
    client_api.post(close_url(group_id), format="json", HTTP_X_REQUEST_ID="req-close")

    events = list(AuditEvent.objects.filter(object_type="group", object_id=group_id).order_by("id"))
    assert [(e.action, e.actor, e.request_id) for e in events] == [
        ("create", client_user.username, "req-create"),
        ("update", client_user.username, "req-edit"),
        ("close", client_user.username, "req-close"),
    ]
    create, update, close = events
    assert create.before is None
    assert create.after["name"] == "Main"
    assert update.before["name"] == "Main" and update.after["name"] == "Renamed"
    assert close.before["status"] == "active" and close.after["status"] == "closed"
    assert close.after["closed_at"] == "2026-03-10T15:30:00Z"
    assert all(e.at == NOW for e in events)


def test_closing_audits_each_ended_membership(am_api, account_manager, client_group):
    membership = factories.MembershipFactory(
        group=client_group, status=MembershipStatus.APPROVED, source_session__environment=Environment.NEW_RELEASE
    )

    am_api.post(close_url(client_group), format="json", HTTP_X_REQUEST_ID="close-1")

    event = AuditEvent.objects.get(object_type="membership", object_id=membership.pk)
    assert event.actor == account_manager.username
    assert event.request_id == "close-1"
    assert event.before["status"] == "approved"
    assert event.after["status"] == "removed"


def test_an_edit_that_changes_nothing_records_nothing(client_api, client_group):
    response = client_api.patch(group_url(client_group), {"name": "Existing"}, format="json")

    assert response.status_code == 200
    assert not AuditEvent.objects.filter(object_type="group").exists()


def test_refused_writes_record_nothing(client_api, client_group, payload):
    client_api.post(GROUPS, payload(name="existing"), format="json")
    client_api.patch(group_url(client_group), {"message_filters": ["bogus"]}, format="json")

    assert not AuditEvent.objects.exists()


def test_account_manager_edits_and_closes_groups_of_entities_without_self_service(am_api):
    entity = factories.EntityFactory(self_service=False)
    group = factories.GroupFactory(entity=entity, name="Main")

    assert am_api.patch(group_url(group), {"name": "Renamed"}, format="json").status_code == 200
    assert am_api.post(close_url(group), format="json").status_code == 200
    group.refresh_from_db()
    assert (group.name, group.status) == ("Renamed", GroupStatus.CLOSED)


@pytest.mark.parametrize("at", ["2026-03-01", "2026-03-01T00:00:00 "])
def test_close_at_without_a_time_or_offset_is_invalid(am_api, client_group, frozen_clock, at):
    assert_error(am_api.post(close_url(client_group), {"at": at}, format="json"), 400, "invalid")
    client_group.refresh_from_db()
    assert client_group.is_open

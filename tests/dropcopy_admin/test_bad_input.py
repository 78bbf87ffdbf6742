"""No input answers 5xx (issue 13): deep JSON, impossible and extreme times, lenient ids, unsafe
methods on unrouted paths and oversized bodies are each refused in the API's envelope."""

import json

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from dropcopy_admin.choices import Environment
from dropcopy_admin.models import DropCopyGroup, Membership
from tests import factories
from tests.support import assert_error, assert_invalid

pytestmark = pytest.mark.django_db

GROUPS = "/api/v1/groups/"

IMPOSSIBLE_OR_EXTREME_TIMES = [
    "2026-02-30T10:00:00Z",
    "2026-01-05T12:99:00Z",
    "2026-01-05T25:00:00Z",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:00:00+14:00",
    "2026-01-05T08:00:00+99:00",
    "２０２６-01-05T08:00:00Z",
]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.fixture
def desk(client_entity):
    return factories.FrontEndSystemFactory(entity=client_entity, name="Desk")


def group_body(entity, desk, **fields) -> dict:
    body = {
        "entity": entity.pk,
        "name": "Main",
        "venue": "CME",
        "environment": Environment.NEW_RELEASE,
        "front_end_system": desk.pk,
    }
    body.update(fields)
    return body


# --- JSON nesting ---------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [33, 1_000, 100_000])
def test_deeply_nested_json_is_400_invalid_even_anonymous(depth):
    response = APIClient().post("/api/v1/auth/token/", data=nested(depth), content_type="application/json")

    assert_error(response, 400, "invalid")


def test_deeply_nested_json_in_a_field_is_400_invalid(am_api, client_entity, desk):
    body = json.dumps(group_body(client_entity, desk))[:-1] + ', "message_filters": ' + nested(1_000) + "}"

    response = am_api.post(GROUPS, data=body, content_type="application/json")

    assert_error(response, 400, "invalid")
    assert not DropCopyGroup.objects.exists()


def test_json_nested_within_the_limit_is_read(am_api, client_entity, desk):
    """Nesting as deep as a real body needs is read as before: the field itself is what is wrong."""
    body = group_body(client_entity, desk, message_filters=json.loads(nested(20)))

    assert_invalid(am_api.post(GROUPS, body, format="json"), "message_filters")


# --- times ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", IMPOSSIBLE_OR_EXTREME_TIMES)
def test_an_impossible_or_extreme_opened_at_is_invalid(am_api, client_entity, desk, value):
    response = am_api.post(GROUPS, group_body(client_entity, desk, opened_at=value), format="json")

    assert_invalid(response, "opened_at")
    assert not DropCopyGroup.objects.exists()


@pytest.mark.parametrize("value", IMPOSSIBLE_OR_EXTREME_TIMES)
def test_an_impossible_or_extreme_close_time_is_invalid(am_api, client_entity, desk, value):
    group = factories.GroupFactory(entity=client_entity, front_end_system=desk, environment=Environment.NEW_RELEASE)

    response = am_api.post(f"{GROUPS}{group.pk}/close/", {"at": value}, format="json")

    assert_invalid(response, "at")
    group.refresh_from_db()
    assert group.closed_at is None


@pytest.mark.parametrize("value", IMPOSSIBLE_OR_EXTREME_TIMES)
def test_an_impossible_or_extreme_requested_start_is_invalid(client_api, value):
    body = {"venue": "CME", "gateway_type": "CGW", "requested_start": value}

    assert_invalid(client_api.post("/api/v1/test-targets/", body, format="json"), "requested_start")


# --- ids ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [1.9, 1.0, "1.9", "１", " 1", "1e0", True, 2**70, -1, 0])
def test_an_id_in_a_body_is_a_whole_number_in_ascii_digits(am_api, client_entity, value):
    group = factories.GroupFactory(entity=client_entity)
    session = factories.SourceSessionFactory(gfid__entity=client_entity)
    group_id = value if not isinstance(value, str) else value.replace("1", str(group.pk))
    if isinstance(value, float):
        group_id = group.pk + (value - 1)

    response = am_api.post("/api/v1/memberships/", {"group": group_id, "source_session": session.pk}, format="json")

    assert_invalid(response, "group")
    assert not Membership.objects.exists()


def test_an_id_in_a_body_written_in_ascii_digits_is_read(am_api, client_entity):
    group = factories.GroupFactory(entity=client_entity, environment=Environment.NEW_RELEASE)
    session = factories.SourceSessionFactory(gfid__entity=client_entity, environment=Environment.NEW_RELEASE)

    response = am_api.post("/api/v1/memberships/", {"group": group.pk, "source_session": session.pk}, format="json")

    assert response.status_code == 201, response.content


@pytest.mark.parametrize("value", [1.9, "１", "1.0", True])
def test_ids_in_a_bulk_body_are_whole_numbers_in_ascii_digits(am_api, client_entity, value):
    group = factories.GroupFactory(entity=client_entity)

    response = am_api.post("/api/v1/memberships/bulk/", {"group": group.pk, "source_sessions": [value]}, format="json")

    assert_invalid(response, "source_sessions")


def full_width(number: int) -> str:
    return "".join(chr(ord("０") + int(digit)) for digit in str(number))


@pytest.mark.parametrize("method", ["get", "patch", "post"])
def test_an_id_in_a_path_written_in_other_digits_is_404(am_api, client_entity, method):
    group = factories.GroupFactory(entity=client_entity)
    path = f"{GROUPS}{full_width(group.pk)}/" + ("close/" if method == "post" else "")

    response = getattr(am_api, method)(path, {}, format="json")

    assert_error(response, 404, "not_found")
    group.refresh_from_db()
    assert group.closed_at is None


def test_a_key_pair_path_with_other_digits_is_404(am_api):
    assert_error(am_api.get("/api/v1/targets/１/keys/"), 404, "not_found")
    assert_error(am_api.post("/api/v1/targets/1/keys/１/revoke/", {}, format="json"), 404, "not_found")


# --- unrouted paths and oversized bodies ----------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete", "options"])
@pytest.mark.parametrize("authenticated", [False, True])
def test_an_unrouted_api_path_is_a_json_404_for_every_method(account_manager, method, authenticated):
    client = APIClient(enforce_csrf_checks=True)
    if authenticated:
        client.force_login(account_manager)

    response = getattr(client, method)("/api/v1/no-such-thing/", {}, format="json")

    assert response["Content-Type"] == "application/json"
    assert_error(response, 404, "not_found")


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
@pytest.mark.parametrize(("authenticated", "path"), [(False, "/api/v1/auth/token/"), (True, "/api/v1/clearing-firms/")])
def test_a_body_over_the_size_limit_is_400_invalid_in_the_envelope(account_manager, authenticated, path):
    """api-contract.md has no code of its own for it: 400 ``invalid``, its detail naming the limit."""
    client = APIClient()
    if authenticated:
        client.force_authenticate(account_manager)
    body = json.dumps({"username": "am", "password": "x", "code": "ABC", "name": "x" * 4096})

    response = client.post(path, data=body, content_type="application/json")

    assert response["Content-Type"] == "application/json"
    body = assert_error(response, 400, "invalid")
    assert "1,024 bytes" in body["detail"]


# --- ids in filters ---------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["full-width", "{pk}.0", "{pk}.9", " {pk}"])
@pytest.mark.parametrize("path", ["/api/v1/memberships/?group=", "/api/v1/targets/?group="])
def test_an_id_in_a_filter_is_a_whole_number_in_ascii_digits(am_api, client_entity, path, written):
    group = factories.GroupFactory(entity=client_entity)
    factories.MembershipFactory(group=group)
    value = full_width(group.pk) if written == "full-width" else written.format(pk=group.pk)

    assert_invalid(am_api.get(path + value), "group")


def test_an_id_in_a_filter_in_ascii_digits_filters(am_api, client_entity):
    group = factories.GroupFactory(entity=client_entity)
    factories.MembershipFactory(group=group)
    factories.MembershipFactory()

    response = am_api.get(f"/api/v1/memberships/?group={group.pk}")

    assert response.status_code == 200
    assert [row["group"] for row in response.json()["results"]] == [group.pk]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", f"{GROUPS}{2**64}/"),
        ("post", f"{GROUPS}{10**30}/close/"),
        ("get", f"/api/v1/targets/{2**64}/keys/"),
        ("post", f"/api/v1/targets/{2**64}/keys/{2**64}/revoke/"),
        ("get", f"/api/v1/entities/{2**64}/fee-preview/"),
        ("post", f"/api/v1/memberships/{2**64}/approve/"),
    ],
)
def test_an_id_in_a_path_too_large_for_any_row_is_404(am_api, method, path):
    assert_error(getattr(am_api, method)(path, {}, format="json"), 404, "not_found")


def test_an_id_in_a_filter_too_large_for_any_row_is_invalid(am_api):
    assert_invalid(am_api.get(f"/api/v1/memberships/?group={2**64}"), "group")

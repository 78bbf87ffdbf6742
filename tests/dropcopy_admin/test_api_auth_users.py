"""auth/token/ and users/: credentials, hashed tokens, role-specific users, audit."""

import hashlib

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from dropcopy_admin.choices import Role
from dropcopy_admin.models import ApiToken, AuditEvent, User
from tests import factories
from tests.support import assert_error, assert_invalid

TOKEN_URL = "/api/v1/auth/token/"
USERS_URL = "/api/v1/users/"
PASSWORD = "s3cret-Pa55word"  # what UserFactory sets
STRONG = "Tr1cky-Horse-Battery"


# Every test here touches the database, some only through request.getfixturevalue(); marking the
# module keeps pytest-django from ordering those after the transactional tests (which flush the
# migrations' reference data).
pytestmark = pytest.mark.django_db


@pytest.fixture
def anonymous():
    return APIClient()


# --- auth/token/ ----------------------------------------------------------------------------


def test_token_for_good_credentials_authenticates_later_requests(anonymous, account_manager):
    response = anonymous.post(TOKEN_URL, {"username": "am", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    assert set(response.json()) == {"token"}
    token = response.json()["token"]

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    listed = api.get(USERS_URL)
    assert listed.status_code == 200
    assert [row["username"] for row in listed.json()["results"]] == ["am"]


def test_token_is_stored_only_as_its_sha256_digest(anonymous, account_manager):
    token = anonymous.post(TOKEN_URL, {"username": "am", "password": PASSWORD}, format="json").json()["token"]
    stored = ApiToken.objects.get(user=account_manager)
    assert stored.digest == hashlib.sha256(token.encode()).hexdigest()
    assert stored.digest != token
    assert not ApiToken.objects.filter(digest=token).exists()


def test_each_token_request_issues_a_distinct_working_token(anonymous, client_user):
    first = anonymous.post(TOKEN_URL, {"username": "client", "password": PASSWORD}, format="json").json()["token"]
    second = anonymous.post(TOKEN_URL, {"username": "client", "password": PASSWORD}, format="json").json()["token"]
    assert first != second
    for token in (first, second):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        assert api.get("/api/v1/entities/").status_code == 200


def test_wrong_password_and_unknown_user_are_the_same_invalid_credentials(anonymous, account_manager):
    wrong = assert_error(
        anonymous.post(TOKEN_URL, {"username": "am", "password": "nope"}, format="json"),
        400,
        "invalid_credentials",
    )
    unknown = assert_error(
        anonymous.post(TOKEN_URL, {"username": "ghost", "password": PASSWORD}, format="json"),
        400,
        "invalid_credentials",
    )
    assert wrong == unknown
    assert not ApiToken.objects.exists()


def test_inactive_user_gets_no_token(anonymous, client_user):
    client_user.is_active = False
    client_user.save()
    assert_error(
        anonymous.post(TOKEN_URL, {"username": "client", "password": PASSWORD}, format="json"),
        400,
        "invalid_credentials",
    )


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ("username", "password")),
        ({"username": "am"}, ("password",)),
        ({"username": None, "password": PASSWORD}, ("username",)),
        ({"username": "x" * 151, "password": PASSWORD}, ("username",)),
        ({"username": "am", "password": ["a"]}, ("password",)),
    ],
)
def test_malformed_token_request_is_invalid(anonymous, account_manager, body, fields):
    assert_invalid(anonymous.post(TOKEN_URL, body, format="json"), *fields)


def test_token_request_with_broken_json_is_invalid(anonymous):
    assert_error(anonymous.post(TOKEN_URL, data="{bad", content_type="application/json"), 400, "invalid")


def test_token_request_with_a_list_body_is_invalid(anonymous):
    assert_invalid(anonymous.post(TOKEN_URL, ["am", PASSWORD], format="json"), "non_field_errors")


def test_token_request_as_form_data_is_unsupported_media_type(anonymous, account_manager):
    assert_error(
        anonymous.post(TOKEN_URL, {"username": "am", "password": PASSWORD}),
        415,
        "unsupported_media_type",
    )


def test_token_endpoint_offers_only_post(anonymous):
    assert_error(anonymous.get(TOKEN_URL), 405, "method_not_allowed")


def test_no_credentials_is_not_authenticated(anonymous):
    response = anonymous.get("/api/v1/entities/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Token")


@pytest.mark.parametrize(
    "header",
    ["Token not-a-real-token", "Token", "Token a b", "Bearer whatever", "Token \u00e9t\u00e9"],
)
def test_bad_token_is_not_authenticated(anonymous, account_manager, header):
    anonymous.credentials(HTTP_AUTHORIZATION=header)
    response = anonymous.get("/api/v1/entities/")
    expected = 401
    assert response.status_code == expected
    assert response.json()["code"] == "not_authenticated"


def test_token_of_a_deactivated_user_stops_working(anonymous, client_user):
    token = anonymous.post(TOKEN_URL, {"username": "client", "password": PASSWORD}, format="json").json()["token"]
    client_user.is_active = False
    client_user.save()
    anonymous.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert_error(anonymous.get("/api/v1/entities/"), 401, "not_authenticated")


# --- users/ (which role may call it: the table in test_permissions.py) ---------------------------


def test_account_manager_lists_users_with_their_roles(am_api, client_user, clearing_user, finance_user):
    response = am_api.get(USERS_URL)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    roles = {row["username"]: row["role"] for row in body["results"]}
    assert roles == {
        "am": "account_manager",
        "client": "client",
        "clearing": "clearing_firm",
        "finance": "finance",
    }
    for row in body["results"]:
        assert set(row) == {"id", "username", "email", "role", "clearing_firm", "entity"}
    client_row = next(row for row in body["results"] if row["username"] == "client")
    assert client_row["entity"] == client_user.entity_id
    clearing_row = next(row for row in body["results"] if row["username"] == "clearing")
    assert clearing_row["clearing_firm"] == clearing_user.clearing_firm_id


def test_users_filter_by_role(am_api, client_user, finance_user):
    body = am_api.get(f"{USERS_URL}?role=client").json()
    assert [row["username"] for row in body["results"]] == ["client"]


def test_unknown_role_filter_is_invalid(am_api):
    assert_invalid(am_api.get(f"{USERS_URL}?role=emperor"), "role")


def test_account_manager_reads_one_user(am_api, client_user):
    response = am_api.get(f"{USERS_URL}{client_user.id}/")
    assert response.status_code == 200
    assert response.json()["username"] == "client"
    assert "password" not in response.json()


def test_missing_user_is_not_found(am_api):
    assert_error(am_api.get(f"{USERS_URL}999999/"), 404, "not_found")
    assert_error(am_api.get(f"{USERS_URL}abc/"), 404, "not_found")


@pytest.mark.parametrize("method", ["patch", "put", "delete"])
def test_users_cannot_be_changed_or_deleted_through_the_api(am_api, client_user, method):
    response = getattr(am_api, method)(f"{USERS_URL}{client_user.id}/", {"email": "x@example.com"}, format="json")
    assert_error(response, 405, "method_not_allowed")


# --- users/: creating each role --------------------------------------------------------------


def test_account_manager_creates_an_account_manager(am_api):
    response = am_api.post(
        USERS_URL,
        {"username": "boss", "password": STRONG, "role": "account_manager", "email": "boss@example.com"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["role"] == "account_manager"
    assert body["clearing_firm"] is None and body["entity"] is None
    user = User.objects.get(username="boss")
    assert user.is_superuser and user.is_staff and user.is_account_manager


def test_account_manager_creates_a_client_of_an_entity(am_api, client_entity):
    response = am_api.post(
        USERS_URL,
        {"username": "alice", "password": STRONG, "role": "client", "entity": client_entity.id},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["entity"] == client_entity.id
    user = User.objects.get(username="alice")
    assert user.role == Role.CLIENT and user.entity == client_entity
    assert not user.is_superuser and not user.is_staff


def test_account_manager_creates_a_clearing_firm_administrator(am_api, clearing_firm):
    response = am_api.post(
        USERS_URL,
        {"username": "carol", "password": STRONG, "role": "clearing_firm", "clearing_firm": clearing_firm.id},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["clearing_firm"] == clearing_firm.id
    user = User.objects.get(username="carol")
    assert user.role == Role.CLEARING_FIRM and user.clearing_firm == clearing_firm


def test_account_manager_creates_a_finance_user_with_billing_permissions_only(am_api):
    response = am_api.post(USERS_URL, {"username": "fred", "password": STRONG, "role": "finance"}, format="json")
    assert response.status_code == 201, response.json()
    user = User.objects.get(username="fred")
    assert user.is_staff and not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == ["finance"]
    assert Group.objects.filter(name="finance").count() == 1


def test_password_is_write_only_and_stored_hashed(am_api):
    response = am_api.post(USERS_URL, {"username": "hugo", "password": STRONG, "role": "finance"}, format="json")
    assert "password" not in response.json()
    user = User.objects.get(username="hugo")
    assert user.password != STRONG
    assert user.check_password(STRONG)


def test_created_user_can_obtain_a_token(am_api, anonymous, client_entity):
    am_api.post(
        USERS_URL,
        {"username": "ivy", "password": STRONG, "role": "client", "entity": client_entity.id},
        format="json",
    )
    response = anonymous.post(TOKEN_URL, {"username": "ivy", "password": STRONG}, format="json")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "client"}, "entity"),
        ({"role": "client", "entity": None}, "entity"),
        ({"role": "clearing_firm"}, "clearing_firm"),
        ({"role": "finance", "entity": "ENTITY"}, "entity"),
        ({"role": "account_manager", "clearing_firm": "FIRM"}, "clearing_firm"),
        ({"role": "client", "entity": "ENTITY", "clearing_firm": "FIRM"}, "clearing_firm"),
        ({"role": "clearing_firm", "clearing_firm": "FIRM", "entity": "ENTITY"}, "entity"),
    ],
)
def test_role_specific_links_are_required_and_exclusive(am_api, client_entity, clearing_firm, body, field):
    links = {"ENTITY": client_entity.id, "FIRM": clearing_firm.id}
    body = {key: links.get(value, value) for key, value in body.items()}
    response = am_api.post(USERS_URL, {"username": "zed", "password": STRONG, **body}, format="json")
    assert_invalid(response, field)
    assert not User.objects.filter(username="zed").exists()


def test_taken_username_is_already_exists(am_api, client_user):
    response = am_api.post(USERS_URL, {"username": "client", "password": STRONG, "role": "finance"}, format="json")
    assert_error(response, 409, "already_exists")
    assert User.objects.filter(username="client").count() == 1


@pytest.mark.parametrize("password", ["short", "12345678901", "password123", "zedzedzed1"])
def test_weak_password_is_invalid(am_api, password):
    response = am_api.post(USERS_URL, {"username": "zedzedzed", "password": password, "role": "finance"}, format="json")
    assert_invalid(response, "password")
    assert not User.objects.filter(username="zedzedzed").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "u1", "password": STRONG, "role": "emperor"}, "role"),
        ({"username": "u1", "password": STRONG}, "role"),
        ({"username": "u1", "role": "finance"}, "password"),
        ({"password": STRONG, "role": "finance"}, "username"),
        ({"username": None, "password": STRONG, "role": "finance"}, "username"),
        ({"username": "u1", "password": None, "role": "finance"}, "password"),
        ({"username": "u" * 151, "password": STRONG, "role": "finance"}, "username"),
        ({"username": "bad name!", "password": STRONG, "role": "finance"}, "username"),
        ({"username": "u1", "password": "x" * 129, "role": "finance"}, "password"),
        ({"username": "u1", "password": STRONG, "role": "finance", "email": "not-an-email"}, "email"),
        ({"username": "u1", "password": STRONG, "role": "client", "entity": 999999}, "entity"),
        ({"username": "u1", "password": STRONG, "role": "client", "entity": True}, "entity"),
        ({"username": "u1", "password": STRONG, "role": "client", "entity": "abc"}, "entity"),
        ({"username": "u1", "password": STRONG, "role": "clearing_firm", "clearing_firm": [1]}, "clearing_firm"),
        ({"username": "u\x00", "password": STRONG, "role": "finance"}, "username"),
        ({"username": "u1", "password": STRONG, "role": 7}, "role"),
    ],
)
def test_bad_user_fields_are_invalid(am_api, body, field):
    assert_invalid(am_api.post(USERS_URL, body, format="json"), field)
    assert User.objects.count() == 1  # the account manager


def test_users_post_with_broken_json_is_invalid(am_api):
    assert_error(am_api.post(USERS_URL, data="{bad", content_type="application/json"), 400, "invalid")


def test_users_post_with_a_list_body_is_invalid(am_api):
    assert_invalid(am_api.post(USERS_URL, [{"username": "u1"}], format="json"), "non_field_errors")


def test_user_creation_is_audited_without_the_password(am_api, client_entity):
    response = am_api.post(
        USERS_URL,
        {"username": "jane", "password": STRONG, "role": "client", "entity": client_entity.id},
        format="json",
        HTTP_X_REQUEST_ID="req-users-1",
    )
    user = User.objects.get(username="jane")
    event = AuditEvent.objects.get(object_type="user", object_id=user.id)
    assert event.action == "create"
    assert event.actor == "am"
    assert event.actor_user.username == "am"
    assert event.before is None
    assert event.after["username"] == "jane"
    assert event.after["entity_id"] == client_entity.id
    assert "password" not in event.after
    assert user.password not in str(event.after)
    assert event.request_id == "req-users-1" == response["X-Request-ID"]


def test_refused_user_creation_leaves_no_audit(am_api):
    am_api.post(USERS_URL, {"username": "u1", "password": "short", "role": "finance"}, format="json")
    assert not AuditEvent.objects.filter(object_type="user").exists()


def _count_queries(api, url: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = api.get(url)
    assert response.status_code == 200
    return len(queries), response.json()["count"]


def test_users_list_costs_the_same_queries_for_one_and_fifty_rows(am_api):
    one, count_one = _count_queries(am_api, USERS_URL)
    for _ in range(49):
        factories.UserFactory(role=Role.CLIENT)
    fifty, count_fifty = _count_queries(am_api, USERS_URL)
    assert (count_one, count_fifty) == (1, 50)
    assert one == fifty

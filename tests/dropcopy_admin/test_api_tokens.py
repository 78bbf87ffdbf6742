"""API tokens: named, expiring, listed and revoked by their owner, last_used_at kept (at most once a
minute), and all of a user's tokens ended when the password changes, whichever way it changes."""

import datetime as dt

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from dropcopy_admin import clock
from dropcopy_admin.models import ApiToken, AuditEvent
from dropcopy_admin.services import users
from tests.support import assert_error, assert_invalid

TOKEN_URL = "/api/v1/auth/token/"
TOKENS_URL = "/api/v1/auth/tokens/"
PASSWORD = "s3cret-Pa55word"  # what UserFactory sets
NEW_PASSWORD = "Tr1cky-Horse-Battery"
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen_clock():
    clock.freeze(START)


def _logon_token(username: str, password: str = PASSWORD) -> str:
    answer = APIClient().post(TOKEN_URL, {"username": username, "password": password}, format="json")
    assert answer.status_code == 200, answer.content
    return answer.json()["token"]


def _with_token(token: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api


def _works(token: str) -> bool:
    answer = _with_token(token).get(TOKENS_URL)
    if answer.status_code == 401:
        assert answer.json()["code"] == "not_authenticated"
        return False
    assert answer.status_code == 200, answer.content
    return True


# --- expiry ---------------------------------------------------------------------------------


def test_a_logon_token_ends_after_the_default_lifetime(client_user):
    token = _logon_token("client")
    stored = ApiToken.objects.get(user=client_user)
    lifetime = dt.timedelta(days=settings.DROPCOPY["API_TOKEN_LIFETIME_DAYS"])
    assert stored.name == users.LOGON_TOKEN_NAME
    assert stored.expires_at == START + lifetime

    clock.advance(lifetime - dt.timedelta(seconds=1))
    assert _works(token)
    clock.advance(dt.timedelta(seconds=1))
    assert not _works(token)


def test_a_named_token_with_its_own_lifetime(client_user):
    api = _with_token(_logon_token("client"))
    created = api.post(TOKENS_URL, {"name": "nightly reconciliation", "lifetime_days": 3}, format="json")
    assert created.status_code == 201, created.content
    assert created["Cache-Control"] == "no-store"
    body = created.json()
    assert body["name"] == "nightly reconciliation"
    assert body["status"] == "active"
    assert body["expires_at"] == "2026-03-05T09:00:00Z"
    assert body["last_used_at"] is None and body["revoked_at"] is None
    new_token = body["token"]

    clock.advance(dt.timedelta(days=3) - dt.timedelta(seconds=1))
    assert _works(new_token)
    clock.advance(dt.timedelta(seconds=1))
    assert not _works(new_token)
    assert ApiToken.objects.get(pk=body["id"]).digest != new_token  # only its digest is kept


def test_a_lifetime_outside_the_allowed_days_is_invalid(client_api):
    longest = settings.DROPCOPY["API_TOKEN_MAX_LIFETIME_DAYS"]
    for days in (0, longest + 1, "ten"):
        assert_invalid(
            client_api.post(TOKENS_URL, {"name": "x", "lifetime_days": days}, format="json"), "lifetime_days"
        )
    assert_invalid(client_api.post(TOKENS_URL, {}, format="json"), "name")
    assert not ApiToken.objects.exists()


# --- listing and revoking ---------------------------------------------------------------------


def test_owners_list_their_own_tokens_in_every_state(client_user, clearing_user):
    mine = _logon_token("client")
    _logon_token("clearing")
    api = _with_token(mine)
    api.post(TOKENS_URL, {"name": "short", "lifetime_days": 1}, format="json")
    revoked = api.post(TOKENS_URL, {"name": "gone"}, format="json").json()
    api.delete(f"{TOKENS_URL}{revoked['id']}/")
    clock.advance(dt.timedelta(days=1))

    listed = api.get(TOKENS_URL)
    assert listed.status_code == 200
    rows = listed.json()["results"]
    assert [(row["name"], row["status"]) for row in rows] == [
        (users.LOGON_TOKEN_NAME, "active"),
        ("short", "expired"),
        ("gone", "revoked"),
    ]
    assert all("token" not in row and "digest" not in row for row in rows)


def test_revoking_ends_the_token_at_once_and_is_audited(client_user):
    first = _logon_token("client")
    second = _logon_token("client")
    second_id = ApiToken.objects.order_by("id").last().pk

    answer = _with_token(first).delete(f"{TOKENS_URL}{second_id}/")
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "revoked"
    assert answer.json()["revoked_at"] == "2026-03-02T09:00:00Z"
    assert not _works(second)
    assert _works(first)
    event = AuditEvent.objects.get(object_type="apitoken", object_id=second_id, action="revoke")
    assert event.actor == "client"
    assert "digest" not in event.after

    # Revoking it again changes nothing; revoking one's own token in use ends it too.
    assert _with_token(first).delete(f"{TOKENS_URL}{second_id}/").status_code == 200
    first_id = ApiToken.objects.order_by("id").first().pk
    assert _with_token(first).delete(f"{TOKENS_URL}{first_id}/").status_code == 200
    assert not _works(first)


def test_another_users_token_is_not_found_and_stays_working(account_manager, client_user):
    theirs = _logon_token("client")
    their_id = ApiToken.objects.get(user=client_user).pk
    am = _with_token(_logon_token("am"))  # account managers too see only their own tokens

    assert_error(am.delete(f"{TOKENS_URL}{their_id}/"), 404, "not_found")
    assert [row["id"] for row in am.get(TOKENS_URL).json()["results"]] != [their_id]
    assert _works(theirs)


def test_ids_in_other_digits_or_too_large_match_no_token(client_user):
    api = _with_token(_logon_token("client"))
    for path in ("１", "1.0", "99999999999999999999"):
        assert_error(api.delete(f"{TOKENS_URL}{path}/"), 404, "not_found")


def test_without_credentials_tokens_are_not_listed(db):
    assert_error(APIClient().get(TOKENS_URL), 401, "not_authenticated")


# --- last_used_at ---------------------------------------------------------------------------


def test_last_used_at_is_kept_at_most_once_a_minute(client_user):
    token = _logon_token("client")
    stored = ApiToken.objects.get(user=client_user)
    assert stored.last_used_at is None

    assert _works(token)
    stored.refresh_from_db()
    assert stored.last_used_at == START

    clock.advance(dt.timedelta(seconds=59))
    assert _works(token)
    stored.refresh_from_db()
    assert stored.last_used_at == START  # not rewritten within the minute

    clock.advance(dt.timedelta(seconds=1))
    assert _works(token)
    stored.refresh_from_db()
    assert stored.last_used_at == START + dt.timedelta(minutes=1)


# --- password changes end every token -------------------------------------------------------


def test_an_account_manager_setting_a_password_ends_every_token_of_the_user(account_manager, client_user):
    tokens = [_logon_token("client"), _logon_token("client")]
    other = _logon_token("am")

    users.user_set_password(actor=account_manager, user=client_user, password=NEW_PASSWORD)

    assert not any(_works(token) for token in tokens)
    assert _works(other)
    events = AuditEvent.objects.filter(object_type="apitoken", action="revoke")
    assert sorted(event.actor for event in events) == ["am", "am"]
    assert _works(_logon_token("client", NEW_PASSWORD))


def test_turning_password_logon_off_ends_every_token(account_manager, client_user):
    token = _logon_token("client")
    users.user_set_password(actor=account_manager, user=client_user, password=None)
    assert not _works(token)


def test_the_portal_password_change_page_ends_every_token(client_user):
    token = _logon_token("client")
    browser = Client()
    browser.force_login(client_user)
    changed = browser.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert changed.status_code == 302, changed.content
    assert not _works(token)
    assert AuditEvent.objects.get(object_type="apitoken", action="revoke").actor == "client"


def test_the_admin_password_change_page_ends_every_token(account_manager):
    token = _logon_token("am")
    browser = Client()
    browser.force_login(account_manager)
    changed = browser.post(
        "/admin/password_change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert changed.status_code == 302, changed.content
    assert not _works(token)


def test_the_schema_documents_the_token_endpoints(am_api):
    schema = am_api.get("/api/v1/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert set(paths[TOKENS_URL]) >= {"get", "post"}
    assert "delete" in paths[f"{TOKENS_URL}{{id}}/"]
    assert "429" in paths[TOKEN_URL]["post"]["responses"]

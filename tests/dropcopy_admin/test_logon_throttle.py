"""Failed logons throttled per username and per address: the token endpoint, the portal's login
and the admin's alike (django-axes, dropcopy_admin/logons.py); password-reset mail rate-limited."""

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core import mail
from django.db.models import F
from django.test import Client
from rest_framework.test import APIClient

from dropcopy_admin import clock
from tests.support import assert_error

TOKEN_URL = "/api/v1/auth/token/"
PORTAL_LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
PASSWORD = "s3cret-Pa55word"  # what UserFactory sets
WINDOW_SECONDS = int(settings.AXES_COOLOFF_TIME.total_seconds())

pytestmark = pytest.mark.django_db


def _token_request(username: str, password: str, address: str = "127.0.0.1"):
    return APIClient(REMOTE_ADDR=address).post(TOKEN_URL, {"username": username, "password": password}, format="json")


def _let_the_lockout_window_pass() -> None:
    """The failures django-axes keeps grow older than its window, as they would by waiting."""
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - settings.AXES_COOLOFF_TIME - dt.timedelta(seconds=1))


def test_hundred_wrong_passwords_on_the_token_endpoint_are_throttled_with_retry_after(account_manager):
    answers = [_token_request("am", f"wrong-{n}") for n in range(100)]

    statuses = [answer.status_code for answer in answers]
    limit = settings.AXES_FAILURE_LIMIT
    assert statuses[: limit - 1] == [400] * (limit - 1)  # the first failures are plain wrong passwords
    assert set(statuses[limit:]) == {429}  # then every one is refused without looking
    last = answers[-1]
    body = assert_error(last, 429, "throttled")
    assert "Too many failed logons" in body["detail"]
    assert int(last["Retry-After"]) == WINDOW_SECONDS

    # Locked out, even the right password is refused, and no token is issued.
    assert_error(_token_request("am", PASSWORD), 429, "throttled")
    assert not account_manager.api_tokens.exists()


def test_the_right_password_after_the_lockout_window_gets_a_token(account_manager):
    for n in range(settings.AXES_FAILURE_LIMIT):
        _token_request("am", f"wrong-{n}")
    assert _token_request("am", PASSWORD).status_code == 429

    _let_the_lockout_window_pass()

    answer = _token_request("am", PASSWORD)
    assert answer.status_code == 200, answer.content
    assert answer.json()["token"]


def test_a_username_is_locked_out_whatever_the_address(account_manager):
    for n in range(settings.AXES_FAILURE_LIMIT):
        _token_request("am", f"wrong-{n}", address=f"10.0.0.{n + 1}")
    assert_error(_token_request("am", PASSWORD, address="10.9.9.9"), 429, "throttled")


def test_an_address_is_locked_out_whatever_the_username(account_manager, client_user):
    for n in range(settings.AXES_FAILURE_LIMIT):
        _token_request(f"guess-{n}", "wrong", address="10.1.1.1")
    assert_error(_token_request("am", PASSWORD, address="10.1.1.1"), 429, "throttled")
    # Another address and the user itself are not touched by that address's failures.
    assert _token_request("am", PASSWORD, address="10.2.2.2").status_code == 200


@pytest.mark.parametrize("login_url", [PORTAL_LOGIN, ADMIN_LOGIN])
def test_fifty_wrong_passwords_on_a_login_page_give_a_page_in_words(account_manager, login_url):
    browser = Client()
    answers = [browser.post(login_url, {"username": "am", "password": f"wrong-{n}"}) for n in range(50)]

    assert answers[0].status_code == 200  # the form again, with its error
    last = answers[-1]
    assert last.status_code == 429
    assert int(last["Retry-After"]) == WINDOW_SECONDS
    page = last.content.decode()
    assert "Too many failed logons; try again in 15 minutes." in page
    assert "<html" in page and "throttled" not in page

    # The right password is refused while locked out, and works once the window has passed.
    assert browser.post(login_url, {"username": "am", "password": PASSWORD}).status_code == 429
    _let_the_lockout_window_pass()
    logged_on = browser.post(login_url, {"username": "am", "password": PASSWORD})
    assert logged_on.status_code == 302
    assert browser.session.get("_auth_user_id") == str(account_manager.pk)


def test_failures_on_the_portal_count_towards_the_token_endpoint(account_manager):
    browser = Client()
    for n in range(settings.AXES_FAILURE_LIMIT):
        browser.post(PORTAL_LOGIN, {"username": "am", "password": f"wrong-{n}"})
    assert_error(_token_request("am", PASSWORD, address="10.3.3.3"), 429, "throttled")


def test_password_reset_mails_one_user_once_per_interval(account_manager):
    browser = Client()
    for _ in range(5):
        answer = browser.post("/accounts/password_reset/", {"email": account_manager.email})
        assert answer.status_code == 302  # the same "check your mail" answer every time
    assert [message.to for message in mail.outbox] == [[account_manager.email]]

    clock.advance(dt.timedelta(minutes=settings.DROPCOPY["PASSWORD_RESET_MAIL_INTERVAL_MINUTES"]))
    browser.post("/accounts/password_reset/", {"email": account_manager.email})
    assert len(mail.outbox) == 2

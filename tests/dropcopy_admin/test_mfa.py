"""Multi-factor authentication (django-otp): enrolling an authenticator app on the security page
(secret and recovery codes shown once), a code after the password at the portal's and the admin's
logon, roles that must enrol in production, and the step-up before a key pair is generated."""

import logging
import time

from django.conf import settings
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from dropcopy_admin import clock
from dropcopy_admin.choices import Role
from dropcopy_admin.models import AuditEvent, KeyPair
from dropcopy_admin.services import mfa
from entitlements.views_temporary import IDENTITY_CONFIRMED_AT
from tests import factories
from tests.dropcopy_admin.test_settings import _production_env, _run
from tests.entitlements.test_portal_temporary import key_pair_url, new_test_target

PASSWORD = "s3cret-Pa55word"  # tests.factories.UserFactory's
SECURITY = reverse("portal:security")
PORTAL_LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"


def code_for(device: TOTPDevice, *, steps_later: int = 0) -> str:
    """The code an authenticator app shows now (or ``steps_later`` 30-second steps on: a code is
    accepted once, and one step either side of now)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_later * device.step
    return f"{totp.token():0{device.digits}d}"


def enrolled(user) -> tuple[TOTPDevice, list[str]]:
    """``user`` with a confirmed authenticator app (confirmed with the code of now) and recovery codes."""
    device = mfa.authenticator_enrolment_start(user=user)
    recovery_codes = mfa.authenticator_enrolment_confirm(user=user, code=code_for(device))
    device.refresh_from_db()
    return device, recovery_codes


def logged_on_with_password(user, login_url: str = PORTAL_LOGIN, next_url: str = "/portal/") -> Client:
    browser = Client()
    response = browser.post(login_url, {"username": user.username, "password": PASSWORD, "next": next_url})
    assert response.status_code == 302
    return browser


def sent_for_code(response, next_url: str) -> bool:
    return response.status_code == 302 and response.url == f"{SECURITY}?next={next_url.replace('/', '%2F')}"


class TestEnrolment:
    def test_secret_shown_once_confirmed_with_a_first_code_then_recovery_codes_once(self, client, client_user, caplog):
        caplog.set_level(logging.DEBUG)
        client.force_login(client_user)
        overview = client.get(SECURITY)
        assert overview.status_code == 200
        assert "Multi-factor authentication is <strong>off</strong>" in overview.content.decode()

        started = client.post(SECURITY, {"step": "start"})
        device = TOTPDevice.objects.get(user=client_user)
        secret = mfa.authenticator_secret(device)
        assert started.status_code == 200
        assert "no-store" in started["Cache-Control"]
        assert started.content.decode().count(secret) == 2  # typed in, and inside the otpauth:// link
        assert not device.confirmed
        assert not mfa.mfa_enabled(client_user)
        assert secret not in client.get(SECURITY).content.decode()

        wrong = client.post(
            SECURITY, {"step": "confirm", "code": "000000" if code_for(device) != "000000" else "111111"}
        )
        assert wrong.status_code == 400
        assert secret not in wrong.content.decode()
        assert not mfa.mfa_enabled(client_user)

        confirmed = client.post(SECURITY, {"step": "confirm", "code": code_for(device)})
        assert confirmed.status_code == 200
        recovery_codes = list(StaticToken.objects.filter(device__user=client_user).values_list("token", flat=True))
        assert len(recovery_codes) == 10
        page = confirmed.content.decode()
        assert all(page.count(code) == 1 for code in recovery_codes)
        assert mfa.mfa_enabled(client_user)

        later = client.get(SECURITY)  # this session gave its code: no second ask
        assert later.status_code == 200
        assert "Multi-factor authentication is <strong>on</strong>" in later.content.decode()
        assert not any(code in later.content.decode() for code in recovery_codes)

        event = AuditEvent.objects.get(action="mfa_enable", object_id=client_user.pk)
        assert (event.before, event.after) == ({"mfa_enabled": False}, {"mfa_enabled": True})
        trail = str(list(AuditEvent.objects.values()))
        logs = caplog.text
        for kept_secret in [secret, device.key, *recovery_codes]:
            assert kept_secret not in trail
            assert kept_secret not in logs

    def test_no_inline_script_on_the_security_pages(self, client, client_user):
        client.force_login(client_user)
        for response in (client.get(SECURITY), client.post(SECURITY, {"step": "start"})):
            policy = response["Content-Security-Policy"]
            assert "script-src 'self'" in policy
            assert "unsafe-inline" not in policy
            assert "<script>" not in response.content.decode()
            assert " on" + "click=" not in response.content.decode()

    def test_turning_it_off_takes_a_fresh_code(self, client, client_user):
        device, _ = enrolled(client_user)
        client.force_login(client_user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        refused = client.post(SECURITY, {"step": "disable", "code": "not-a-code"})
        assert refused.status_code == 400
        assert mfa.mfa_enabled(client_user)
        turned_off = client.post(SECURITY, {"step": "disable", "code": code_for(device, steps_later=1)}, follow=True)
        assert "Multi-factor authentication is <strong>off</strong>" in turned_off.content.decode()
        assert not TOTPDevice.objects.filter(user=client_user).exists()
        assert not StaticToken.objects.filter(device__user=client_user).exists()
        assert AuditEvent.objects.filter(action="mfa_disable", object_id=client_user.pk).exists()


class TestLogon:
    def test_a_code_is_asked_after_the_password_before_anything_else(self, settings, client_user):
        settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp's own pause after a wrong code: not waited for here
        device, _ = enrolled(client_user)
        browser = logged_on_with_password(client_user)
        assert sent_for_code(browser.get("/portal/test-targets/"), "/portal/test-targets/")
        assert browser.get("/api/v1/groups/").status_code == 403
        asked = browser.get(f"{SECURITY}?next=/portal/test-targets/")
        assert "Enter your code" in asked.content.decode()

        wrong = browser.post(SECURITY, {"code": "12345678", "next": "/portal/test-targets/"})
        assert wrong.status_code == 400
        assert sent_for_code(browser.get("/portal/"), "/portal/")

        given = browser.post(SECURITY, {"code": code_for(device, steps_later=1), "next": "/portal/test-targets/"})
        assert (given.status_code, given.url) == (302, "/portal/test-targets/")
        assert browser.get("/portal/test-targets/").status_code == 200

    def test_a_recovery_code_stands_in_for_a_code_once(self, client_user):
        _, recovery_codes = enrolled(client_user)
        first = logged_on_with_password(client_user)
        assert first.post(SECURITY, {"code": recovery_codes[0], "next": "/portal/"}).url == "/portal/"
        assert first.get("/portal/requests/").status_code == 200
        assert StaticToken.objects.filter(device__user=client_user).count() == 9

        again = logged_on_with_password(client_user)
        assert again.post(SECURITY, {"code": recovery_codes[0], "next": "/portal/"}).status_code == 400
        assert sent_for_code(again.get("/portal/"), "/portal/")

    def test_wrong_codes_count_as_failed_logons(self, client_user):
        enrolled(client_user)
        browser = logged_on_with_password(client_user)
        answers = [
            browser.post(SECURITY, {"code": f"00000{n}", "next": "/portal/"})
            for n in range(settings.AXES_FAILURE_LIMIT)
        ]
        assert answers[-1].status_code == 429
        assert "Retry-After" in answers[-1]
        # Logged out, and the password alone no longer lets the user in.
        assert browser.get("/portal/").status_code == 302
        assert Client().post(PORTAL_LOGIN, {"username": client_user.username, "password": PASSWORD}).status_code == 429

    def test_the_admin_login_asks_for_the_code_too(self, account_manager):
        device, _ = enrolled(account_manager)
        browser = logged_on_with_password(account_manager, ADMIN_LOGIN, "/admin/")
        assert sent_for_code(browser.get("/admin/"), "/admin/")
        given = browser.post(SECURITY, {"code": code_for(device, steps_later=1), "next": "/admin/"})
        assert given.url == "/admin/"
        assert browser.get("/admin/").status_code == 200

    def test_without_a_device_the_password_is_enough_outside_production(self, account_manager, finance_user):
        for user in (account_manager, finance_user):
            assert logged_on_with_password(user).get("/portal/").status_code == 200

    def test_api_tokens_are_not_concerned(self, client_user):
        enrolled(client_user)
        answer = Client().post(
            "/api/v1/auth/token/",
            {"username": client_user.username, "password": PASSWORD},
            content_type="application/json",
        )
        assert answer.status_code in (200, 201)


class TestRequiredRoles:
    def test_account_managers_and_finance_are_sent_to_enrol_first(
        self, settings, account_manager, finance_user, client_user
    ):
        settings.DROPCOPY = {**settings.DROPCOPY, "MFA_REQUIRED_ROLES": [Role.ACCOUNT_MANAGER, Role.FINANCE]}
        for user in (account_manager, finance_user):
            browser = logged_on_with_password(user)
            assert sent_for_code(browser.get("/portal/"), "/portal/")
            assert sent_for_code(browser.get("/admin/"), "/admin/")
            page = browser.get(SECURITY).content.decode()
            assert "Your role requires multi-factor authentication" in page
            browser.post(SECURITY, {"step": "start"})
            device = TOTPDevice.objects.get(user=user)
            assert browser.post(SECURITY, {"step": "confirm", "code": code_for(device)}).status_code == 200
            assert browser.get("/portal/").status_code == 200
        assert logged_on_with_password(client_user).get("/portal/requests/").status_code == 200

    def test_production_settings_require_it_of_account_managers_and_finance(self):
        env = _production_env()
        code = (
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.DROPCOPY['MFA_REQUIRED_ROLES'])"
        )
        result = _run(["-c", code], env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().splitlines()[-1] == "['account_manager', 'finance']"


class TestStepUp:
    def test_the_password_is_asked_before_a_key_pair_and_holds_a_few_minutes(self, client, client_user, client_entity):
        target = new_test_target(client_entity)
        client.force_login(client_user)
        asked = client.post(key_pair_url(target))
        assert asked.status_code == 200
        assert "Confirm it is you" in asked.content.decode()
        assert not KeyPair.objects.filter(target=target, is_probe=False).exists()

        wrong = client.post(key_pair_url(target), {"confirm_identity": "1", "password": "not-it"})
        assert wrong.status_code == 400
        assert not KeyPair.objects.filter(target=target, is_probe=False).exists()

        created = client.post(key_pair_url(target), {"confirm_identity": "1", "password": PASSWORD})
        assert created.status_code == 200
        assert "secret_key" in created.context
        # Within the few minutes, the next key pair needs no second confirmation.
        assert "secret_key" in client.post(key_pair_url(target)).context
        assert KeyPair.objects.filter(target=target, is_probe=False).count() == 2

    def test_an_expired_step_up_asks_again(self, client, client_user, client_entity):
        target = new_test_target(client_entity)
        client.force_login(client_user)
        session = client.session
        minutes = settings.DROPCOPY["STEP_UP_VALID_MINUTES"]
        session[IDENTITY_CONFIRMED_AT] = clock.now().timestamp() - minutes * 60 - 1
        session.save()
        asked = client.post(key_pair_url(target))
        assert "Confirm it is you" in asked.content.decode()
        assert not KeyPair.objects.filter(target=target, is_probe=False).exists()

    def test_an_enrolled_user_gives_a_fresh_code(self, client, client_user, client_entity):
        device, _ = enrolled(client_user)
        target = new_test_target(client_entity)
        client.force_login(client_user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        asked = client.post(key_pair_url(target))
        assert 'name="code"' in asked.content.decode()
        password_only = client.post(key_pair_url(target), {"confirm_identity": "1", "password": PASSWORD})
        assert password_only.status_code == 400
        created = client.post(key_pair_url(target), {"confirm_identity": "1", "code": code_for(device, steps_later=1)})
        assert created.status_code == 200
        assert "secret_key" in created.context


def test_a_user_without_a_device_is_not_enrolled(db):
    assert not mfa.mfa_enabled(factories.UserFactory(role=Role.CLIENT, entity=factories.EntityFactory()))

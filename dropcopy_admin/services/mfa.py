"""Multi-factor authentication: an authenticator app's one-time codes (TOTP) and recovery codes.

A user turns it on by adding an authenticator app (its secret is shown once) and confirming it with
a first code; ten recovery codes are then shown once, each usable once instead of a code. Turning it
off takes a fresh code. Every change is audited on the user, saying only whether it is on: no
secret and no code ever reaches the audit trail or a log.

The logon asks for a code after the password (dropcopy_admin/logons.py); the portal asks for the
password, or a code when enrolled, before a key pair is generated (the step-up).
"""

from base64 import b32encode

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import HttpRequest
from django_otp import devices_for_user
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from dropcopy_admin import errors
from dropcopy_admin.models import User

from .audit import audit_record

RECOVERY_CODE_COUNT = 10
AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_CODES_NAME = "Recovery codes"
WRONG_CODE = "That code is not right, or was already used. Try the code your app shows now."


def mfa_enabled(user: User) -> bool:
    """Whether ``user`` has a confirmed authenticator app: every logon then asks for a code."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def mfa_required(user: User) -> bool:
    """Whether ``user``'s role must use a second factor (DROPCOPY ``MFA_REQUIRED_ROLES``)."""
    return user.role in settings.DROPCOPY.get("MFA_REQUIRED_ROLES", ())


def confirmed_authenticator(*, user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def authenticator_secret(device: TOTPDevice) -> str:
    """The secret in base32, as authenticator apps take it when typed in."""
    return b32encode(device.bin_key).decode("ascii")


def authenticator_enrolment_start(*, user: User) -> TOTPDevice:
    """A new, unconfirmed authenticator for ``user`` (replacing any earlier unconfirmed one).

    Its secret is for the page to show this once; the authenticator counts only once confirmed.
    """
    if mfa_enabled(user):
        raise errors.Conflict("Multi-factor authentication is already on. Turn it off first to change the app.")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)


def authenticator_enrolment_confirm(*, user: User, code: str) -> list[str]:
    """Confirm the unconfirmed authenticator with its first code; return the new recovery codes.

    The recovery codes are returned once, for the page to show: only they can be used again.
    """
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
        if device is None:
            raise errors.Conflict("Start again: add the authenticator app first.")
        if not device.verify_token(_digits(code)):
            raise errors.InvalidInput.field("code", WRONG_CODE)
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _recovery_codes_replace(user)
        audit_record(
            actor=user,
            action="mfa_enable",
            instance=user,
            before={"mfa_enabled": False},
            after={"mfa_enabled": True},
        )
    return codes


def _recovery_codes_replace(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_CODES_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def mfa_disable(*, user: User, code: str) -> None:
    """Turn multi-factor authentication off for ``user``, who confirms with a fresh code."""
    with transaction.atomic():
        if not mfa_enabled(user):
            raise errors.Conflict("Multi-factor authentication is not on.")
        if code_device(user=user, code=code) is None:
            raise errors.InvalidInput.field("code", WRONG_CODE)
        for device in devices_for_user(user, confirmed=None):
            device.delete()
        audit_record(
            actor=user,
            action="mfa_disable",
            instance=user,
            before={"mfa_enabled": True},
            after={"mfa_enabled": False},
        )


def _digits(code: str) -> str:
    return "".join(str(code or "").split())


def code_device(*, user: User, code: str) -> Device | None:
    """The confirmed device that accepts ``code`` (an app's code, or a recovery code, which is then
    used up), or None."""
    code = _digits(code)
    if not code:
        return None
    with transaction.atomic():
        for device in devices_for_user(user, confirmed=True):
            if device.verify_token(code):
                return device
    return None


def second_factor_check(*, request: HttpRequest, user: User, code: str) -> Device | None:
    """The device accepting ``code`` at a logon or step-up; a wrong code counts as a failed logon
    for the throttle (django-axes listens to ``user_login_failed``)."""
    device = code_device(user=user, code=code)
    if device is None:
        user_login_failed.send(sender=__name__, credentials={"username": user.get_username()}, request=request)
    return device


def identity_confirm(*, request: HttpRequest, user: User, password: str = "", code: str = "") -> bool:
    """The step-up: ``user`` confirms who they are with a fresh code when enrolled, else their
    password. A wrong answer counts as a failed logon for the throttle."""
    if mfa_enabled(user):
        return second_factor_check(request=request, user=user, code=code) is not None
    if not password:
        return False
    # authenticate() goes through the throttle's backend and reports a failure to it.
    confirmed = authenticate(request, username=user.get_username(), password=password)
    return confirmed is not None and confirmed.pk == user.pk

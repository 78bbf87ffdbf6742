"""Logons: the throttle on failed logons (django-axes) for the token endpoint, the portal's and the
admin's login alike, what a locked-out caller is answered, and the rate-limited password reset.

django-axes counts failed logons per username and per address (``AXES_LOCKOUT_PARAMETERS``);
once either reaches ``AXES_FAILURE_LIMIT`` every logon for that username or from that address is
refused, even with the right password, until ``AXES_COOLOFF_TIME`` has passed since its last
failure. The API answers 429 ``throttled`` with ``Retry-After``; the login pages a page in words.

The second factor: after the password, a user with an authenticator app (or whose role must have
one, DROPCOPY ``MFA_REQUIRED_ROLES``) can do nothing but give a code, or enrol, on the security
page (``SecondFactorMiddleware``); this holds for the portal's login and the admin's alike. API
tokens are not concerned: a token request carries no session.
"""

from urllib.parse import urlencode

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.views import PasswordResetView
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse

from dropcopy_admin.services import mfa, users

API_PREFIX = "/api/"


class LogonThrottleBackend(AxesStandaloneBackend):
    """Refuses logons for a locked-out username or address; authenticates no one itself.

    A logon with no request (the test client's ``login``, ``seed_demo``, management commands) comes
    from no address and is not counted: django-axes would raise for it.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def _in_minutes(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """What a locked-out logon is answered (``AXES_LOCKOUT_CALLABLE``): under /api/ the API's
    envelope, 429 ``throttled`` with ``Retry-After``; elsewhere a page saying how long to wait."""
    retry_after = users.logon_lockout_seconds()
    if request.path.startswith(API_PREFIX):
        if original_response is not None and original_response.status_code == 429:
            return original_response  # the token view's own answer, already in the envelope
        answer = JsonResponse(
            {"code": "throttled", "detail": users.LogonsThrottled().detail},
            status=429,
        )
    else:
        login_url = reverse("admin:login") if request.path.startswith(reverse("admin:index")) else reverse("login")
        answer = render(
            request,
            "registration/locked_out.html",
            {"wait": _in_minutes(retry_after), "login_url": login_url},
            status=429,
        )
    answer["Retry-After"] = str(retry_after)
    return answer


class RateLimitedPasswordResetForm(PasswordResetForm):
    """Django's password reset, mailing each user at most once per DROPCOPY
    ``PASSWORD_RESET_MAIL_INTERVAL_MINUTES``; the page answers the same either way, so it tells
    no one whether an address is known or a mail went out."""

    def get_users(self, email):
        for user in super().get_users(email):
            if users.user_password_reset_mail_claim(user=user):
                yield user


class RateLimitedPasswordResetView(PasswordResetView):
    form_class = RateLimitedPasswordResetForm


class SecondFactorMiddleware:
    """Sends a user logged on with a password alone to the security page until they give a code
    (or, when their role requires a second factor and they have none, until they enrol).

    Under /api/ such a session is answered 403 in the API's envelope instead.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._second_factor_missing(request.user) and not self._always_open(request.path):
            return self._second_factor_asked(request)
        return self.get_response(request)

    @staticmethod
    def _second_factor_missing(user) -> bool:
        if not user.is_authenticated or user.is_verified():
            return False
        return mfa.mfa_enabled(user) or mfa.mfa_required(user)

    @staticmethod
    def _always_open(path: str) -> bool:
        open_paths = (reverse("portal:security"), reverse("logout"), reverse("admin:logout"), reverse("login"))
        return path in open_paths or path.startswith(settings.STATIC_URL)

    @staticmethod
    def _second_factor_asked(request) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            return JsonResponse(
                {
                    "code": "permission_denied",
                    "detail": "Give the code from your authenticator app on the portal first, or use an API token.",
                },
                status=403,
            )
        return HttpResponseRedirect(f"{reverse('portal:security')}?{urlencode({'next': request.get_full_path()})}")

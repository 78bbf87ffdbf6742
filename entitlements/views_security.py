"""The portal's security page, for every logged-on user (staff too): multi-factor authentication.

One page in a few steps: give the code the logon asks for; add an authenticator app (its secret
shown once) and confirm it with a first code, which shows the ten recovery codes once; turn it off
with a fresh code. The decisions and the audit are dropcopy_admin.services.mfa's.
"""

from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from dropcopy_admin import errors
from dropcopy_admin.logons import lockout_response
from dropcopy_admin.services import mfa


class CodeForm(forms.Form):
    code = forms.CharField(label="Code", max_length=40, strip=True)


def _next_url(request) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return wanted
    return settings.LOGIN_REDIRECT_URL


def _locked_out(request) -> bool:
    credentials = {"username": request.user.get_username()}
    return AxesProxyHandler.is_locked(request, credentials) or getattr(request, "axes_locked_out", False)


@login_required
@require_http_methods(["GET", "POST"])
@never_cache
def security_page(request):
    user = request.user
    enabled = mfa.mfa_enabled(user)
    if enabled and not user.is_verified():
        return _second_factor_logon(request)
    if request.method == "POST":
        step = request.POST.get("step")
        if step == "start":
            return _enrolment_start(request)
        if step == "confirm":
            return _enrolment_confirm(request)
        if step == "disable" and enabled:
            return _disable(request)
    return _overview(request, enabled=enabled)


def _overview(request, *, enabled: bool, form=None, status: int = 200):
    context = {"enabled": enabled, "required": mfa.mfa_required(request.user), "form": form or CodeForm()}
    return render(request, "portal/security.html", context, status=status)


def _second_factor_logon(request):
    """After the password: the code from the app, or a recovery code (used once)."""
    if _locked_out(request):
        logout(request)
        return lockout_response(request)
    form = CodeForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        device = mfa.second_factor_check(request=request, user=request.user, code=form.cleaned_data["code"])
        if device is not None:
            request.session.cycle_key()
            otp_login(request, device)
            return redirect(_next_url(request))
        if _locked_out(request):
            logout(request)
            return lockout_response(request)
        form.add_error("code", mfa.WRONG_CODE)
    status = 400 if form.is_bound else 200
    return render(request, "portal/security_logon.html", {"form": form, "next": _next_url(request)}, status=status)


def _enrolment_start(request):
    try:
        device = mfa.authenticator_enrolment_start(user=request.user)
    except errors.DomainError as error:
        messages.error(request, error.for_people)
        return redirect("portal:security")
    context = {
        "secret": mfa.authenticator_secret(device),
        "config_url": device.config_url,
        "form": CodeForm(),
        "next": _next_url(request),
    }
    response = render(request, "portal/security_enrol.html", context)
    response["Pragma"] = "no-cache"
    return response


def _enrolment_confirm(request):
    form = CodeForm(request.POST)
    if form.is_valid():
        try:
            recovery_codes = mfa.authenticator_enrolment_confirm(user=request.user, code=form.cleaned_data["code"])
        except errors.InvalidInput as error:
            form.add_error("code", error.errors["code"])
        except errors.DomainError as error:
            messages.error(request, error.for_people)
            return redirect("portal:security")
        else:
            device = mfa.confirmed_authenticator(user=request.user)
            request.session.cycle_key()
            otp_login(request, device)
            context = {"recovery_codes": recovery_codes, "next": _next_url(request)}
            response = render(request, "portal/security_recovery_codes.html", context)
            response["Pragma"] = "no-cache"
            return response
    context = {"form": form, "next": _next_url(request)}
    return render(request, "portal/security_enrol.html", context, status=400)


def _disable(request):
    form = CodeForm(request.POST)
    if form.is_valid():
        try:
            mfa.mfa_disable(user=request.user, code=form.cleaned_data["code"])
        except errors.InvalidInput as error:
            form.add_error("code", error.errors["code"])
        else:
            messages.success(request, "Multi-factor authentication is off.")
            return redirect("portal:security")
    return _overview(request, enabled=True, form=form, status=400)

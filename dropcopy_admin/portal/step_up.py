"""The identity step-up before a key pair is generated: the user confirms who they are again —
the one-time code of their authenticator app when enrolled, else their password — and is not
asked again for ``DROPCOPY["STEP_UP_VALID_MINUTES"]``.

One mechanism for every target (production, AutoCert+, New Release): the key pair view of
``portal.targets`` calls :func:`identity_step_up`.
"""

import datetime as dt

from django.conf import settings
from django.shortcuts import render

from dropcopy_admin import clock
from dropcopy_admin.services import mfa

# When the user last confirmed who they are, in seconds since the epoch, in their session.
IDENTITY_CONFIRMED_AT = "identity_confirmed_at"


def identity_recently_confirmed(request) -> bool:
    confirmed_at = request.session.get(IDENTITY_CONFIRMED_AT)
    valid_for = dt.timedelta(minutes=settings.DROPCOPY["STEP_UP_VALID_MINUTES"]).total_seconds()
    return isinstance(confirmed_at, int | float) and 0 <= clock.now().timestamp() - confirmed_at <= valid_for


def identity_step_up(request, *, target, back_url: str):
    """None once the user has confirmed who they are within the last few minutes (or does so in
    this POST); else the small form asking for it, which posts back to the key pair action."""
    if identity_recently_confirmed(request):
        return None
    enrolled = mfa.mfa_enabled(request.user)
    answered = "confirm_identity" in request.POST
    if answered and mfa.identity_confirm(
        request=request,
        user=request.user,
        password=request.POST.get("password", ""),
        code=request.POST.get("code", ""),
    ):
        request.session[IDENTITY_CONFIRMED_AT] = clock.now().timestamp()
        return None
    context = {"target": target, "enrolled": enrolled, "refused": answered, "back_url": back_url}
    return render(request, "portal/identity_step_up.html", context, status=400 if answered else 200)

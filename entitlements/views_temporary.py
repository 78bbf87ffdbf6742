"""The portal's pages for temporary targets: a client's certifications (R9) and New Release test
targets (R10) with their key pairs (R11), and the account managers' list of every live temporary
target (renew, rescind).

Thin views: parse the input with a form, call one selector or service, render. Who sees which rows
is ``visible``'s decision; a domain error becomes a message on the page, never a 500.
"""

import base64
import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.db.models import F
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dropcopy_admin import clock, errors
from dropcopy_admin.api.permissions import page_for
from dropcopy_admin.choices import Role, TemporaryKind
from dropcopy_admin.models import (
    FrontEndSystem,
    TargetSession,
)
from dropcopy_admin.selectors.visibility import visible
from dropcopy_admin.services import keys, mfa

from .forms_temporary import CertificationRequestForm, NewReleaseTargetRequestForm
from .selectors import (
    certification_checklist,
    certifications_for_page,
    live_temporary_targets,
    test_targets_for_page,
)
from .services import temporary_targets as services_temporary

client_required = page_for(Role.CLIENT, "These pages are for client administrators.")
account_manager_required = page_for(Role.ACCOUNT_MANAGER, "This page is for account managers.")


def _posted(request):
    """The form data of a POST (even an empty one, which must show the form's errors), else unbound."""
    return request.POST if request.method == "POST" else None


def _utc(moment) -> str:
    return f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC" if moment is not None else "never"


def _error_message(request, error: errors.DomainError) -> None:
    messages.error(request, error.for_people)


# --- client pages ------------------------------------------------------------------------------


def _submit(request, form, *, service, done) -> tuple[bool, int]:
    """Call ``service`` with the valid form's data for the client's entity.

    (True, 200) when it succeeded (its message added); else (False, status to re-show the page with).
    """
    if request.method != "POST":
        return False, 200
    if not form.is_valid():
        return False, 400
    try:
        created = service(actor=request.user, entity=request.user.entity, **form.cleaned_data)
    except errors.DomainError as error:
        _error_message(request, error)
        return False, error.status
    messages.success(request, done(created))
    return True, 200


@client_required
@require_http_methods(["GET", "POST"])
def certifications_page(request):
    """The entity's certifications, and the form that requests one (R9)."""
    systems = visible(request.user, FrontEndSystem).order_by(F("entity_id").asc(nulls_last=True), "name", "id")
    form = CertificationRequestForm(_posted(request), front_end_systems=systems)
    created, status = _submit(
        request,
        form,
        service=services_temporary.certification_request,
        done=lambda certification: (
            f"Certification requested for {certification.front_end_system.name} on "
            f"{certification.venue_id} {certification.gateway_type}; its AutoCert+ target is being prepared."
        ),
    )
    if created:
        return redirect("portal:certifications")
    certifications = list(certifications_for_page(request.user))
    for certification in certifications:
        certification.checklist = certification_checklist(certification)
    return render(
        request,
        "portal/certifications.html",
        {"form": form, "certifications": certifications, "now": clock.now()},
        status=status,
    )


@client_required
@require_http_methods(["GET", "POST"])
def test_targets_page(request):
    """The entity's New Release test targets, and the form that requests one (R10)."""
    form = NewReleaseTargetRequestForm(_posted(request))
    created, status = _submit(
        request,
        form,
        service=services_temporary.new_release_target_request,
        done=lambda target: (
            f"New Release test target {target.target_comp_id} requested on {target.venue_id} {target.gateway_type}."
        ),
    )
    if created:
        return redirect("portal:test-targets")
    return render(
        request,
        "portal/test_targets.html",
        {"form": form, "targets": test_targets_for_page(request.user), "now": clock.now()},
        status=status,
    )


_PAGE_OF_KIND = {TemporaryKind.NEW_RELEASE: "portal:test-targets", TemporaryKind.AUTOCERT: "portal:certifications"}


# The step-up: when the user last confirmed who they are, in seconds since the epoch.
IDENTITY_CONFIRMED_AT = "identity_confirmed_at"


def _identity_recently_confirmed(request) -> bool:
    confirmed_at = request.session.get(IDENTITY_CONFIRMED_AT)
    valid_for = dt.timedelta(minutes=settings.DROPCOPY["STEP_UP_VALID_MINUTES"]).total_seconds()
    return isinstance(confirmed_at, int | float) and 0 <= clock.now().timestamp() - confirmed_at <= valid_for


def _identity_step_up(request, target):
    """None once the user has confirmed who they are (the password, or a code when enrolled) within
    the last few minutes; else the small form asking for it, posting back to the same action."""
    if _identity_recently_confirmed(request):
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
    context = {
        "target": target,
        "enrolled": enrolled,
        "refused": answered,
        "back_url_name": _PAGE_OF_KIND[target.temporary],
    }
    return render(request, "portal/identity_step_up.html", context, status=400 if answered else 200)


@client_required
@require_POST
@never_cache
def key_pair_generate(request, target_id: int):
    """Create a key pair and show its Secret Key and key file in this answer only (R11).

    The user first confirms who they are (``_identity_step_up``). The key file travels inside the
    page as a ``data:`` URL, so no later request can serve the secret again; the answer is never
    cached.
    """
    targets = visible(request.user, TargetSession).filter(temporary__isnull=False).select_related("entity")
    target = get_object_or_404(targets, pk=target_id)
    step_up = _identity_step_up(request, target)
    if step_up is not None:
        return step_up
    try:
        created = keys.key_pair_create(actor=request.user, target=target)
    except errors.DomainError as error:
        _error_message(request, error)
        return redirect(_PAGE_OF_KIND[target.temporary])
    key_file_url = "data:text/csv;charset=utf-8;base64," + base64.b64encode(created.key_file.encode()).decode("ascii")
    response = render(
        request,
        "portal/key_pair_created.html",
        {
            "target": target,
            "key_pair": created.key_pair,
            "secret_key": created.secret_key,
            "key_file_url": key_file_url,
            "key_file_name": f"{target.target_comp_id}-{created.key_pair.access_key_id}.csv",
            "back_url_name": _PAGE_OF_KIND[target.temporary],
        },
    )
    response["Pragma"] = "no-cache"
    return response


# --- account managers' page --------------------------------------------------------------------


@account_manager_required
@require_GET
def temporary_targets_page(request):
    """Every live temporary target: AutoCert+ and New Release, soonest expiry first."""
    return render(
        request,
        "portal/temporary_targets.html",
        {"targets": live_temporary_targets(request.user), "now": clock.now()},
    )


def _temporary_target_action(request, target_id: int, *, service, done):
    target = get_object_or_404(visible(request.user, TargetSession).filter(temporary__isnull=False), pk=target_id)
    try:
        target = service(actor=request.user, target=target)
    except errors.DomainError as error:
        _error_message(request, error)
    else:
        messages.success(request, done(target))
    return redirect("portal:temporary-targets")


@account_manager_required
@require_POST
def temporary_target_renew(request, target_id: int):
    return _temporary_target_action(
        request,
        target_id,
        service=services_temporary.new_release_target_renew,
        done=lambda target: f"Renewed {target.target_comp_id}: it now expires {_utc(target.expires_at)}.",
    )


@account_manager_required
@require_POST
def temporary_target_rescind(request, target_id: int):
    return _temporary_target_action(
        request,
        target_id,
        service=services_temporary.temporary_target_rescind,
        done=lambda target: f"Rescinded {target.target_comp_id}: closed, its keys revoked and its port freed.",
    )

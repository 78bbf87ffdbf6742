"""The portal for users who are not staff: a home page, and the clearing firm's approval queue (R8).

Thin views: parse the input with a form, call one selector or service, render.
"""

import csv
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from dropcopy_admin import clock, errors
from dropcopy_admin.api.permissions import page_for
from dropcopy_admin.choices import GatewayType, Role
from dropcopy_admin.models import Membership
from dropcopy_admin.selectors.visibility import role_of, visible
from dropcopy_admin.spreadsheets import safe_csv_cell as _csv_cell

from .choices import Decision
from .forms import DecisionForm, PreviewForm, QueueFilterForm
from .selectors import approval_queue, approval_queue_entities, approval_queue_pending, request_age
from .services.memberships import memberships_decide, targets_preview

QUEUE_PAGE_SIZE = 100
EXPORT_HEADER = [
    "membership_id",
    "group",
    "entity_code",
    "entity_name",
    "sender_comp_id",
    "venue",
    "environment",
    "requested_by",
    "requested_at",
    "age_days",
]
_DONE = {Decision.APPROVE: "Approved", Decision.REJECT: "Rejected"}


clearing_firm_required = page_for(Role.CLEARING_FIRM, "The approval queue is for clearing firm administrators.")


@login_required
@require_GET
def portal_home(request):
    role = role_of(request.user)
    if role == Role.CLEARING_FIRM:
        return redirect("portal:approval-queue")
    if role == Role.CLIENT:
        return redirect("portal:requests")
    return render(request, "portal/home.html")


def _filter_form(request) -> QueueFilterForm:
    return QueueFilterForm(request.GET, entities=approval_queue_entities(user=request.user))


@clearing_firm_required
@require_GET
def approval_queue_list(request):
    if "preview" in request.GET:
        return _request_preview(request)
    filter_form = _filter_form(request)
    filters = filter_form.filters()
    page = Paginator(approval_queue(user=request.user, filters=filters), QUEUE_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    sort_links = {
        key: _query_with(query, sort=f"-{key}" if filters.sort == key else key)
        for key in ("age", "sender_comp_id", "entity")
    }
    return render(
        request,
        "portal/approval_queue.html",
        {
            "filter_form": filter_form,
            "filters": filters,
            "page": page,
            "query": query.urlencode(),
            "sort_links": sort_links,
            "now": clock.now(),
            "reason_max_length": DecisionForm.base_fields["reason"].max_length,
            "pending_lifetime_days": settings.DROPCOPY["PENDING_REQUEST_LIFETIME_DAYS"],
        },
    )


def _request_preview(request):
    """What approving one pending request now would do: the partial (htmx) or a plain page."""
    form = PreviewForm(request.GET, memberships=approval_queue_pending(user=request.user))
    if not form.is_valid():
        raise Http404("No such pending request in your queue.")
    membership = form.cleaned_data["preview"]
    context = {"membership": membership, "outcome": _preview_outcome(membership)}
    if request.htmx:
        return render(request, "portal/includes/request_preview.html", context)
    return render(request, "portal/includes/request_preview_page.html", context)


def _preview_outcome(membership) -> dict:
    """The plan of approving ``membership`` now, in words: the target it joins or opens, or why not."""
    session = membership.source_session
    try:
        plan = targets_preview(group=membership.group, sessions=[session])
    except errors.DomainError as error:
        return {"refused": True, "text": f"Approving it now would be refused: {error.for_people}"}
    placement = plan.placements[0]
    if placement.error is not None:
        return {"refused": True, "text": f"Approving it now would be refused: {placement.error.for_people}"}
    if placement.target is not None:
        target = placement.target
        return {
            "refused": False,
            "text": (
                f"Joins target {target.target_comp_id} ({target.used:,} of {target.capacity:,} used)"
                f" of the group {membership.group.name}."
            ),
        }
    if session.gateway_type == GatewayType.CGW and session.cgw_gateway is not None:
        where = f"iLink gateway {session.cgw_gateway.code} ({session.venue_id}, {session.get_environment_display()})"
    else:
        where = f"{session.venue_id} {session.get_environment_display()}"
    return {
        "refused": False,
        "text": f"Opens a new {session.gateway_type} target for {where} in the group {membership.group.name}.",
    }


def _query_with(query, **changes) -> str:
    query = query.copy()
    for key, value in changes.items():
        query[key] = value
    return query.urlencode()


@clearing_firm_required
@require_POST
def approval_queue_decide(request):
    form = DecisionForm(
        request.POST,
        memberships=visible(request.user, Membership)
        .select_related("group", "group__entity", "source_session")
        .order_by("pk"),
    )
    if not form.is_valid():
        for field_errors in form.errors.values():
            for error in field_errors:
                messages.error(request, error)
        return _back_to_queue(form.data.get("query", ""))
    decision = form.cleaned_data["decision"]
    selected = list(form.cleaned_data["memberships"])
    try:
        outcomes = memberships_decide(
            actor=request.user, memberships=selected, decision=decision, reason=form.cleaned_data["reason"]
        )
    except errors.DomainError as error:
        messages.error(request, error.for_people)
        return _back_to_queue(form.cleaned_data["query"])
    by_id = {m.pk: m for m in selected}
    for outcome in outcomes:
        membership = by_id[outcome.key]
        group = membership.group
        label = f"{membership.source_session.sender_comp_id} in {group.name} ({group.entity.code})"
        if outcome.error is not None:
            messages.error(request, f"{label}: {outcome.error.for_people}")
        else:
            messages.success(request, f"{_DONE[decision]} {label}.")
    return _back_to_queue(form.cleaned_data["query"])


def _back_to_queue(query: str):
    """Back to the queue as the user had narrowed it; only a re-encoded query string is kept."""
    kept = QueryDict(query or "").copy()
    kept.pop("page", None)
    url = reverse("portal:approval-queue")
    params = urlencode([(key, value) for key, values in kept.lists() for value in values])
    return redirect(f"{url}?{params}" if params else url)


@clearing_firm_required
@require_GET
def approval_queue_export(request):
    filters = _filter_form(request).filters()
    now = clock.now()
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="approval-queue-{now:%Y%m%d-%H%M%S}.csv"'
    writer = csv.writer(response)
    writer.writerow(EXPORT_HEADER)
    for membership in approval_queue(user=request.user, filters=filters).iterator(chunk_size=2000):
        session = membership.source_session
        entity = membership.group.entity
        writer.writerow(
            [
                membership.pk,
                _csv_cell(membership.group.name),
                _csv_cell(entity.code),
                _csv_cell(entity.name),
                session.sender_comp_id,
                session.venue_id,
                session.environment,
                _csv_cell(membership.requested_by.get_username()),
                clock.utc_iso(membership.requested_at),
                request_age(membership, now=now).days,
            ]
        )
    return response

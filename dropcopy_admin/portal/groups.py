"""Portal pages: a client's Drop Copy groups — list, detail, the creation wizard, editing, adding
sessions, withdrawing memberships, closing.

Thin views: a form parses the input, one service writes (the core's group services, entitlements'
membership workflow, billing's fee preview), refusals are shown beside the field they concern.
The wizard keeps its state in the session; htmx swaps its steps, plain forms work as well.
"""

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Case, Count, Q, Value, When
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dropcopy_admin import errors
from dropcopy_admin.api.permissions import page_for
from dropcopy_admin.choices import (
    LIVE_MEMBERSHIP_STATUSES,
    Environment,
    GroupStatus,
    MembershipStatus,
    Role,
)
from dropcopy_admin.models import DropCopyGroup, Membership, SourceSession, Venue
from dropcopy_admin.selectors.visibility import visible
from dropcopy_admin.services.groups import group_close, group_require_writer, group_update
from entitlements.services.memberships import membership_end, memberships_request, targets_preview

from .group_forms import (
    MANDATORY_FILTER_LABELS,
    GroupDetailsForm,
    GroupEditForm,
    GroupListFilterForm,
    MessageFiltersForm,
    SessionPickForm,
    filters_in_words,
    readable_sessions,
)
from .group_wizard import (
    close_bill_words,
    fee_words,
    group_create_with_sessions,
    impact_of,
    plan_for_new_group,
)

client_required = page_for(Role.CLIENT, "Groups are managed by client administrators.")

PAGE_SIZE = 50
MEMBERSHIP_PAGE_SIZE = 100
SEARCH_LIMIT = 20
WIZARD_KEY = "group_wizard"
STEPS = [
    ("fee", "Fee"),
    ("details", "Name and system"),
    ("filters", "Messages"),
    ("sessions", "Source SenderComps"),
    ("review", "Review"),
]
STEP_NAMES = [name for name, _ in STEPS]
# Which field of the wizard a service's refusal concerns.
_FIELD_OF_CODE = {"already_exists": "name", "certification_required": "front_end_system"}


def _status_for_errors(request) -> int:
    """htmx 2 swaps no 4xx answer: a form shown again with its errors is 200 to htmx, 400 otherwise."""
    return 200 if request.htmx else 400


def _client_groups(request):
    return visible(request.user, DropCopyGroup)


def _group_or_404(request, group_id: int) -> DropCopyGroup:
    return get_object_or_404(_client_groups(request).select_related("entity", "venue", "front_end_system"), pk=group_id)


def _domain_error_fields(error: errors.DomainError) -> dict[str, list[str]]:
    if error.errors:
        return error.errors
    field = _FIELD_OF_CODE.get(error.code)
    return {field: [error.for_people]} if field else {}


def _add_domain_error(form, error: errors.DomainError) -> None:
    """The refusal beside its field when the form has it, else above the form."""
    placed = False
    for field, field_messages in _domain_error_fields(error).items():
        if field in form.fields:
            for message in field_messages:
                form.add_error(field, message)
            placed = True
    if not placed:
        form.add_error(None, error.for_people)


# --- list ----------------------------------------------------------------------------------------


def _groups_for_list(request, filters: dict):
    groups = _client_groups(request).select_related("venue", "front_end_system")
    if filters["status"] == "open":
        groups = groups.filter(status=GroupStatus.ACTIVE)
    elif filters["status"] == "closed":
        groups = groups.filter(status=GroupStatus.CLOSED)
    if filters["venue"] is not None:
        groups = groups.filter(venue=filters["venue"])
    if filters["environment"]:
        groups = groups.filter(environment=filters["environment"])
    if filters["q"]:
        groups = groups.filter(name__icontains=filters["q"])
    return groups.annotate(
        approved_count=Count("memberships", filter=Q(memberships__status=MembershipStatus.APPROVED), distinct=True),
        pending_count=Count("memberships", filter=Q(memberships__status=MembershipStatus.PENDING), distinct=True),
        targets_count=Count("targets", filter=~Q(targets__status="closed"), distinct=True),
    ).order_by("status", "-opened_at", "pk")


@client_required
@require_GET
def groups_page(request):
    form = GroupListFilterForm(request.GET)
    filters = form.filters()
    page = Paginator(_groups_for_list(request, filters), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filter_form": form,
        "page": page,
        "query": query.urlencode(),
        "filtered": bool(filters["q"] or filters["venue"] or filters["environment"] or filters["status"] != "open"),
        "has_any": _client_groups(request).exists(),
    }
    if request.htmx and request.htmx.target == "groups-results":
        return render(request, "portal/includes/group_list_results.html", context)
    return render(request, "portal/groups.html", context)


# --- detail, withdraw ----------------------------------------------------------------------------


@client_required
@require_GET
def group_detail(request, group_id: int):
    group = _group_or_404(request, group_id)
    memberships = (
        group.memberships.select_related("source_session", "source_session__clearing_firm", "target")
        .annotate(live=Case(When(status__in=LIVE_MEMBERSHIP_STATUSES, then=Value(0)), default=Value(1)))
        .order_by("live", "source_session__sender_comp_id", "pk")
    )
    page = Paginator(memberships, MEMBERSHIP_PAGE_SIZE).get_page(request.GET.get("page"))
    targets = group.targets.select_related("cgw_gateway").order_by("status", "pk")
    return render(
        request,
        "portal/group_detail.html",
        {
            "group": group,
            "filters_words": filters_in_words(group.message_filters),
            "page": page,
            "targets": targets,
            "live_statuses": list(LIVE_MEMBERSHIP_STATUSES),
        },
    )


@client_required
@require_POST
def membership_withdraw(request, group_id: int, membership_id: int):
    group = _group_or_404(request, group_id)
    membership = get_object_or_404(
        visible(request.user, Membership).filter(group=group).select_related("source_session", "group"),
        pk=membership_id,
    )
    try:
        group_require_writer(request.user, group=group)
        ended = membership_end(actor=request.user, membership=membership)
    except errors.DomainError as error:
        messages.error(request, error.for_people)
    else:
        done = "withdrawn" if ended.status == MembershipStatus.WITHDRAWN else "removed from the group"
        messages.success(request, f"{membership.source_session.sender_comp_id} {done}.")
    return redirect("portal:group-detail", group_id=group.pk)


# --- edit ----------------------------------------------------------------------------------------


@client_required
@require_http_methods(["GET", "POST"])
def group_edit(request, group_id: int):
    group = _group_or_404(request, group_id)
    if not group.is_open:
        messages.error(request, f"{group.name} is closed and can no longer change.")
        return redirect("portal:group-detail", group_id=group.pk)
    initial = {
        "name": group.name,
        "front_end_system": group.front_end_system_id,
        "message_filters": list(group.message_filters),
    }
    form = GroupEditForm(request.POST if request.method == "POST" else None, initial=initial, user=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                group_require_writer(request.user, group=group)
                group_update(
                    actor=request.user,
                    group=group,
                    name=form.cleaned_data["name"],
                    message_filters=form.chosen(),
                    front_end_system=form.cleaned_data["front_end_system"],
                )
            except errors.DomainError as error:
                _add_domain_error(form, error)
            else:
                messages.success(request, f"{form.cleaned_data['name']} saved.")
                return redirect("portal:group-detail", group_id=group.pk)
        status = _status_for_errors(request)
    return render(
        request,
        "portal/group_edit.html",
        {"group": group, "form": form, "mandatory": MANDATORY_FILTER_LABELS},
        status=status,
    )


# --- close ---------------------------------------------------------------------------------------


@client_required
@require_http_methods(["GET", "POST"])
def group_close_page(request, group_id: int):
    group = _group_or_404(request, group_id)
    if not group.is_open:
        messages.info(request, f"{group.name} is already closed.")
        return redirect("portal:group-detail", group_id=group.pk)
    if request.method == "POST":
        try:
            group_require_writer(request.user, group=group)
            group_close(actor=request.user, group=group)
        except errors.DomainError as error:
            messages.error(request, error.for_people)
        else:
            messages.success(request, f"{group.name} closed: its memberships ended and its targets closed.")
            return redirect("portal:group-detail", group_id=group.pk)
    live = group.memberships.filter(status__in=LIVE_MEMBERSHIP_STATUSES).aggregate(
        approved=Count("pk", filter=Q(status=MembershipStatus.APPROVED)),
        pending=Count("pk", filter=Q(status=MembershipStatus.PENDING)),
    )
    return render(
        request,
        "portal/group_close.html",
        {
            "group": group,
            "live": live,
            "open_targets": group.targets.exclude(status="closed").order_by("pk"),
            "bill_words": close_bill_words(group),
        },
    )


# --- choosing sessions: search, paste, preview, outcomes -----------------------------------------


@client_required
@require_GET
def session_search(request):
    """Search-as-you-type over the sessions the entity may read, of one venue and environment."""
    venue = request.GET.get("venue", "")
    environment = request.GET.get("environment", "")
    q = (request.GET.get("q") or "").strip().upper()[:20]
    results = _search_results(request, venue=venue, environment=environment, q=q)
    return render(request, "portal/includes/session_search_results.html", {"results": results, "q": q})


def _search_results(request, *, venue: str, environment: str, q: str):
    if not q or environment not in Environment.values or not Venue.objects.filter(pk=venue).exists():
        return None
    return list(
        readable_sessions(request.user)
        .filter(venue_id=venue, environment=environment, sender_comp_id__icontains=q)
        .order_by("sender_comp_id", "pk")[:SEARCH_LIMIT]
    )


def outcome_rows(outcomes, sessions) -> list[dict]:
    by_id = {session.pk: session for session in sessions}
    rows = []
    for outcome in outcomes:
        session = by_id[outcome.key]
        if outcome.error is not None:
            rows.append({"session": session, "kind": "refused", "words": f"Refused: {outcome.error.for_people}"})
        elif outcome.membership.status == MembershipStatus.APPROVED:
            rows.append(
                {
                    "session": session,
                    "kind": "approved",
                    "words": f"Approved automatically. {outcome.membership.reason}",
                }
            )
        else:
            firm = session.clearing_firm.name if session.clearing_firm_id else "its clearing firm"
            rows.append({"session": session, "kind": "pending", "words": f"Pending: waits for {firm} to decide."})
    return rows


def _outcome_message(request, group, rows) -> None:
    counts = {kind: sum(1 for row in rows if row["kind"] == kind) for kind in ("approved", "pending", "refused")}
    parts = [f"{counts['approved']} approved automatically", f"{counts['pending']} pending a clearing firm"]
    if counts["refused"]:
        parts.append(f"{counts['refused']} refused")
    messages.success(request, f"Sessions requested for {group.name}: {', '.join(parts)}.")


@client_required
@require_http_methods(["GET", "POST"])
def group_add_sessions(request, group_id: int):
    group = _group_or_404(request, group_id)
    if not group.is_open:
        messages.error(request, f"{group.name} is closed; no session can be added.")
        return redirect("portal:group-detail", group_id=group.pk)
    go = request.POST.get("go", "preview")
    form = SessionPickForm(
        request.POST if request.method == "POST" else None,
        user=request.user,
        venue_code=group.venue_id,
        environment=group.environment,
        require_one=go != "search",
    )
    context = {"group": group, "form": form, "impact": None, "rows": None, "chosen": []}
    status = 200
    if request.method == "POST":
        if not form.is_valid():
            status = _status_for_errors(request)
        else:
            chosen = form.cleaned_data["chosen"]
            context["chosen"] = chosen
            if go == "submit" and chosen:
                try:
                    group_require_writer(request.user, group=group)
                    outcomes = memberships_request(actor=request.user, group=group, sessions=chosen)
                except errors.DomainError as error:
                    form.add_error(None, error.for_people)
                    status = _status_for_errors(request)
                else:
                    context["rows"] = outcome_rows(outcomes, chosen)
                    _outcome_message(request, group, context["rows"])
            elif chosen:
                try:
                    context["impact"] = impact_of(targets_preview(group=group, sessions=chosen))
                except errors.DomainError as error:
                    form.add_error(None, error.for_people)
        context["results"] = _search_results(
            request,
            venue=group.venue_id,
            environment=group.environment,
            q=(request.POST.get("q") or "").strip().upper(),
        )
    return render(request, "portal/group_add_sessions.html", context, status=status)


# --- the creation wizard -------------------------------------------------------------------------


def _state(request) -> dict:
    return dict(request.session.get(WIZARD_KEY) or {})


def _save_state(request, state: dict) -> None:
    request.session[WIZARD_KEY] = state


def _first_incomplete(state: dict) -> str:
    for name, key in (("fee", "fee_seen"), ("details", "details"), ("filters", "filters"), ("sessions", "sessions")):
        if key not in state:
            return name
    return "review"


def _details_from_state(request, state) -> dict | None:
    """The details step's values as objects, or None when they no longer hold (e.g. a system gone)."""
    saved = state.get("details")
    if not saved:
        return None
    form = GroupDetailsForm(saved, user=request.user)
    return form.cleaned_data if form.is_valid() else None


def _chosen_sessions(request, state) -> list[SourceSession]:
    details = state.get("details") or {}
    ids = state.get("sessions") or []
    found = {
        s.pk: s
        for s in readable_sessions(request.user).filter(
            pk__in=ids, venue_id=details.get("venue"), environment=details.get("environment")
        )
    }
    return [found[pk] for pk in ids if pk in found]


def _step_context(request, state: dict, step: str, form=None, **extra) -> dict:
    context = {
        "step": step,
        "steps": STEPS,
        "step_index": STEP_NAMES.index(step),
        "state": state,
        "form": form,
        "mandatory": MANDATORY_FILTER_LABELS,
    }
    if step == "fee":
        context["fee"] = fee_words(request.user.entity)
    if step in ("sessions", "review"):
        details = state.get("details") or {}
        context["venue"] = details.get("venue")
        context["environment"] = details.get("environment")
        if details.get("environment") in Environment.values:
            context["environment_label"] = Environment(details["environment"]).label
    if step == "review":
        details = _details_from_state(request, state)
        sessions = _chosen_sessions(request, state)
        fee = fee_words(request.user.entity, details["environment"])
        seen = state.get("fee_seen")
        context.update(
            {
                "details": details,
                "environment_label": Environment(details["environment"]).label,
                "filters_words": filters_in_words(state.get("filters")),
                "sessions": sessions,
                "fee": fee,
                "fee_changed": details["environment"] == Environment.PRODUCTION
                and seen is not None
                and Decimal(seen) != fee.monthly_fee,
                "impact": impact_of(
                    plan_for_new_group(
                        entity=request.user.entity,
                        venue_code=details["venue"].code,
                        environment=details["environment"],
                        sessions=sessions,
                    )
                ),
            }
        )
    context.update(extra)
    return context


def _render_step(request, state, step, form=None, status=200, **extra):
    if step == "review" and _details_from_state(request, state) is None:
        step = "details"
        form = form or GroupDetailsForm(state.get("details"), user=request.user)
    if form is None:
        form = _unbound_form(request, state, step)
    context = _step_context(request, state, step, form, **extra)
    if step == "sessions":
        context["results"] = extra.get("results")
        cleaned = getattr(form, "cleaned_data", None) or {}
        context["chosen_sessions"] = (
            cleaned.get("chosen")
            or list(cleaned.get("sessions") or [])
            or (_chosen_sessions(request, state) if not form.is_bound else [])
        )
    template = "portal/includes/group_wizard_step.html" if request.htmx else "portal/group_wizard.html"
    return render(request, template, context, status=status)


def _unbound_form(request, state, step):
    if step == "details":
        return GroupDetailsForm(initial=state.get("details") or {}, user=request.user)
    if step == "filters":
        chosen = state.get("filters")
        return MessageFiltersForm(initial={"message_filters": chosen if chosen is not None else []})
    if step == "sessions":
        details = state.get("details") or {}
        return SessionPickForm(
            initial={"sessions": state.get("sessions") or []},
            user=request.user,
            venue_code=details.get("venue"),
            environment=details.get("environment"),
        )
    return None


def _redirect_to_step(request, step: str):
    url = f"{reverse('portal:group-create')}?step={step}"
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Location"] = url
        return response
    return redirect(url)


@client_required
@require_http_methods(["GET", "POST"])
def group_create_wizard(request):
    state = _state(request)
    if request.method == "GET":
        step = request.GET.get("step") or "fee"
        if step not in STEP_NAMES:
            step = "fee"
        earliest = _first_incomplete(state)
        if STEP_NAMES.index(step) > STEP_NAMES.index(earliest):
            step = earliest
        return _render_step(request, state, step)

    step = request.POST.get("step", "")
    go = request.POST.get("go", "next")
    if step not in STEP_NAMES:
        return _render_step(request, state, _first_incomplete(state))
    if go == "cancel":
        request.session.pop(WIZARD_KEY, None)
        messages.info(request, "Group creation cancelled: nothing was created.")
        if request.htmx:
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse("portal:groups")
            return response
        return redirect("portal:groups")
    if go == "back":
        index = max(STEP_NAMES.index(step) - 1, 0)
        return _render_step(request, state, STEP_NAMES[index])
    if STEP_NAMES.index(step) > STEP_NAMES.index(_first_incomplete(state)):
        return _render_step(request, state, _first_incomplete(state))
    return _WIZARD_STEPS[step](request, state, go)


def _step_fee(request, state, go):
    state["fee_seen"] = str(fee_words(request.user.entity).monthly_fee)
    _save_state(request, state)
    return _render_step(request, state, "details")


def _step_details(request, state, go):
    form = GroupDetailsForm(request.POST, user=request.user)
    if not form.is_valid():
        return _render_step(request, state, "details", form, status=_status_for_errors(request))
    data = form.cleaned_data
    previous = state.get("details") or {}
    state["details"] = {
        "name": data["name"],
        "venue": data["venue"].code,
        "environment": data["environment"],
        "front_end_system": data["front_end_system"].pk,
    }
    if (previous.get("venue"), previous.get("environment")) != (data["venue"].code, data["environment"]):
        state.pop("sessions", None)  # sessions of another venue or environment no longer fit
    _save_state(request, state)
    return _render_step(request, state, "filters")


def _step_filters(request, state, go):
    form = MessageFiltersForm(request.POST)
    if not form.is_valid():
        return _render_step(request, state, "filters", form, status=_status_for_errors(request))
    state["filters"] = form.chosen()
    _save_state(request, state)
    return _render_step(request, state, "sessions")


def _step_sessions(request, state, go):
    details = state["details"]
    form = SessionPickForm(
        request.POST,
        user=request.user,
        venue_code=details["venue"],
        environment=details["environment"],
        require_one=go != "search",
    )
    q = (request.POST.get("q") or "").strip().upper()
    results = _search_results(request, venue=details["venue"], environment=details["environment"], q=q)
    if not form.is_valid():
        return _render_step(request, state, "sessions", form, status=_status_for_errors(request), results=results)
    if go == "search":
        return _render_step(request, state, "sessions", form, results=results)
    state["sessions"] = [session.pk for session in form.cleaned_data["chosen"]]
    _save_state(request, state)
    return _render_step(request, state, "review")


def _posted_fee(request) -> Decimal | None:
    try:
        return Decimal(request.POST.get("confirmed_monthly_fee", ""))
    except (InvalidOperation, ValueError):
        return None


def _step_review(request, state, go):
    details = _details_from_state(request, state)
    if details is None:
        return _render_step(request, state, "details")
    fee = fee_words(request.user.entity, details["environment"])
    confirmed = _posted_fee(request)
    production = details["environment"] == Environment.PRODUCTION
    if production and confirmed != fee.monthly_fee:
        # The page showed another fee than today's: nothing is written; the new fee is confirmed anew.
        state["fee_seen"] = str(fee.monthly_fee)
        _save_state(request, state)
        return _render_step(request, state, "review", status=200 if request.htmx else 409, stale=True)
    sessions = _chosen_sessions(request, state)
    try:
        group_require_writer(request.user)
        group, outcomes = group_create_with_sessions(
            actor=request.user,
            entity=request.user.entity,
            details=details,
            message_filters=state.get("filters"),
            sessions=sessions,
            fee=confirmed,
        )
    except errors.DomainError as error:
        if error.code == "fee_changed":
            state["fee_seen"] = str(fee_words(request.user.entity).monthly_fee)
            _save_state(request, state)
            return _render_step(request, state, "review", status=200 if request.htmx else 409, stale=True)
        fields = _domain_error_fields(error)
        if any(field in GroupDetailsForm.base_fields for field in fields):
            form = GroupDetailsForm(state["details"], user=request.user)
            form.is_valid()
            _add_domain_error(form, error)
            return _render_step(request, state, "details", form, status=_status_for_errors(request))
        return _render_step(request, state, "review", status=_status_for_errors(request), refusal=error.for_people)
    request.session.pop(WIZARD_KEY, None)
    rows = outcome_rows(outcomes, sessions)
    messages.success(request, f"Group {group.name} created.")
    if rows:
        _outcome_message(request, group, rows)
        for row in rows:
            if row["kind"] == "refused":
                messages.warning(request, f"{row['session'].sender_comp_id}: {row['words']}")
    url = reverse("portal:group-detail", kwargs={"group_id": group.pk})
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


_WIZARD_STEPS = {
    "fee": _step_fee,
    "details": _step_details,
    "filters": _step_filters,
    "sessions": _step_sessions,
    "review": _step_review,
}


urlpatterns = [
    path("groups/", groups_page, name="groups"),
    path("groups/new/", group_create_wizard, name="group-create"),
    path("groups/sessions/search/", session_search, name="group-session-search"),
    path("groups/<int:group_id>/", group_detail, name="group-detail"),
    path("groups/<int:group_id>/edit/", group_edit, name="group-edit"),
    path("groups/<int:group_id>/sessions/add/", group_add_sessions, name="group-add-sessions"),
    path("groups/<int:group_id>/close/", group_close_page, name="group-close"),
    path(
        "groups/<int:group_id>/memberships/<int:membership_id>/withdraw/",
        membership_withdraw,
        name="group-membership-withdraw",
    ),
]

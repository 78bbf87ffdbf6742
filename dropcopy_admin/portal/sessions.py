"""Portal pages: a client's source sessions — the list, registering one, importing a CSV file, and
importing a file of SenderCompIDs into one of the entity's groups.

Thin views: a form parses the input, one service writes (``source_session_create``,
``source_sessions_import``, entitlements' ``memberships_request``), refusals are shown beside the
field they concern, in words. Both imports use one upload component (``portal/includes/upload.html``
and ``static/portal/upload.js``): an htmx multipart upload with a progress bar that swaps its
answer into the page, or, without JavaScript, a plain form whose answer is the same page.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from dropcopy_admin import errors
from dropcopy_admin.api.permissions import page_for
from dropcopy_admin.choices import LIVE_MEMBERSHIP_STATUSES, MembershipStatus, Role
from dropcopy_admin.models import DropCopyGroup, Membership, SourceSession
from dropcopy_admin.selectors.visibility import visible
from dropcopy_admin.services.source_sessions import (
    GFID_DEFAULT,
    IMPORT_ERRORS_LISTED,
    IMPORT_HEADER,
    source_session_create,
    source_sessions_import,
)
from entitlements.services.memberships import memberships_request

from .session_files import (
    GROUP_IMPORT_COLUMN,
    BadLine,
    FileRefused,
    bad_lines_data_url,
    group_import_lines,
    session_import_bad_lines,
    template_csv,
)
from .session_forms import CsvUploadForm, SessionFilterForm, SessionRegisterForm, import_max_bytes, size_in_words

client_required = page_for(Role.CLIENT, "Sessions are managed by client administrators.")

PAGE_SIZE = 50
REQUESTED_LISTED = 500
"""A group import's answer lists at most this many requested sessions (all are counted)."""

# Which field of the registration form a service's refusal concerns, when it names none.
_FIELD_OF_CODE = {
    "sender_comp_id_mismatch": "sender_comp_id",
    "already_exists": "sender_comp_id",
    "venue_not_supported": "venue",
    "gateway_type_not_supported": "gateway_type",
}


def _posted(request):
    """The form data of a POST (even an empty one, which must show the form's errors), else unbound."""
    return request.POST if request.method == "POST" else None


def _errors_beside_fields(form, error: errors.DomainError) -> None:
    """Put a service's refusal beside the field(s) it concerns, in words; else above the form."""
    if error.errors:
        for name, field_messages in error.errors.items():
            for message in field_messages:
                form.add_error(name if name in form.fields else None, message)
        return
    form.add_error(_FIELD_OF_CODE.get(error.code), error.for_people)


# --- the list --------------------------------------------------------------------------------


def _sessions_for(user, filters: dict):
    """The sessions ``user`` may read, filtered, with the entity's live memberships (their groups)."""
    rows = visible(user, SourceSession)
    for name in ("venue", "environment", "gateway_type"):
        if name in filters:
            rows = rows.filter(**{f"{name}_id" if name == "venue" else name: filters[name]})
    if "q" in filters:
        rows = rows.filter(sender_comp_id__contains=filters["q"])
    memberships = (
        visible(user, Membership)
        .filter(status__in=LIVE_MEMBERSHIP_STATUSES)
        .select_related("group")
        .order_by("group__name", "group_id")
    )
    return (
        rows.select_related("cgw_gateway", "gfid", "clearing_firm")
        .prefetch_related(Prefetch("memberships", queryset=memberships, to_attr="entity_memberships"))
        .order_by("sender_comp_id", "environment", "id")
    )


@client_required
@require_GET
def sessions_page(request):
    """The sessions the entity may read, filtered as the user types (htmx), paginated."""
    filter_form = SessionFilterForm(request.GET or None)
    filters = filter_form.filters() if request.GET else {}
    page = Paginator(_sessions_for(request.user, filters), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filter_form": filter_form,
        "page": page,
        "filtered": bool(filters),
        "query": query.urlencode(),
        # Only an empty page asks whether the entity has any session at all.
        "has_any": bool(page.object_list) or (bool(filters) and visible(request.user, SourceSession).exists()),
    }
    # htmx restoring a page from its history asks for the whole page; a partial is never cached as one.
    partial = request.htmx and not request.htmx.history_restore_request
    response = render(request, "portal/sessions_results.html" if partial else "portal/sessions.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- register one ----------------------------------------------------------------------------


@client_required
@require_http_methods(["GET", "POST"])
def session_register(request):
    """Register one session under one of the entity's own GFIDs (R5, R3a)."""
    form = SessionRegisterForm(_posted(request), user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            session = source_session_create(actor=request.user, **form.service_arguments(gfid_default=GFID_DEFAULT))
        except errors.DomainError as error:
            _errors_beside_fields(form, error)
        else:
            messages.success(
                request,
                f"Session {session.sender_comp_id} registered ({session.venue_id} {session.gateway_type}, "
                f"{session.get_environment_display()}).",
            )
            return redirect(f"{reverse('portal:sessions')}?{urlencode({'q': session.sender_comp_id})}")
    status = 400 if form.errors else 200
    return render(request, "portal/session_register.html", {"form": form}, status=status)


# --- the upload component ----------------------------------------------------------------------


def _upload_answer(request, *, page_template: str, context: dict, failed: bool):
    """The whole page, or — to htmx — the upload component alone, with its answer.

    htmx 2 swaps no 4xx answer, so a refused file is 200 to htmx and 400 to a plain form.
    """
    if request.htmx and request.method == "POST":
        return render(request, "portal/includes/upload.html", context)
    return render(request, page_template, context, status=400 if failed else 200)


def _upload_context(form, *, action: str, result_template: str, **extra) -> dict:
    return {
        "form": form,
        "upload_action": action,
        "upload_result_template": result_template,
        "max_size": size_in_words(import_max_bytes()),
        **extra,
    }


# --- import a CSV of sessions ------------------------------------------------------------------


@client_required
@require_http_methods(["GET", "POST"])
def sessions_import(request):
    """Store the good rows of a CSV file (the API's format) and report every bad line in words."""
    form = CsvUploadForm(_posted(request), request.FILES if request.method == "POST" else None)
    result = bad_lines = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data["file"].read()
        try:
            result = source_sessions_import(actor=request.user, data=data)
        except errors.DomainError as error:
            _errors_beside_fields(form, error)
        else:
            bad_lines = session_import_bad_lines(data, result.errors)
    context = _upload_context(
        form,
        action=reverse("portal:sessions-import"),
        result_template="portal/includes/upload_sessions_result.html",
        header=",".join(IMPORT_HEADER),
        result=result,
        bad_lines=bad_lines,
        unlisted=(result.bad_rows - len(result.errors)) if result else 0,
        listed_limit=IMPORT_ERRORS_LISTED,
        bad_lines_url=bad_lines_data_url(bad_lines, IMPORT_HEADER) if bad_lines else "",
    )
    return _upload_answer(
        request, page_template="portal/sessions_import.html", context=context, failed=bool(form.errors)
    )


@client_required
@require_GET
def sessions_import_template(request):
    response = HttpResponse(template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="source-sessions-template.csv"'
    return response


# --- import SenderCompIDs into a group ---------------------------------------------------------


@dataclass
class GroupImportResult:
    approved: list[str] = field(default_factory=list)
    pending: dict[str, list[str]] = field(default_factory=dict)
    """Clearing firm in words → the SenderCompIDs waiting for its decision."""
    requested: list[tuple[int, str, str]] = field(default_factory=list)
    """(line, SenderCompID, what happened), in line order."""
    bad_lines: list[BadLine] = field(default_factory=list)

    @property
    def pending_count(self) -> int:
        return sum(len(ids) for ids in self.pending.values())


def _resolve_lines(user, group: DropCopyGroup, lines):
    """Each line's session among those the user may read (the one in the group's environment when
    a SenderCompID exists in several), or the line's problem in words."""
    wanted = {line.sender_comp_id for line in lines if 0 < len(line.sender_comp_id) <= 9}
    found: dict[str, list[SourceSession]] = defaultdict(list)
    readable = visible(user, SourceSession).filter(sender_comp_id__in=wanted)
    for session in readable.select_related("gfid", "clearing_firm").order_by("id"):
        found[session.sender_comp_id].append(session)
    resolved, bad = [], []
    for line in lines:
        if not line.sender_comp_id:
            bad.append(BadLine(line.line, "", "This line has no SenderCompID."))
            continue
        candidates = found.get(line.sender_comp_id)
        if not candidates:
            bad.append(
                BadLine(
                    line.line,
                    line.sender_comp_id,
                    f"No session {line.sender_comp_id} among your entity's sessions: check the SenderCompID, "
                    "or register the session first.",
                )
            )
            continue
        session = next((c for c in candidates if c.environment == group.environment), candidates[0])
        resolved.append((line, session))
    return resolved, bad


def _group_import(user, group: DropCopyGroup, lines) -> GroupImportResult:
    resolved, bad = _resolve_lines(user, group, lines)
    result = GroupImportResult(bad_lines=bad)
    sessions = [session for _, session in resolved]
    outcomes = memberships_request(actor=user, group=group, sessions=sessions) if sessions else []
    pending: dict[str, list[str]] = defaultdict(list)
    for (line, session), outcome in zip(resolved, outcomes, strict=True):
        if outcome.error is not None:
            result.bad_lines.append(BadLine(line.line, line.sender_comp_id, outcome.error.for_people))
        elif outcome.membership.status == MembershipStatus.APPROVED:
            result.approved.append(session.sender_comp_id)
            result.requested.append((line.line, session.sender_comp_id, "Approved automatically"))
        else:
            firm = session.clearing_firm
            firm_words = f"{firm.name} ({firm.code})"
            pending[firm_words].append(session.sender_comp_id)
            result.requested.append((line.line, session.sender_comp_id, f"Waits for {firm_words}"))
    result.pending = dict(sorted(pending.items()))
    result.bad_lines.sort(key=lambda bad_line: bad_line.line)
    return result


@client_required
@require_http_methods(["GET", "POST"])
def group_sessions_import(request, group_id: int):
    """Request the membership of each SenderCompID of a file in one of the entity's groups (R8)."""
    groups = visible(request.user, DropCopyGroup).select_related("entity", "venue")
    group = get_object_or_404(groups, pk=group_id)
    form = CsvUploadForm(_posted(request), request.FILES if request.method == "POST" else None)
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            lines = group_import_lines(form.cleaned_data["file"].read())
            result = _group_import(request.user, group, lines)
        except FileRefused as refusal:
            form.add_error("file", str(refusal))
        except errors.DomainError as error:
            form.add_error(None, error.for_people)
    context = _upload_context(
        form,
        action=reverse("portal:group-sessions-import", args=[group.pk]),
        result_template="portal/includes/upload_group_result.html",
        group=group,
        column=GROUP_IMPORT_COLUMN,
        result=result,
        requested_listed=REQUESTED_LISTED,
        bad_lines_url=(
            bad_lines_data_url(
                [BadLine(b.line, b.sender_comp_id, b.problem, [b.sender_comp_id]) for b in result.bad_lines],
                (GROUP_IMPORT_COLUMN,),
            )
            if result and result.bad_lines
            else ""
        ),
    )
    return _upload_answer(
        request, page_template="portal/session_group_import.html", context=context, failed=bool(form.errors)
    )


urlpatterns = [
    path("sessions/", sessions_page, name="sessions"),
    path("sessions/register/", session_register, name="session-register"),
    path("sessions/import/", sessions_import, name="sessions-import"),
    path("sessions/import/template.csv", sessions_import_template, name="sessions-import-template"),
    path("groups/<int:group_id>/sessions/import/", group_sessions_import, name="group-sessions-import"),
]

"""Portal pages: My Requests (a client's requests, in three tabs, and its To Do list) and the clearing
firm's decision history. Each table filters, sorts, pages and exports (``?export=csv|xlsx``)
through ``dropcopy_admin.tables``."""

from django.db.models import Q
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from dropcopy_admin import clock
from dropcopy_admin.api.permissions import page_for
from dropcopy_admin.choices import CertificationStatus, MembershipStatus, Role, TargetStatus
from dropcopy_admin.tables import CHOICE, DATE, TEXT, Column, Table

from . import selectors_requests

client_required = page_for(Role.CLIENT, "My Requests is for client administrators.")
clearing_firm_required = page_for(Role.CLEARING_FIRM, "The decision history is for clearing firm administrators.")


def _username(user) -> str | None:
    return user.get_username() if user is not None else None


def _who_decides(membership) -> str:
    if membership.auto_approved:
        basis = f": {membership.reason}" if membership.reason else ""
        return f"Approved automatically{basis}"
    firm = membership.source_session.clearing_firm
    return firm.name if firm is not None else "—"


MEMBERSHIP_COLUMNS = [
    Column(
        "sender_comp_id",
        "SenderCompID",
        lambda m: m.source_session.sender_comp_id,
        field="source_session__sender_comp_id",
        filter=TEXT,
    ),
    Column("group", "Group", lambda m: m.group.name, field="group__name", filter=TEXT),
    Column(
        "status",
        "Status",
        lambda m: m.get_status_display(),
        filter=CHOICE,
        choices=list(MembershipStatus.choices),
    ),
    Column(
        "requested_by",
        "Requested by",
        lambda m: _username(m.requested_by),
        field="requested_by__username",
        filter=TEXT,
    ),
    Column("requested_at", "Requested at", lambda m: m.requested_at, filter=DATE),
    Column(
        "decides",
        "Who decides",
        _who_decides,
        field="source_session__clearing_firm__name",
        filter=TEXT,
    ),
    Column(
        "decided_by",
        "Decided by",
        lambda m: _username(m.decided_by),
        field="decided_by__username",
        filter=TEXT,
    ),
    Column("decided_at", "Decided at", lambda m: m.decided_at, filter=DATE),
    Column("reason", "Reason", lambda m: m.reason or None, filter=TEXT, sortable=False),
]

CERTIFICATION_COLUMNS = [
    Column(
        "front_end_system",
        "Front-end system",
        lambda c: f"{c.front_end_system.name} {c.front_end_system.version}",
        field="front_end_system__name",
        filter=TEXT,
    ),
    Column("venue", "Venue", lambda c: c.venue.name, field="venue__name", filter=TEXT),
    Column(
        "status",
        "Status",
        lambda c: c.get_status_display(),
        filter=CHOICE,
        choices=list(CertificationStatus.choices),
    ),
    Column("requested_at", "Requested", lambda c: c.requested_at, filter=DATE),
    Column("decided_at", "Decided", lambda c: c.decided_at, filter=DATE),
]

TEST_TARGET_COLUMNS = [
    Column("target", "Target", lambda t: t.target_comp_id, field="target_comp_id", filter=TEXT),
    Column("venue", "Venue", lambda t: t.venue.name, field="venue__name", filter=TEXT),
    Column("status", "Status", lambda t: t.get_status_display(), filter=CHOICE, choices=list(TargetStatus.choices)),
    Column("requested_at", "Requested", lambda t: t.created_at, field="created_at", filter=DATE),
    Column("expires_at", "Expires", lambda t: t.expires_at, filter=DATE),
]

TABS = {
    "memberships": (
        "Memberships",
        MEMBERSHIP_COLUMNS,
        selectors_requests.membership_requests,
        ("-requested_at", "-pk"),
        "Your entity has not requested any membership yet: add sessions to a group.",
        ("Open your groups", "portal:groups"),
    ),
    "certifications": (
        "Certifications",
        CERTIFICATION_COLUMNS,
        selectors_requests.certification_requests,
        ("-requested_at", "-pk"),
        "No certification requested yet.",
        ("Request a certification", "portal:certifications"),
    ),
    "test-targets": (
        "Test targets",
        TEST_TARGET_COLUMNS,
        selectors_requests.test_target_requests,
        ("-created_at", "-pk"),
        "No New Release test target requested yet.",
        ("Request a test target", "portal:test-targets"),
    ),
}


def _render_table(request, table: Table, template: str, context: dict, filename: str):
    export = request.GET.get("export")
    if export:
        return table.export_response(export, filename)
    # A partial for htmx's own requests; a whole page when htmx restores a page from history.
    if request.htmx and not request.htmx.boosted and not request.htmx.history_restore_request:
        response = render(request, "portal/includes/table.html", {"table": table})
    else:
        response = render(request, template, {"table": table, **context})
    patch_vary_headers(response, ["HX-Request"])
    return response


@client_required
@require_GET
def my_requests_page(request):
    kind = request.GET.get("kind", "memberships")
    if kind not in TABS:
        kind = "memberships"
    title, columns, rows, default_sort, empty, (link_text, link_name) = TABS[kind]
    path = reverse("portal:requests")
    table = Table(
        request.GET,
        rows(request.user),
        columns,
        id=f"requests-{kind}",
        caption=f"{title} requested by your entity",
        default_sort=default_sort,
        path=path,
        empty=empty,
        empty_link=(link_text, reverse(link_name)),
        kept={"kind": kind} if kind != "memberships" else {},
    )
    tabs = [
        {
            "kind": key,
            "title": value[0],
            "url": path if key == "memberships" else f"{path}?kind={key}",
            "current": key == kind,
        }
        for key, value in TABS.items()
    ]
    context = {"tabs": tabs, "kind": kind}
    partial = request.htmx and not request.htmx.boosted and not request.htmx.history_restore_request
    if not request.GET.get("export") and not partial:
        context["to_do"] = selectors_requests.to_do(request.user, now=clock.now())
    return _render_table(request, table, "portal/requests.html", context, f"my-requests-{kind}-{clock.now():%Y%m%d}")


DECISION_COLUMNS = [
    Column("decided_at", "Decided at", lambda m: m.decided_at, filter=DATE),
    Column(
        "decision",
        "Decision",
        lambda m: m.get_status_display(),
        field="status",
        filter=CHOICE,
        choices=[(status.value, status.label) for status in selectors_requests.DECISIONS],
    ),
    Column(
        "entity",
        "Entity",
        lambda m: f"{m.group.entity.code} — {m.group.entity.name}",
        field="group__entity__code",
        filter=TEXT,
        filter_q=lambda value: Q(group__entity__code__icontains=value) | Q(group__entity__name__icontains=value),
    ),
    Column(
        "sender_comp_id",
        "SenderCompID",
        lambda m: m.source_session.sender_comp_id,
        field="source_session__sender_comp_id",
        filter=TEXT,
    ),
    Column("group", "Group", lambda m: m.group.name, field="group__name", filter=TEXT),
    Column("requested_at", "Requested at", lambda m: m.requested_at, sortable=True),
    Column("decided_by", "Decided by", lambda m: _username(m.decided_by), field="decided_by__username", filter=TEXT),
    Column("reason", "Reason", lambda m: m.reason or None, filter=TEXT, sortable=False),
]


@clearing_firm_required
@require_GET
def decision_history_page(request):
    table = Table(
        request.GET,
        selectors_requests.decision_history(request.user),
        DECISION_COLUMNS,
        id="decisions",
        caption="Your firm's decisions",
        default_sort=("-decided_at", "-pk"),
        path=reverse("portal:decision-history"),
        empty="Your firm has not decided any request yet.",
        empty_link=("Open the approval queue", reverse("portal:approval-queue")),
    )
    return _render_table(request, table, "portal/decision_history.html", {}, f"decision-history-{clock.now():%Y%m%d}")

"""Portal pages: a client's target sessions — the list, each target's connection sheet with its
verification evidence, a re-check, the sheet as CSV and as a printable page, and the key pairs
(list, generate after the identity step-up, revoke).

Thin views: a form parses the input, one service writes (``services.keys``,
``services.verification``), refusals are shown in words. Which targets a user sees is
``visible``'s decision; another entity's target is 404 on every URL. The key pair view serves
every target, production and temporary (the certifications and test targets pages post to it).
"""

import base64
import csv
import datetime as dt
import io
from dataclasses import dataclass

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import OuterRef, Prefetch, Subquery
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from dropcopy_admin import clock, errors
from dropcopy_admin.api.permissions import page_for
from dropcopy_admin.choices import AddressRole, GatewayType, Role, TargetStatus, TemporaryKind
from dropcopy_admin.models import AuditEvent, ConnectivityCheck, DropCopyGroup, KeyPair, TargetAddress, TargetSession
from dropcopy_admin.models.audit import audit_object_type
from dropcopy_admin.selectors.visibility import visible
from dropcopy_admin.services import keys
from dropcopy_admin.services.verification import target_verify_request
from dropcopy_admin.spreadsheets import safe_csv_row

from .step_up import identity_step_up
from .target_forms import TargetListFilterForm

client_required = page_for(Role.CLIENT, "Targets are managed by client administrators.")

PAGE_SIZE = 50
# Past key pairs shown on a target's page, newest first (live ones are always among them: at most two).
KEY_PAIRS_SHOWN = 20
SHEET_HEADER = [
    "TargetCompID",
    "TargetSubID",
    "Role",
    "Market segment",
    "IP",
    "Port",
    "Last checked (UTC)",
    "Outcome",
    "Time to logon (ms)",
    "Round trip (ms)",
    "Failed at",
    "Detail",
]
_BACK_OF_KIND = {TemporaryKind.NEW_RELEASE: "portal:test-targets", TemporaryKind.AUTOCERT: "portal:certifications"}


# --- reads ---------------------------------------------------------------------------------------


def _targets(request):
    return visible(request.user, TargetSession)


def _target_or_404(request, target_id: int) -> TargetSession:
    return get_object_or_404(_targets(request).select_related("entity", "group", "venue", "cgw_gateway"), pk=target_id)


def _live_key_pairs(now):
    return Prefetch(
        "key_pairs",
        queryset=KeyPair.objects.filter(is_probe=False).live(now).order_by("created_at", "id"),
        to_attr="live_key_pairs",
    )


def _targets_for_list(targets, now):
    latest = ConnectivityCheck.objects.filter(target=OuterRef("pk")).order_by("-checked_at", "-id")
    return (
        targets.select_related("group", "venue", "cgw_gateway")
        .annotate(last_checked_at=Subquery(latest.values("checked_at")[:1]))
        .prefetch_related(_live_key_pairs(now))
        .order_by("venue_id", "environment", "target_comp_id", "pk")
    )


@dataclass
class Side:
    """One address of the sheet with its latest check (``None`` before any)."""

    address: TargetAddress
    check: ConnectivityCheck | None


@dataclass
class SegmentRow:
    """A market segment of an MSGW target: its primary and backup addresses side by side."""

    segment: int | None
    primary: Side | None
    backup: Side | None


def connection_sheet(target: TargetSession) -> list[Side]:
    """Every address of ``target`` (its released ones once it is closed) with its latest check: two queries."""
    addresses = TargetAddress.objects.filter(target=target)
    if target.status != TargetStatus.CLOSED:
        addresses = addresses.filter(released=False)
    addresses = list(addresses.order_by("market_segment", "-role", "id"))  # primary before backup
    # The latest check per address: DISTINCT ON (ip, market_segment), the index check_latest_per_address.
    latest = (
        ConnectivityCheck.objects.filter(target=target)
        .order_by("ip", "market_segment", "-checked_at", "-id")
        .distinct("ip", "market_segment")
    )
    by_address = {(check.ip, check.market_segment): check for check in latest}
    return [Side(address=address, check=by_address.get((address.ip, address.market_segment))) for address in addresses]


def by_segment(sides: list[Side]) -> list[SegmentRow]:
    rows: dict[int | None, SegmentRow] = {}
    for side in sides:
        row = rows.setdefault(side.address.market_segment, SegmentRow(side.address.market_segment, None, None))
        if side.address.role == AddressRole.PRIMARY and row.primary is None:
            row.primary = side
        elif row.backup is None:
            row.backup = side
    return list(rows.values())


def _key_pairs_with_authors(target: TargetSession) -> list[KeyPair]:
    """The target's client key pairs, newest first, each with who created and who revoked it (the audit trail)."""
    pairs = list(KeyPair.objects.filter(target=target, is_probe=False).order_by("-created_at", "-id")[:KEY_PAIRS_SHOWN])
    events = AuditEvent.objects.filter(
        object_type=audit_object_type(KeyPair),
        object_id__in=[pair.pk for pair in pairs],
        action__in=["create", "revoke"],
    ).values_list("object_id", "action", "actor")
    authors = {(object_id, action): actor for object_id, action, actor in events}
    now = clock.now()
    for pair in pairs:
        pair.created_by = _person(authors.get((pair.pk, "create")))
        pair.revoked_by = _person(authors.get((pair.pk, "revoke")))
        pair.live = pair.is_live(now)
    return pairs


def _person(actor: str | None) -> str:
    if not actor:
        return ""
    return "the system" if actor.startswith("system:") else actor


def _back_url(target: TargetSession) -> str:
    if target.temporary in _BACK_OF_KIND:
        return reverse(_BACK_OF_KIND[target.temporary])
    return reverse("portal:target-detail", args=[target.pk])


# --- pages ---------------------------------------------------------------------------------------


@client_required
@require_GET
def targets_page(request):
    """The entity's targets, filtered by group, status and venue; a constant number of queries."""
    targets = _targets(request)
    groups = visible(request.user, DropCopyGroup).filter(targets__isnull=False).distinct().order_by("name", "pk")
    venues = targets.order_by("venue_id").values_list("venue_id", flat=True).distinct()
    form = TargetListFilterForm(request.GET, groups=groups, venues=list(venues))
    now = clock.now()
    page = Paginator(_targets_for_list(form.apply(targets), now), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filter_form": form,
        "page": page,
        "query": query.urlencode(),
        "filtered": form.filtered,
        "has_any": bool(venues),
    }
    if request.htmx and request.htmx.target == "targets-results":
        return render(request, "portal/includes/target_list_results.html", context)
    return render(request, "portal/targets.html", context)


def _sheet_context(target: TargetSession) -> dict:
    sides = connection_sheet(target)
    return {
        "target": target,
        "sides": sides,
        "segments": by_segment(sides) if target.gateway_type == GatewayType.MSGW else None,
        "checked_count": sum(1 for side in sides if side.check is not None),
    }


@client_required
@require_GET
def target_detail(request, target_id: int):
    """The connection sheet with the verification evidence, the re-check and the key pairs."""
    target = _target_or_404(request, target_id)
    context = _sheet_context(target)
    context.update(key_pairs=_key_pairs_with_authors(target), now=clock.now())
    return render(request, "portal/target_detail.html", context)


@client_required
@require_GET
def target_sheet_print(request, target_id: int):
    """The connection sheet alone, for printing (the print stylesheet applies)."""
    target = _target_or_404(request, target_id)
    return render(request, "portal/target_print.html", {**_sheet_context(target), "now": clock.now()})


def sheet_rows(target: TargetSession, sides: list[Side]) -> list[list]:
    rows = []
    for side in sides:
        address, check = side.address, side.check
        rows.append(
            [
                target.target_comp_id,
                address.target_sub_id,
                address.get_role_display(),
                address.market_segment,
                address.ip,
                address.port,
                f"{check.checked_at.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S}" if check else "",
                check.get_outcome_display() if check else "Not checked yet",
                round(check.logon_ms, 1) if check and check.logon_ms is not None else None,
                round(check.rtt_ms, 1) if check and check.rtt_ms is not None else None,
                check.get_stage_display() if check and check.stage else "",
                check.detail if check else "",
            ]
        )
    return rows


@client_required
@require_GET
def target_sheet_csv(request, target_id: int):
    """The connection sheet as CSV: one row per address, cells safe for a spreadsheet."""
    target = _target_or_404(request, target_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(SHEET_HEADER)
    for row in sheet_rows(target, connection_sheet(target)):
        writer.writerow(safe_csv_row(row))
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{target.target_comp_id}-connection-sheet.csv"'
    return response


@client_required
@require_POST
def target_recheck(request, target_id: int):
    """Ask for a new connectivity check of every address; htmx gets the button's replacement."""
    target = _target_or_404(request, target_id)
    error = None
    try:
        target = target_verify_request(actor=request.user, target=target)
    except errors.DomainError as refused:
        error = refused.for_people
    if request.htmx:
        return render(request, "portal/includes/target_recheck.html", {"target": target, "recheck_error": error})
    if error:
        messages.error(request, error)
    else:
        messages.success(
            request, f"Re-check of {target.target_comp_id} requested; the evidence below changes once it has run."
        )
    return redirect("portal:target-detail", target_id=target.pk)


@client_required
@require_POST
@never_cache
def key_pair_generate(request, target_id: int):
    """Create a key pair and show its Secret Key and key file in this answer only (R11).

    The user first confirms who they are (``step_up``). The key file travels inside the page as a
    ``data:`` URL, so no later request can serve the secret again; the answer is never cached.
    """
    target = _target_or_404(request, target_id)
    back_url = _back_url(target)
    step_up = identity_step_up(request, target=target, back_url=back_url)
    if step_up is not None:
        return step_up
    try:
        created = keys.key_pair_create(actor=request.user, target=target)
    except errors.DomainError as error:
        messages.error(request, error.for_people)
        return redirect(back_url)
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
            "back_url": back_url,
        },
    )
    response["Pragma"] = "no-cache"
    return response


@client_required
@require_POST
def key_pair_revoke(request, target_id: int, key_pair_id: int):
    """Revoke one live key pair of the target at once."""
    target = _target_or_404(request, target_id)
    key_pair = get_object_or_404(visible(request.user, KeyPair).filter(target=target), pk=key_pair_id)
    try:
        keys.key_pair_revoke(actor=request.user, key_pair=key_pair)
    except errors.DomainError as error:
        messages.error(request, error.for_people)
    else:
        messages.success(
            request,
            f"Key pair {key_pair.access_key_id} of {target.target_comp_id} revoked: logons signed with it are refused.",
        )
    return redirect("portal:target-detail", target_id=target.pk)


urlpatterns = [
    path("targets/", targets_page, name="targets"),
    path("targets/<int:target_id>/", target_detail, name="target-detail"),
    path("targets/<int:target_id>/sheet.csv", target_sheet_csv, name="target-sheet-csv"),
    path("targets/<int:target_id>/print/", target_sheet_print, name="target-sheet-print"),
    path("targets/<int:target_id>/recheck/", target_recheck, name="target-recheck"),
    path("targets/<int:target_id>/key-pair/", key_pair_generate, name="key-pair-generate"),
    path("targets/<int:target_id>/key-pairs/<int:key_pair_id>/revoke/", key_pair_revoke, name="key-pair-revoke"),
]

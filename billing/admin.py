"""Billing in the admin (R12) for account managers and finance (the ``finance`` group holds the
billing permissions only).

Runs by month with their totals; a month computed or recomputed from the "Compute a month" form or
a draft run's page; a run's page shows its lines and its totals per bill-to party; runs closed after
a confirmation and downloaded as CSV, JSON or XLSX. Lines are read-only, filtered by month, entity
and bill-to party; tariffs are added and changed through ``billing.tariffs``. Every write is one
audited service call (R18) with the user as actor and the request's id. The stored export bytes are
never shown. Months read as people say them ("November 2026"), refusals in words.
"""

import datetime as dt

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from dropcopy_admin import errors
from dropcopy_admin.admin.base import (
    AuditedModelAdmin,
    ReadOnlyModelAdmin,
    ServiceModelForm,
    confirm_action,
    is_confirmed,
)

from . import exports
from .forms import ComputeMonthForm, in_words, month_in_words, refusal_in_words
from .models import BillingLine, BillingRun, Tariff
from .months import BillingMonth, NotAMonth
from .services import CHICAGO, billing_run_close, billing_run_compute
from .tariffs import tariff_create, tariff_update

EXPORT_BYTES = ("csv_bytes", "json_bytes", "xlsx_bytes")
EXPORT_FORMATS = {"csv": "CSV", "json": "JSON", "xlsx": "XLSX"}
LINES_SHOWN = 500  # a run's page lists this many lines; the rest are one link away, in the lines list
CLOSE_QUESTION = (
    "Closing a run stores its CSV, JSON and XLSX files as they are now and freezes it: a closed month is "
    "never computed again, and no group may be opened or closed back into it. Close these runs?"
)


def run_title(run: BillingRun) -> str:
    """``May 2025, draft``: a run as people name it."""
    return f"{month_in_words(run.month)}, {run.get_status_display().lower()}"


def run_summary(run: BillingRun) -> str:
    lines = "1 line" if run.line_count == 1 else f"{run.line_count} lines"
    return f"{run_title(run)}: {lines}, {run.total} {run.currency}"


def billing_period(line: BillingLine) -> str:
    """The days of the month a group line is billed for, in Chicago: ``1 May 2025 – 31 May 2025``."""
    if line.billable_from is None or line.billable_to is None:
        return ""
    first = line.billable_from.astimezone(CHICAGO).date()
    # billable_to is the first instant not billed: the last day billed is the one just before it.
    last = (line.billable_to - dt.timedelta(microseconds=1)).astimezone(CHICAGO).date()
    return f"{first.day} {first:%B %Y} – {last.day} {last:%B %Y}"


@admin.register(BillingRun)
class BillingRunAdmin(admin.ModelAdmin):
    list_display = [
        "billed_month",
        "status",
        "currency",
        "total",
        "line_count",
        "lines_link",
        "computed_at",
        "closed_at",
    ]
    list_filter = ["status"]
    date_hierarchy = "month"
    show_full_result_count = False
    fields = readonly_fields = [
        "billed_month",
        "status",
        "currency",
        "total",
        "lines",
        "computed_at",
        "closed_at",
        "csv_checksum",
        "json_checksum",
        "xlsx_checksum",
    ]
    actions = ["close_runs", "download_csv", "download_json", "download_xlsx"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer(*EXPORT_BYTES)

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path("compute/", wrap(self.compute_view), name=f"{name}_compute"),
            path("<int:run_id>/recompute/", wrap(self.recompute_view), name=f"{name}_recompute"),
            path("<int:run_id>/close/", wrap(self.close_view), name=f"{name}_close"),
            path("<int:run_id>/download/<str:fmt>/", wrap(self.download_view), name=f"{name}_download"),
            *super().get_urls(),
        ]

    # Permissions

    def has_add_permission(self, request):
        return False  # runs are computed by month ("Compute a month"), never typed in

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # A run's page is read-only; runs change through the compute and close services only.
        return obj is None and super().has_change_permission(request, obj)

    def has_compute_permission(self, request) -> bool:
        user = request.user
        return user.has_perm("billing.add_billingrun") and user.has_perm("billing.change_billingrun")

    def has_close_permission(self, request) -> bool:
        return request.user.has_perm("billing.close_billingrun")

    def has_export_permission(self, request) -> bool:
        return request.user.has_perm("billing.export_billingrun")

    # Columns and fields

    @admin.display(description="month", ordering="month")
    def billed_month(self, run):
        return month_in_words(run.month)

    @admin.display(description="lines")
    def lines(self, run):
        return run.line_count

    @admin.display(description="CSV SHA-256")
    def csv_checksum(self, run):
        return run.csv_sha256 or "not stored until closed"

    @admin.display(description="JSON SHA-256")
    def json_checksum(self, run):
        return run.json_sha256 or "not stored until closed"

    @admin.display(description="XLSX SHA-256")
    def xlsx_checksum(self, run):
        return run.xlsx_sha256 or "not stored until closed"

    @admin.display(description="lines")
    def lines_link(self, run):
        url = reverse("admin:billing_billingline_changelist")
        month = BillingMonth.of(run.month)
        return format_html('<a href="{}?{}={}">lines</a>', url, RunMonthFilter.parameter_name, month)

    # The runs list and the run's page

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "has_compute_permission": self.has_compute_permission(request)}
        return super().changelist_view(request, extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(self.run_page_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def run_page_context(self, request, run: BillingRun) -> dict:
        """The run's lines (the first ``LINES_SHOWN``) and its totals: two queries whatever its size."""
        lines = list(run.lines.select_related("entity", "bill_to", "group").order_by("id")[:LINES_SHOWN])
        totals = (
            run.lines.values("bill_to__code", "bill_to__name")
            .annotate(total=Sum("amount"), lines=Count("id"))
            .order_by("bill_to__code")
        )
        return {
            "subtitle": run_title(run),
            "run": run,
            "run_title": run_title(run),
            "run_lines": [(line, billing_period(line), month_in_words(line.corrects_month)) for line in lines],
            "run_lines_hidden": max(run.line_count - len(lines), 0),
            "run_totals": list(totals),
            "all_lines_url": f"{reverse('admin:billing_billingline_changelist')}?month={BillingMonth.of(run.month)}",
            "may_recompute": not run.is_closed and self.has_compute_permission(request),
            "may_close": not run.is_closed and self.has_close_permission(request),
            "downloads": (
                [(label, self.url_of("download", run.pk, fmt)) for fmt, label in EXPORT_FORMATS.items()]
                if self.has_export_permission(request)
                else []
            ),
        }

    def url_of(self, view: str, *args) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_{view}", args=args)

    # Compute a month, recompute a draft

    def compute_view(self, request):
        if not self.has_compute_permission(request):
            raise PermissionDenied
        form = ComputeMonthForm(request.POST if request.method == "POST" else None)
        if form.is_bound and form.is_valid():
            try:
                run = billing_run_compute(actor=request.user, month=form.cleaned_data["month"])
            except errors.DomainError as error:
                form.add_refusal(error)
            else:
                self.report_computed(request, run)
                return redirect(self.url_of("change", run.pk))
        context = {
            **self.admin_site.each_context(request),
            "title": "Compute a month",
            "opts": self.opts,
            "form": form,
            "media": self.media + form.media,
            "has_view_permission": self.has_view_permission(request),
        }
        return TemplateResponse(request, "admin/billing/billingrun/compute.html", context)

    def recompute_view(self, request, run_id: int):
        return require_POST(self._recompute)(request, run_id)

    def _recompute(self, request, run_id: int):
        if not self.has_compute_permission(request):
            raise PermissionDenied
        run = get_object_or_404(self.get_queryset(request), pk=run_id)
        try:
            run = billing_run_compute(actor=request.user, month=run.month)
        except errors.DomainError as error:
            self.message_user(request, refusal_in_words(error), messages.ERROR)
        else:
            self.report_computed(request, run)
        return redirect(self.url_of("change", run.pk))

    def report_computed(self, request, run: BillingRun) -> None:
        done = "computed" if run.created else "computed again"
        lines = "1 line" if run.line_count == 1 else f"{run.line_count} lines"
        self.message_user(
            request,
            f"{month_in_words(run.month)} {done}: {lines}, {run.total} {run.currency} in all.",
            messages.SUCCESS,
        )

    # Close

    def close_view(self, request, run_id: int):
        if not self.has_close_permission(request):
            raise PermissionDenied
        runs = self.get_queryset(request).filter(pk=run_id)
        run = get_object_or_404(runs)
        if request.method == "POST" and is_confirmed(request):
            self.close(request, [run])
            return redirect(self.url_of("change", run.pk))
        return self.confirm_close(request, runs)

    @admin.action(description="Close selected runs", permissions=["close"])
    def close_runs(self, request, queryset):
        queryset = queryset.order_by("month")
        if not is_confirmed(request):
            return self.confirm_close(request, queryset)
        self.close(request, queryset)
        return None

    def confirm_close(self, request, runs):
        return confirm_action(
            self,
            request,
            runs,
            title="Close billing runs",
            question=CLOSE_QUESTION,
            confirm_label="Yes, close them",
            describe=run_summary,
        )

    def close(self, request, runs) -> None:
        closed = 0
        for run in runs:
            try:
                billing_run_close(actor=request.user, month=run.month)
            except errors.DomainError as error:
                refusal = refusal_in_words(error)
                month = month_in_words(run.month)
                self.message_user(request, refusal if month in refusal else f"{month}: {refusal}", messages.ERROR)
            else:
                closed += 1
        if closed:
            self.message_user(request, f"Runs closed: {closed}.", messages.SUCCESS)

    # Downloads

    def download_view(self, request, run_id: int, fmt: str):
        if not self.has_export_permission(request):
            raise PermissionDenied
        if fmt not in EXPORT_FORMATS:
            raise Http404("No such download.")
        return exports.run_download(get_object_or_404(self.get_queryset(request), pk=run_id), fmt)

    def _download_one(self, request, queryset, fmt: str):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one run to download.", messages.ERROR)
            return None
        return exports.run_download(queryset.get(), fmt)

    @admin.action(description="Download CSV", permissions=["export"])
    def download_csv(self, request, queryset):
        return self._download_one(request, queryset, "csv")

    @admin.action(description="Download JSON", permissions=["export"])
    def download_json(self, request, queryset):
        return self._download_one(request, queryset, "json")

    @admin.action(description="Download XLSX", permissions=["export"])
    def download_xlsx(self, request, queryset):
        return self._download_one(request, queryset, "xlsx")


class RunMonthFilter(admin.SimpleListFilter):
    """The month of the line's run (``?month=YYYY-MM``); one query for the months, without the run bytes."""

    title = "run month"
    parameter_name = "month"

    def lookups(self, request, model_admin):
        months = BillingRun.objects.order_by("-month").values_list("month", flat=True)
        return [(str(BillingMonth.of(month)), month_in_words(month)) for month in months]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        try:
            month = BillingMonth.parse(self.value())
        except NotAMonth:
            return queryset.none()
        return queryset.filter(run__month=month.first_day)


@admin.register(BillingLine)
class BillingLineAdmin(ReadOnlyModelAdmin):
    list_display = ["run_month", "entity", "bill_to", "group", "amount", "reason", "corrected_month", "note"]
    list_select_related = ["run", "entity", "bill_to", "group__entity"]
    list_filter = [RunMonthFilter, "entity", "bill_to", "reason"]
    search_fields = ["entity__code", "bill_to__code", "group__name", "note"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer(*(f"run__{name}" for name in EXPORT_BYTES))

    @admin.display(description="month", ordering="run__month")
    def run_month(self, line):
        return month_in_words(line.run.month)

    @admin.display(description="corrects", ordering="corrects_month")
    def corrected_month(self, line):
        return month_in_words(line.corrects_month)


class TariffForm(ServiceModelForm):
    """Adds or changes a tariff through ``billing.tariffs`` (refused in or before a closed month)."""

    # Refusals about the month a tariff starts from, shown beside that field.
    MONTH_REFUSALS = ("billing_period_closed", "already_exists")

    class Meta:
        model = Tariff
        fields = ["effective_month", "free_groups", "monthly_fee", "currency"]

    def create(self, actor, data: dict):
        return tariff_create(actor=actor, **data)

    def update(self, actor, instance, changes: dict):
        return tariff_update(actor=actor, tariff=instance, changes=changes)

    def add_domain_error(self, error: errors.DomainError) -> None:
        placed = False
        for name, field_messages in (error.errors or {}).items():
            if name in self.fields:
                self.add_error(name, [in_words(message) for message in field_messages])
                placed = True
        if placed:
            return
        field = "effective_month" if error.code in self.MONTH_REFUSALS else None
        self.add_error(field, refusal_in_words(error))


@admin.register(Tariff)
class TariffAdmin(AuditedModelAdmin):
    form = TariffForm
    list_display = ["from_month", "free_groups", "monthly_fee", "currency"]

    @admin.display(description="from", ordering="effective_month")
    def from_month(self, tariff):
        return month_in_words(tariff.effective_month)

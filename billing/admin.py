"""Billing in the admin (R12) for account managers and finance (the ``finance`` group holds the
billing permissions only): runs by month with their totals, closed through the service by users
with the close permission; lines, read-only, filtered by month, entity and bill-to party; tariffs
added and changed through ``billing.tariffs`` with an audit row (R18). The stored export bytes are
never shown."""

import datetime as dt

from django.contrib import admin, messages
from django.http import HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from dropcopy_admin import errors
from dropcopy_admin.admin.base import AuditedModelAdmin, ReadOnlyModelAdmin, ServiceModelForm

from . import exports
from .models import BillingLine, BillingRun, Tariff
from .services import billing_run_close
from .tariffs import tariff_create, tariff_update

EXPORT_BYTES = ("csv_bytes", "json_bytes", "xlsx_bytes")


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
    exclude = EXPORT_BYTES
    readonly_fields = [
        "month",
        "status",
        "currency",
        "total",
        "line_count",
        "csv_sha256",
        "json_sha256",
        "xlsx_sha256",
        "computed_at",
        "closed_at",
    ]
    actions = ["close_runs", "download_csv", "download_json", "download_xlsx"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer(*EXPORT_BYTES)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # Viewable (every field is read-only); actions run through the service.
        return obj is None and super().has_change_permission(request, obj)

    def has_close_permission(self, request) -> bool:
        return request.user.has_perm("billing.close_billingrun")

    def has_export_permission(self, request) -> bool:
        return request.user.has_perm("billing.export_billingrun")

    @admin.display(description="month", ordering="month")
    def billed_month(self, run):
        return f"{run.month:%Y-%m}"

    @admin.display(description="lines")
    def lines_link(self, run):
        url = reverse("admin:billing_billingline_changelist")
        return format_html('<a href="{}?{}={}">lines</a>', url, RunMonthFilter.parameter_name, f"{run.month:%Y-%m}")

    @admin.action(description="Close", permissions=["close"])
    def close_runs(self, request, queryset):
        closed = 0
        for run in queryset.order_by("month"):
            try:
                billing_run_close(actor=request.user, month=run.month)
            except errors.DomainError as error:
                self.message_user(request, f"{run.month:%Y-%m}: {error.detail} ({error.code})", messages.ERROR)
            else:
                closed += 1
        if closed:
            self.message_user(request, f"Runs closed: {closed}.", messages.SUCCESS)

    def _download(self, request, queryset, fmt: str):
        """One run's export: a closed run's stored bytes, a draft's rendered as it streams."""
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one run to download.", messages.ERROR)
            return None
        run = BillingRun.objects.get(pk=queryset.get().pk)
        stored = getattr(run, f"{fmt}_bytes") if run.is_closed else None
        if stored is None:
            return exports.draft_download(run, fmt)  # streamed: memory stays flat as runs grow
        response = HttpResponse(bytes(stored), content_type=exports.CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="billing-{run.month:%Y-%m}.{fmt}"'
        return response

    @admin.action(description="Download CSV", permissions=["export"])
    def download_csv(self, request, queryset):
        return self._download(request, queryset, "csv")

    @admin.action(description="Download JSON", permissions=["export"])
    def download_json(self, request, queryset):
        return self._download(request, queryset, "json")

    @admin.action(description="Download XLSX", permissions=["export"])
    def download_xlsx(self, request, queryset):
        return self._download(request, queryset, "xlsx")


class RunMonthFilter(admin.SimpleListFilter):
    """The month of the line's run, ``YYYY-MM``; one query for the months, without the run bytes."""

    title = "run month"
    parameter_name = "month"

    def lookups(self, request, model_admin):
        months = BillingRun.objects.order_by("-month").values_list("month", flat=True)
        return [(f"{month:%Y-%m}", f"{month:%Y-%m}") for month in months]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        try:
            month = dt.datetime.strptime(self.value(), "%Y-%m").date()
        except ValueError:
            return queryset.none()
        return queryset.filter(run__month=month)


@admin.register(BillingLine)
class BillingLineAdmin(ReadOnlyModelAdmin):
    list_display = ["run", "entity", "bill_to", "group", "amount", "reason", "corrects_month", "note"]
    list_select_related = ["run", "entity", "bill_to", "group"]
    list_filter = [RunMonthFilter, "entity", "bill_to", "reason"]
    search_fields = ["entity__code", "bill_to__code", "group__name", "note"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer(*(f"run__{name}" for name in EXPORT_BYTES))


class TariffForm(ServiceModelForm):
    """Adds or changes a tariff through ``billing.tariffs`` (refused in or before a closed month)."""

    class Meta:
        model = Tariff
        fields = ["effective_month", "free_groups", "monthly_fee", "currency"]

    def create(self, actor, data: dict):
        return tariff_create(actor=actor, **data)

    def update(self, actor, instance, changes: dict):
        return tariff_update(actor=actor, tariff=instance, changes=changes)


@admin.register(Tariff)
class TariffAdmin(AuditedModelAdmin):
    form = TariffForm
    list_display = ["effective_month", "free_groups", "monthly_fee", "currency"]

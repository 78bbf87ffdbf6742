"""Billing in the admin (R12): runs and lines are shown and closed through the service; tariffs are
edited with an audit row (R18). The stored export bytes are never shown."""

from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponse

from dropcopy_admin import errors
from dropcopy_admin.admin.base import ReadOnlyModelAdmin
from dropcopy_admin.services.audit import audit_record, snapshot

from . import exports
from .models import BillingLine, BillingRun, Tariff
from .services import billing_run_close

EXPORT_BYTES = ("csv_bytes", "json_bytes", "xlsx_bytes")


@admin.register(BillingRun)
class BillingRunAdmin(admin.ModelAdmin):
    list_display = ["month", "status", "currency", "total", "line_count", "computed_at", "closed_at"]
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
    actions = ["close_runs", "download_csv"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer(*EXPORT_BYTES)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # Viewable (every field is read-only); actions run through the service.
        return obj is None and super().has_change_permission(request, obj)

    @admin.action(description="Close")
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

    @admin.action(description="Download CSV")
    def download_csv(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one run to download.", messages.ERROR)
            return None
        run = BillingRun.objects.get(pk=queryset.get().pk)
        if run.is_closed and run.csv_bytes is not None:
            data = bytes(run.csv_bytes)
        else:
            lines = run.lines.select_related("entity", "bill_to", "group").order_by("id")
            data = exports.render_csv(exports.line_rows(run, lines))
        response = HttpResponse(data, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="billing-{run.month:%Y-%m}.csv"'
        return response


@admin.register(BillingLine)
class BillingLineAdmin(ReadOnlyModelAdmin):
    list_display = ["run", "entity", "bill_to", "group", "amount", "reason", "corrects_month", "note"]
    list_select_related = ["run", "entity", "bill_to", "group"]
    list_filter = ["entity", "bill_to", "reason"]
    search_fields = ["entity__code", "bill_to__code", "group__name", "note"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer(*(f"run__{name}" for name in EXPORT_BYTES))


@admin.register(Tariff)
class TariffAdmin(admin.ModelAdmin):
    list_display = ["effective_month", "free_groups", "monthly_fee", "currency"]
    show_full_result_count = False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            before = snapshot(Tariff.objects.select_for_update().get(pk=obj.pk)) if change else None
            obj.save()
            after = snapshot(obj)
            if after != before:
                audit_record(
                    actor=request.user,
                    action="tariff.update" if change else "tariff.create",
                    instance=obj,
                    before=before,
                    after=after,
                )

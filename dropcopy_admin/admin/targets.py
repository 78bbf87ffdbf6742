"""Target sessions and their addresses: chosen and allocated by the system (R6, R7), shown here,
and re-provisioned on demand (R17)."""

from django.contrib import admin, messages
from django.db.models import F
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime

from dropcopy_admin import errors
from dropcopy_admin.models import CheckOutcome, ConnectivityCheck, TargetAddress, TargetSession
from dropcopy_admin.services.targets import target_provision_request
from dropcopy_admin.services.verification import target_verify_request

from .base import ReadOnlyModelAdmin, ReadOnlyTabularInline


class TargetAddressInline(ReadOnlyTabularInline):
    model = TargetAddress
    fields = ["ip", "role", "market_segment", "target_sub_id", "released"]
    readonly_fields = fields
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("target")


class LoadFilter(admin.SimpleListFilter):
    """Targets at 80 % of their capacity and above (``?load=full``), as the dashboard flags them."""

    title = "load"
    parameter_name = "load"

    def lookups(self, request, model_admin):
        return [("full", "80 % full and above")]

    def queryset(self, request, queryset):
        if self.value() == "full":
            return queryset.filter(used__gte=F("capacity") * 0.8)
        return queryset


@admin.register(TargetSession)
class TargetSessionAdmin(ReadOnlyModelAdmin):
    list_display = [
        "target_comp_id",
        "status",
        "load",
        "group",
        "entity",
        "gateway_type",
        "environment",
        "cgw_gateway",
        "port",
        "provisioning_error",
        "temporary",
        "created_at",
    ]
    list_select_related = ["entity", "group", "group__entity", "cgw_gateway"]
    list_filter = ["status", "gateway_type", "environment", "venue", "temporary", LoadFilter]
    search_fields = ["target_comp_id", "group__name", "entity__code", "=port"]
    date_hierarchy = "created_at"
    inlines = [TargetAddressInline]
    actions = ["reprovision_targets", "verify_targets"]
    readonly_fields = ["latest_checks"]

    @admin.display(description="latest check per address")
    def latest_checks(self, obj):
        """The newest check of each address, one query (DISTINCT ON the address, newest first)."""
        rows = (
            ConnectivityCheck.objects.filter(target=obj)
            .order_by("ip", "market_segment", "-checked_at", "-id")
            .distinct("ip", "market_segment")
        )
        body = format_html_join(
            "\n",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    c.ip,
                    c.get_role_display(),
                    c.market_segment if c.market_segment is not None else "",
                    "passed" if c.outcome == CheckOutcome.OK else f"failed at {c.get_stage_display()}",
                    f"{c.rtt_ms} ms" if c.rtt_ms is not None else "",
                    date_format(localtime(c.checked_at), "DATETIME_FORMAT"),
                    c.detail,
                )
                for c in rows
            ),
        )
        if not body:
            return "Not checked yet."
        return format_html(
            "<table><thead><tr><th>Address</th><th>Role</th><th>Market segment</th><th>Outcome</th>"
            "<th>TestRequest answered in</th><th>Checked at</th><th>Detail</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            body,
        )

    @admin.display(description="used / capacity", ordering="used")
    def load(self, obj):
        return f"{obj.used} / {obj.capacity}"

    @admin.display(description="provisioning error", ordering="provisioning_error_code")
    def provisioning_error(self, obj):
        if not obj.provisioning_error_code:
            return "-"
        return obj.provisioning_error_detail or "Provisioning failed."

    def has_reprovision_permission(self, request) -> bool:
        """Only account managers ask for provisioning; everyone else with access only looks."""
        return request.user.is_account_manager

    @admin.action(description="Re-provision selected targets", permissions=["reprovision"])
    def reprovision_targets(self, request, queryset):
        """Queue the provisioning task (R17) for each selected live target once this request commits.

        The task is idempotent: a pending or failed target becomes ``provisioned`` with its error
        cleared, one already provisioned is left as it is; its service writes the audit rows.
        """
        queued, closed = [], []
        for target in queryset.order_by("pk"):
            try:
                target_provision_request(actor=request.user, target=target)
                queued.append(target.target_comp_id)
            except errors.Conflict:
                closed.append(target.target_comp_id)
        if queued:
            names = ", ".join(queued)
            self.message_user(request, f"Provisioning queued for {len(queued)} target(s): {names}.", messages.SUCCESS)
        if closed:
            names = ", ".join(closed)
            self.message_user(request, f"Closed targets are not provisioned: {names}.", messages.WARNING)

    def has_verify_permission(self, request) -> bool:
        return request.user.is_account_manager

    @admin.action(description="Verify now (connectivity check)", permissions=["verify"])
    def verify_targets(self, request, queryset):
        """Queue a connectivity verification (R16) of each selected target once this request commits."""
        queued, refused = [], []
        for target in queryset.order_by("pk"):
            try:
                target_verify_request(actor=request.user, target=target)
                queued.append(target.target_comp_id)
            except errors.Conflict as error:
                refused.append(f"{target.target_comp_id} ({error.detail})")
        if queued:
            self.message_user(
                request, f"Verification queued for {len(queued)} target(s): {', '.join(queued)}.", messages.SUCCESS
            )
        if refused:
            self.message_user(request, f"Not verified: {'; '.join(refused)}", messages.WARNING)


@admin.register(TargetAddress)
class TargetAddressAdmin(ReadOnlyModelAdmin):
    list_display = ["ip", "port", "role", "market_segment", "target_sub_id", "released", "target"]
    list_select_related = ["target"]
    list_filter = ["role", "released", "target__environment", "target__gateway_type"]
    search_fields = ["ip", "=port", "target__target_comp_id"]

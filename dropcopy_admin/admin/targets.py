"""Target sessions and their addresses: chosen and allocated by the system (R6, R7), shown here."""

from django.contrib import admin

from dropcopy_admin.models import TargetAddress, TargetSession

from .base import ReadOnlyModelAdmin, ReadOnlyTabularInline


class TargetAddressInline(ReadOnlyTabularInline):
    model = TargetAddress
    fields = ["ip", "port", "role", "market_segment", "target_sub_id", "released"]
    readonly_fields = fields
    show_change_link = False


@admin.register(TargetSession)
class TargetSessionAdmin(ReadOnlyModelAdmin):
    list_display = [
        "target_comp_id",
        "gateway_type",
        "venue",
        "environment",
        "entity",
        "group",
        "cgw_gateway",
        "port",
        "status",
        "load",
        "temporary",
        "created_at",
        "closed_at",
    ]
    list_select_related = ["entity", "venue", "group", "cgw_gateway"]
    list_filter = ["status", "venue", "environment", "gateway_type", "temporary"]
    search_fields = ["target_comp_id", "entity__code", "group__name", "=port"]
    date_hierarchy = "created_at"
    inlines = [TargetAddressInline]

    @admin.display(description="used / capacity", ordering="used")
    def load(self, obj):
        return f"{obj.used} / {obj.capacity}"


@admin.register(TargetAddress)
class TargetAddressAdmin(ReadOnlyModelAdmin):
    list_display = ["ip", "port", "role", "market_segment", "target_sub_id", "released", "target"]
    list_select_related = ["target"]
    list_filter = ["role", "released", "target__environment", "target__gateway_type"]
    search_fields = ["ip", "=port", "target__target_comp_id"]

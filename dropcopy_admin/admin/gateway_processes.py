"""The running gateway processes and the addresses they serve (R19): written by the gateway, shown here."""

from django.contrib import admin

from dropcopy_admin import clock
from dropcopy_admin.models import GatewayProcess, ServedAddress
from dropcopy_admin.models.gateway_processes import GONE_AFTER

from .base import ReadOnlyModelAdmin


@admin.register(GatewayProcess)
class GatewayProcessAdmin(ReadOnlyModelAdmin):
    list_display = ["name", "host", "pid", "state", "listening_addresses", "started_at", "last_seen_at", "stopped_at"]
    search_fields = ["name", "host", "=pid"]
    date_hierarchy = "started_at"
    fields = list_display
    readonly_fields = list_display

    @admin.display(description="state")
    def state(self, obj: GatewayProcess) -> str:
        if obj.stopped_at is not None:
            return "Stopped"
        if obj.last_seen_at < clock.now() - GONE_AFTER:
            return "Not seen lately: stopped without saying so"
        return "Running"


@admin.register(ServedAddress)
class ServedAddressAdmin(ReadOnlyModelAdmin):
    list_display = ["target", "ip", "port", "role", "market_segment", "process", "since"]
    list_select_related = ["target", "address", "process"]
    search_fields = ["target__target_comp_id", "=address__ip", "=address__port"]
    fields = list_display
    readonly_fields = list_display

    @admin.display(description="IP address", ordering="address__ip")
    def ip(self, obj: ServedAddress) -> str:
        return obj.address.ip

    @admin.display(ordering="address__port")
    def port(self, obj: ServedAddress) -> int:
        return obj.address.port

    @admin.display()
    def role(self, obj: ServedAddress) -> str:
        return obj.address.get_role_display()

    @admin.display(description="market segment")
    def market_segment(self, obj: ServedAddress):
        return obj.address.market_segment

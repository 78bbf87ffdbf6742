"""Reference data (R1, R7): venues are fixed; gateways and port ranges are written through
``services.reference``, each change audited.

Editing a gateway or a port range later does not move live targets (R7).
"""

from django.contrib import admin

from dropcopy_admin.models import CgwGateway, PortRange, SegmentGateway, Venue
from dropcopy_admin.services import reference

from .base import AuditedModelAdmin, ReadOnlyModelAdmin, ServiceModelForm


@admin.register(Venue)
class VenueAdmin(ReadOnlyModelAdmin):
    """The three venues of R1; any other is refused, so none is added here."""

    list_display = ["code", "name", "offers_cgw", "offers_msgw", "gfid_length", "clearing_firm_required"]


class _KeyedOnceCreated(AuditedModelAdmin):
    """The fields that identify the row are fixed once it exists; its addresses may change."""

    identity_fields: tuple[str, ...] = ()

    def get_readonly_fields(self, request, obj=None):
        return self.identity_fields if obj is not None else ()


class CgwGatewayForm(ServiceModelForm):
    class Meta:
        model = CgwGateway
        fields = ["venue", "environment", "code", "primary_ip", "backup_ip"]

    def create(self, actor, data):
        return reference.cgw_gateway_create(actor=actor, **data)

    def update(self, actor, instance, changes):
        return reference.gateway_update(actor=actor, gateway=instance, **changes)


@admin.register(CgwGateway)
class CgwGatewayAdmin(_KeyedOnceCreated):
    form = CgwGatewayForm
    identity_fields = ("venue", "environment", "code")
    list_display = ["code", "venue", "environment", "primary_ip", "backup_ip"]
    list_select_related = ["venue"]
    list_filter = ["venue", "environment"]
    search_fields = ["code", "primary_ip", "backup_ip"]
    ordering = ["environment", "venue", "code"]


class SegmentGatewayForm(ServiceModelForm):
    class Meta:
        model = SegmentGateway
        fields = ["venue", "environment", "market_segment", "primary_ip", "backup_ip"]

    def create(self, actor, data):
        return reference.segment_gateway_create(actor=actor, **data)

    def update(self, actor, instance, changes):
        return reference.gateway_update(actor=actor, gateway=instance, **changes)


@admin.register(SegmentGateway)
class SegmentGatewayAdmin(_KeyedOnceCreated):
    form = SegmentGatewayForm
    identity_fields = ("venue", "environment", "market_segment")
    list_display = ["market_segment", "venue", "environment", "primary_ip", "backup_ip"]
    list_select_related = ["venue"]
    list_filter = ["venue", "environment"]
    search_fields = ["=market_segment", "primary_ip", "backup_ip"]
    ordering = ["environment", "venue", "market_segment"]


class PortRangeForm(ServiceModelForm):
    class Meta:
        model = PortRange
        fields = ["environment", "first_port", "last_port"]

    def create(self, actor, data):
        return reference.port_range_create(actor=actor, **data)

    def update(self, actor, instance, changes):
        return reference.port_range_update(actor=actor, port_range=instance, **changes)


@admin.register(PortRange)
class PortRangeAdmin(_KeyedOnceCreated):
    form = PortRangeForm
    identity_fields = ("environment",)
    list_display = ["environment", "first_port", "last_port"]

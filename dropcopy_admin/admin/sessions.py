"""Source sessions (``services.source_sessions``) and front-end systems (``services.front_end_systems``)."""

from django.contrib import admin

from dropcopy_admin.models import FrontEndSystem, SourceSession
from dropcopy_admin.services import front_end_systems, source_sessions

from .base import AuditedModelAdmin, ServiceModelForm


class SourceSessionForm(ServiceModelForm):
    class Meta:
        model = SourceSession
        fields = ["sender_comp_id", "venue", "environment", "gateway_type", "cgw_gateway", "gfid", "clearing_firm"]
        help_texts = {"clearing_firm": "Leave empty to take the GFID's guaranteeing clearing firm."}

    def clean_sender_comp_id(self):
        return self.cleaned_data["sender_comp_id"].strip().upper()

    def _clearing_firm(self, data: dict):
        return data.get("clearing_firm") or source_sessions.GFID_DEFAULT

    def create(self, actor, data):
        data["clearing_firm"] = self._clearing_firm(data)
        return source_sessions.source_session_create(actor=actor, **data)

    def update(self, actor, instance, changes):
        if "clearing_firm" in changes or "gfid" in changes:
            changes["clearing_firm"] = self._clearing_firm(self.cleaned_data)
        return source_sessions.source_session_update(actor=actor, session=instance, **changes)


@admin.register(SourceSession)
class SourceSessionAdmin(AuditedModelAdmin):
    form = SourceSessionForm
    list_display = [
        "sender_comp_id",
        "venue",
        "environment",
        "gateway_type",
        "cgw_gateway",
        "gfid",
        "gfid_entity",
        "clearing_firm",
        "created_at",
    ]
    list_select_related = ["venue", "cgw_gateway", "gfid", "gfid__entity", "clearing_firm"]
    list_filter = ["venue", "environment", "gateway_type", "cgw_gateway"]
    search_fields = ["sender_comp_id", "gfid__code", "gfid__entity__code", "clearing_firm__code"]
    autocomplete_fields = ["gfid", "clearing_firm"]
    readonly_fields = ["created_at"]
    date_hierarchy = "created_at"

    @admin.display(description="entity", ordering="gfid__entity__code")
    def gfid_entity(self, obj):
        return obj.gfid.entity.code


class FrontEndSystemForm(ServiceModelForm):
    class Meta:
        model = FrontEndSystem
        fields = ["entity", "name", "version", "vendor"]
        help_texts = {"entity": "Leave empty for a vendor product, usable by every entity."}

    def create(self, actor, data):
        return front_end_systems.front_end_system_create(actor=actor, **data)


class _VendorProductFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [("vendor", "Vendor product"), ("own", "An entity's own")]

    def queryset(self, request, queryset):
        if self.value() == "vendor":
            return queryset.filter(entity__isnull=True)
        if self.value() == "own":
            return queryset.filter(entity__isnull=False)
        return queryset


@admin.register(FrontEndSystem)
class FrontEndSystemAdmin(AuditedModelAdmin):
    """Registered once: what is certified is the (name, version, vendor) a front-end system
    logs on with, so a new version is a new front-end system rather than an edit."""

    form = FrontEndSystemForm
    list_display = ["name", "version", "vendor", "owner", "created_at"]
    list_select_related = ["entity"]
    list_filter = [_VendorProductFilter]
    search_fields = ["name", "vendor", "version", "entity__code", "entity__name"]
    autocomplete_fields = ["entity"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)

    @admin.display(description="entity", ordering="entity__code")
    def owner(self, obj):
        return obj.entity.code if obj.entity_id else "vendor product"

"""Clearing firms, entities and GFIDs, registered through ``services.registry``."""

from django.contrib import admin

from billing import fees
from dropcopy_admin.choices import GroupStatus
from dropcopy_admin.models import ClearingFirm, DropCopyGroup, Entity, Gfid
from dropcopy_admin.services import registry

from .base import AuditedModelAdmin, ServiceModelForm, count_of


class _UppercaseCodeForm(ServiceModelForm):
    def clean_code(self):
        return self.cleaned_data["code"].strip().upper()


class ClearingFirmForm(_UppercaseCodeForm):
    class Meta:
        model = ClearingFirm
        fields = ["code", "name"]

    def create(self, actor, data):
        return registry.clearing_firm_create(actor=actor, **data)

    def update(self, actor, instance, changes):
        return registry.clearing_firm_update(actor=actor, firm=instance, **changes)


@admin.register(ClearingFirm)
class ClearingFirmAdmin(AuditedModelAdmin):
    form = ClearingFirmForm
    list_display = ["code", "name", "as_entity", "gfid_count"]
    list_select_related = ["entity"]
    search_fields = ["code", "name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(gfid_count=count_of(Gfid, "clearing_firm"))

    @admin.display(description="entity")
    def as_entity(self, obj):
        return getattr(obj, "entity", None) or "-"

    @admin.display(description="GFIDs", ordering="gfid_count")
    def gfid_count(self, obj):
        return obj.gfid_count


class EntityForm(ServiceModelForm):
    class Meta:
        model = Entity
        fields = ["code", "name", "self_service", "bill_to", "clearing_firm"]
        help_texts = {"self_service": "Self-service authorisation for CME (agreements on file)."}

    def create(self, actor, data):
        return registry.entity_create(actor=actor, **data)

    def update(self, actor, instance, changes):
        return registry.entity_update(actor=actor, entity=instance, **changes)


@admin.register(Entity)
class EntityAdmin(AuditedModelAdmin):
    form = EntityForm
    list_display = ["code", "name", "self_service", "billed_to", "clearing_firm", "open_groups"]
    list_select_related = ["bill_to", "clearing_firm"]
    list_filter = ["self_service", ("clearing_firm", admin.EmptyFieldListFilter)]
    search_fields = ["code", "name"]
    autocomplete_fields = ["bill_to", "clearing_firm"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(open_group_count=count_of(DropCopyGroup, "entity", status=GroupStatus.ACTIVE))
        )

    @admin.display(description="bill to", ordering="bill_to__code")
    def billed_to(self, obj):
        return obj.bill_to or "itself"

    @admin.display(description="open groups", ordering="open_group_count")
    def open_groups(self, obj):
        return obj.open_group_count

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["fee_preview"]

    @admin.display(description="fee preview")
    def fee_preview(self, obj):
        preview = fees.fee_preview(obj)
        return (
            f"{preview.active_groups} production group(s) billable this month; "
            f"one more would cost {preview.monthly_fee} {preview.currency} a month"
        )


class GfidForm(_UppercaseCodeForm):
    class Meta:
        model = Gfid
        fields = ["code", "venue", "entity", "clearing_firm", "admin_control"]

    def create(self, actor, data):
        return registry.gfid_create(actor=actor, **data)

    def update(self, actor, instance, changes):
        return registry.gfid_update(actor=actor, gfid=instance, **changes)


@admin.register(Gfid)
class GfidAdmin(AuditedModelAdmin):
    form = GfidForm
    list_display = ["code", "venue", "entity", "clearing_firm", "admin_control"]
    list_select_related = ["entity", "clearing_firm", "venue"]
    list_filter = ["venue", "admin_control", ("clearing_firm", admin.EmptyFieldListFilter)]
    search_fields = ["code", "entity__code", "entity__name", "clearing_firm__code"]
    autocomplete_fields = ["entity", "clearing_firm"]

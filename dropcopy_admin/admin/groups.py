"""Drop Copy groups: created and edited through the services, closed by an admin action, never
deleted (R4). Their memberships are listed here; the membership screens (requests, decisions,
withdrawal and removal) are the approval workflow's: ``entitlements.admin``."""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AdminSplitDateTime
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html

from dropcopy_admin.choices import MembershipStatus, MessageFilter
from dropcopy_admin.models import DropCopyGroup, Membership
from dropcopy_admin.services import groups

from .base import (
    AuditedModelAdmin,
    ReadOnlyTabularInline,
    ServiceModelForm,
    confirm_action,
    count_of,
    is_confirmed,
    run_per_object,
)

INLINE_MEMBERSHIP_LIMIT = 100


class _CappedInlineFormSet(BaseInlineFormSet):
    """At most ``INLINE_MEMBERSHIP_LIMIT`` rows: a group may hold thousands of sessions; the full
    list is the membership changelist, linked from the group."""

    def get_queryset(self):
        if not hasattr(self, "_capped_queryset"):
            self._capped_queryset = super().get_queryset()[:INLINE_MEMBERSHIP_LIMIT]
        return self._capped_queryset


class MembershipInline(ReadOnlyTabularInline):
    model = Membership
    formset = _CappedInlineFormSet
    fields = ["source_session", "status", "auto_approved", "target", "requested_by", "decided_by", "decided_at"]
    readonly_fields = fields
    ordering = ["-id"]
    verbose_name_plural = f"memberships (newest {INLINE_MEMBERSHIP_LIMIT})"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("group", "source_session", "target", "requested_by", "decided_by")
        )


class GroupForm(ServiceModelForm):
    message_filters = forms.MultipleChoiceField(
        choices=MessageFilter.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        initial=list(MessageFilter.values),
        help_text="Fills and trade busts are always included.",
    )
    opened_at = forms.SplitDateTimeField(
        required=False,
        widget=AdminSplitDateTime,
        help_text="Empty means now; an earlier time registers an existing group's history (UTC).",
    )

    confirmed_monthly_fee = forms.DecimalField(
        required=False,
        max_digits=10,
        decimal_places=2,
        min_value=0,
        help_text="Production groups only: the entity's current monthly fee for one more group "
        "(its fee preview, shown on the entity's page), confirming the charge.",
    )

    class Meta:
        model = DropCopyGroup
        fields = [
            "entity",
            "name",
            "venue",
            "environment",
            "front_end_system",
            "message_filters",
            "opened_at",
            "confirmed_monthly_fee",
        ]

    def create(self, actor, data):
        return groups.group_create(actor=actor, **data)

    def update(self, actor, instance, changes):
        return groups.group_update(actor=actor, group=instance, **changes)


class CloseGroupsForm(forms.Form):
    at = forms.SplitDateTimeField(
        required=False,
        widget=AdminSplitDateTime,
        label="Closed at",
        help_text="Empty means now; a past time (not before the group opened) records an earlier closing (UTC).",
    )


@admin.register(DropCopyGroup)
class DropCopyGroupAdmin(AuditedModelAdmin):
    form = GroupForm
    list_display = [
        "name",
        "entity",
        "venue",
        "environment",
        "status",
        "opened_at",
        "closed_at",
        "live_sessions",
        "pending_requests",
    ]
    list_select_related = ["entity", "venue"]
    list_filter = ["status", "venue", "environment"]
    search_fields = ["name", "entity__code", "entity__name"]
    autocomplete_fields = ["entity", "front_end_system"]
    date_hierarchy = "opened_at"
    inlines = [MembershipInline]
    actions = ["close_groups"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related(*self.list_select_related)  # the changelist adds none to a queryset that has some
            .annotate(
                live_session_count=count_of(Membership, "group", status=MembershipStatus.APPROVED),
                pending_request_count=count_of(Membership, "group", status=MembershipStatus.PENDING),
            )
        )

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_fields(self, request, obj=None):
        if obj is None:
            return GroupForm.Meta.fields
        editable = [name for name in GroupForm.Meta.fields if name != "confirmed_monthly_fee"]
        return [*editable, "status", "closed_at", "membership_list"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["entity", "venue", "environment", "opened_at", "status", "closed_at", "membership_list"]

    def has_change_permission(self, request, obj=None):
        """A closed group is history: shown, never edited."""
        if obj is not None and not obj.is_open:
            return False
        return super().has_change_permission(request, obj)

    @admin.display(description="live sessions", ordering="live_session_count")
    def live_sessions(self, obj):
        return obj.live_session_count

    @admin.display(description="pending", ordering="pending_request_count")
    def pending_requests(self, obj):
        return obj.pending_request_count

    @admin.display(description="all memberships")
    def membership_list(self, obj):
        url = reverse("admin:dropcopy_admin_membership_changelist") + f"?group__id__exact={obj.pk}"
        return format_html(
            '<a href="{}">{} approved, {} pending</a>', url, obj.live_session_count, obj.pending_request_count
        )

    @admin.action(description="Close selected groups", permissions=["change"])
    def close_groups(self, request, queryset):
        queryset = queryset.order_by("pk")
        form = CloseGroupsForm(request.POST if is_confirmed(request) else None)
        if not is_confirmed(request) or not form.is_valid():
            return confirm_action(
                self,
                request,
                queryset,
                title="Close groups",
                question=(
                    "Closing a group ends its approved memberships (removed) and pending ones (withdrawn), "
                    "closes its targets and revokes their keys. Its history stays. Close these groups?"
                ),
                confirm_label="Yes, close them",
                form=form,
                describe=lambda group: (
                    f"{group} — {group.get_status_display().lower()}, "
                    f"{group.live_session_count} live sessions, {group.pending_request_count} pending"
                ),
            )
        at = form.cleaned_data["at"]
        run_per_object(
            self,
            request,
            queryset,
            lambda group: groups.group_close(actor=request.user, group=group, at=at),
            done="Groups closed",
        )
        return None

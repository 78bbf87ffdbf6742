"""Drop Copy groups and memberships: created and edited through the services, closed (groups),
decided (memberships: approve, reject, revoke — R8) and ended by admin actions, never deleted (R4)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html

from dropcopy_admin import errors
from dropcopy_admin.choices import MembershipStatus, MessageFilter
from dropcopy_admin.models import DropCopyGroup, Membership
from dropcopy_admin.services import groups, memberships
from entitlements import services as entitlement_services
from entitlements.choices import Decision

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


class DecisionReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=entitlement_services.REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Recorded with the decision and sent to the requester; required when deciding for a firm.",
    )


_DECISION_PAGES = {
    Decision.APPROVE: (
        "Approve on the firm's behalf",
        "You decide for the guaranteeing clearing firm: the sessions are placed on their group's targets "
        "and their data starts flowing. Approve these pending requests?",
        "Yes, approve them",
        "Approved",
    ),
    Decision.REJECT: (
        "Reject requests",
        "Rejected requests end; the requester and the entity's administrators are told why. Reject them?",
        "Yes, reject them",
        "Rejected",
    ),
    Decision.REVOKE: (
        "Revoke approvals",
        "A revoked session's data stops flowing to the group's target and its slot is freed. Revoke them?",
        "Yes, revoke them",
        "Revoked",
    ),
}


def _describe_membership(membership: Membership) -> str:
    return f"{membership} ({membership.group.entity.code})"


class MembershipForm(ServiceModelForm):
    class Meta:
        model = Membership
        fields = ["group", "source_session"]

    def create(self, actor, data):
        return entitlement_services.membership_request(actor=actor, **data)


@admin.register(Membership)
class MembershipAdmin(AuditedModelAdmin):
    """Requests are made here (through the approval workflow of ``entitlements.services``) and
    decided by account managers on a firm's behalf, always with a reason (R8); a membership is then
    only decided or ended — withdrawn if pending, removed if approved — never edited or deleted."""

    form = MembershipForm
    list_display = [
        "__str__",
        "group",
        "group_entity",
        "source_session",
        "clearing_firm",
        "status",
        "auto_approved",
        "target",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
    ]
    list_select_related = [
        "group",
        "group__entity",
        "source_session",
        "source_session__clearing_firm",
        "target",
        "requested_by",
        "decided_by",
    ]
    list_filter = [
        "status",
        "source_session__clearing_firm",
        "group__venue",
        "group__environment",
        "auto_approved",
        "source_session__gateway_type",
    ]
    search_fields = ["source_session__sender_comp_id", "group__name", "group__entity__code"]
    autocomplete_fields = ["group", "source_session"]
    date_hierarchy = "requested_at"
    actions = ["approve_memberships", "reject_memberships", "revoke_memberships", "end_memberships"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)

    @admin.display(description="entity", ordering="group__entity__code")
    def group_entity(self, obj):
        return obj.group.entity.code

    @admin.display(description="clearing firm", ordering="source_session__clearing_firm__code")
    def clearing_firm(self, obj):
        firm = obj.source_session.clearing_firm
        return firm.code if firm is not None else "-"

    @admin.action(description="Approve (on the firm's behalf) selected requests", permissions=["change"])
    def approve_memberships(self, request, queryset):
        return self._decide(request, queryset, Decision.APPROVE)

    @admin.action(description="Reject selected requests", permissions=["change"])
    def reject_memberships(self, request, queryset):
        return self._decide(request, queryset, Decision.REJECT)

    @admin.action(description="Revoke selected approvals", permissions=["change"])
    def revoke_memberships(self, request, queryset):
        return self._decide(request, queryset, Decision.REVOKE)

    def _decide(self, request, queryset, decision: str):
        """Ask for the reason, then decide the whole selection in one service call (R8).

        Each membership succeeds or fails on its own; refusals are reported one by one.
        """
        title, question, confirm_label, done = _DECISION_PAGES[decision]
        selection = list(queryset.select_related("group__entity", "source_session").order_by("pk"))
        form = DecisionReasonForm(request.POST if is_confirmed(request) else None)
        if not is_confirmed(request) or not form.is_valid():
            return confirm_action(
                self,
                request,
                selection,
                title=title,
                question=question,
                confirm_label=confirm_label,
                form=form,
                describe=lambda m: f"{_describe_membership(m)} — {m.get_status_display().lower()}",
            )
        try:
            outcomes = entitlement_services.memberships_decide(
                actor=request.user, memberships=selection, decision=decision, reason=form.cleaned_data["reason"]
            )
        except errors.DomainError as error:
            self.message_user(request, error.for_people, messages.ERROR)
            return None
        described = {membership.pk: _describe_membership(membership) for membership in selection}
        succeeded = 0
        for outcome in outcomes:
            if outcome.error is not None:
                self.message_user(request, f"{described[outcome.key]}: {outcome.error.for_people}", messages.ERROR)
            else:
                succeeded += 1
        if succeeded:
            self.message_user(request, f"{done}: {succeeded}.", messages.SUCCESS)
        return None

    @admin.action(description="Withdraw (pending) or remove (approved) selected memberships", permissions=["change"])
    def end_memberships(self, request, queryset):
        queryset = queryset.select_related("group__entity", "source_session").order_by("pk")
        if not is_confirmed(request):
            return confirm_action(
                self,
                request,
                queryset,
                title="End memberships",
                question=(
                    "A pending request is withdrawn; an approved session is removed and its data stops "
                    "flowing to the group's target. End these memberships?"
                ),
                confirm_label="Yes, end them",
                describe=lambda m: f"{_describe_membership(m)} — {m.get_status_display().lower()}",
            )
        run_per_object(
            self,
            request,
            queryset,
            lambda membership: memberships.membership_end(actor=request.user, membership=membership),
            done="Memberships ended",
        )
        return None

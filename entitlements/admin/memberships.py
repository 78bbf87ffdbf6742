"""The approval workflow's admin screens: memberships requested (through the workflow's
services), decided by account managers on a firm's behalf, always with a reason (R8), and ended —
withdrawn if pending, removed if approved (R4) — by admin actions; never edited or deleted."""

from django import forms
from django.contrib import admin, messages

from dropcopy_admin import errors
from dropcopy_admin.admin.base import (
    AuditedModelAdmin,
    ServiceModelForm,
    confirm_action,
    is_confirmed,
    run_per_object,
)
from dropcopy_admin.models import Membership

from ..choices import Decision
from ..services import memberships as services


class DecisionReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=services.REASON_MAX_LENGTH,
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
        return services.membership_request(actor=actor, **data)


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
            outcomes = services.memberships_decide(
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
            lambda membership: services.membership_end(actor=request.user, membership=membership),
            done="Memberships ended",
        )
        return None

"""The admin of certifications (R9), registered from ``admin.py``: the checklist the gateway
records on each AutoCert+ target, shown here; passed or failed — with a note, on a confirmation
page — and their targets rescinded, only through the services."""

from django import forms
from django.contrib import admin
from django.db.models import Prefetch
from django.utils.html import format_html_join

from dropcopy_admin.admin.base import ReadOnlyModelAdmin, confirm_action, count_of, is_confirmed, run_per_object
from dropcopy_admin.choices import CertificationCheckName

from ..models import Certification, CertificationCheck
from ..selectors import certification_checklist
from ..services.temporary_targets import certification_decide, temporary_target_rescind

CHECK_COUNT = len(CertificationCheckName.values)


class CertificationNoteForm(forms.Form):
    note = forms.CharField(
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Recorded with the decision (required).",
    )


def _describe(certification: Certification) -> str:
    return f"{certification}, for {certification.entity}"


@admin.register(Certification)
class CertificationAdmin(ReadOnlyModelAdmin):
    list_display = [
        "__str__",
        "status",
        "entity",
        "front_end_system",
        "venue",
        "gateway_type",
        "target",
        "requested_at",
        "checklist_progress",
    ]
    list_select_related = ["entity", "front_end_system", "venue", "target"]
    list_filter = ["status", "venue", "gateway_type"]
    search_fields = ["entity__code", "front_end_system__name", "target__target_comp_id"]
    date_hierarchy = "requested_at"
    fields = [
        "entity",
        "front_end_system",
        "venue",
        "gateway_type",
        "status",
        "target",
        "requested_at",
        "requested_by",
        "decided_at",
        "decided_by",
        "note",
        "checklist",
    ]
    readonly_fields = fields
    actions = ["pass_certifications", "fail_certifications", "rescind_targets"]

    def get_queryset(self, request):
        checks = CertificationCheck.objects.order_by("id")
        return (
            super()
            .get_queryset(request)
            .annotate(passed_check_count=count_of(CertificationCheck, "certification", passed_at__isnull=False))
            .prefetch_related(Prefetch("checks", queryset=checks))
        )

    @admin.display(description="checklist", ordering="passed_check_count")
    def checklist_progress(self, obj):
        return f"{obj.passed_check_count}/{CHECK_COUNT}"

    @admin.display(description="checklist")
    def checklist(self, obj):
        return format_html_join(
            "\n",
            "<li>{}: {}</li>",
            ((item.label, item.passed_at or "not shown yet") for item in certification_checklist(obj)),
        )

    def has_decide_permission(self, request) -> bool:
        return request.user.is_account_manager

    @admin.action(description="Pass selected certifications", permissions=["decide"])
    def pass_certifications(self, request, queryset):
        return self._decide(request, queryset, passed=True)

    @admin.action(description="Fail selected certifications", permissions=["decide"])
    def fail_certifications(self, request, queryset):
        return self._decide(request, queryset, passed=False)

    def _decide(self, request, queryset, *, passed: bool):
        """Ask for the note, then decide each selected certification on its own; its target is rescinded."""
        selection = list(queryset.select_related("entity", "front_end_system").order_by("pk"))
        form = CertificationNoteForm(request.POST if is_confirmed(request) else None)
        verb = "pass" if passed else "fail"
        if not is_confirmed(request) or not form.is_valid():
            return confirm_action(
                self,
                request,
                selection,
                title=f"{verb.capitalize()} certifications",
                question=(
                    f"{verb.capitalize()} these certifications? Their AutoCert+ targets are rescinded: closed, "
                    "keys revoked, ports freed."
                ),
                confirm_label=f"Yes, {verb} them",
                form=form,
                describe=_describe,
            )
        note = form.cleaned_data["note"]
        run_per_object(
            self,
            request,
            selection,
            lambda certification: certification_decide(
                actor=request.user, certification=certification, passed=passed, note=note
            ),
            done="Certifications passed" if passed else "Certifications failed",
        )
        return None

    @admin.action(description="Rescind the AutoCert+ targets of selected certifications", permissions=["decide"])
    def rescind_targets(self, request, queryset):
        """Close each selected certification's target now; the certification stays to be decided."""
        selection = list(queryset.select_related("entity", "front_end_system", "target").order_by("pk"))
        if not is_confirmed(request):
            return confirm_action(
                self,
                request,
                selection,
                title="Rescind AutoCert+ targets",
                question="Close these certifications' AutoCert+ targets now (keys revoked, ports freed)? "
                "The certifications stay requested.",
                confirm_label="Yes, rescind them",
                describe=_describe,
            )
        run_per_object(
            self,
            request,
            [certification.target for certification in selection if certification.target is not None],
            lambda target: temporary_target_rescind(actor=request.user, target=target),
            done="Targets rescinded",
        )
        return None

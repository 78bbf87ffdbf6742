"""Forms of the targets pages: the list's filters."""

from django import forms

from dropcopy_admin.choices import TargetStatus

OPEN = ""
ALL = "all"


class TargetListFilterForm(forms.Form):
    """Filters of the targets list: group, status (open ones by default), venue."""

    group = forms.TypedChoiceField(label="Group", required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[(OPEN, "Open (not closed)"), *TargetStatus.choices, (ALL, "Any status")],
    )
    venue = forms.ChoiceField(label="Venue", required=False)

    def __init__(self, data=None, *, groups, venues):
        super().__init__(data)
        self.fields["group"].choices = [("", "Any group"), *((group.pk, group.name) for group in groups)]
        self.fields["venue"].choices = [("", "Any venue"), *((code, code) for code in venues)]

    def apply(self, targets):
        """``targets`` narrowed by the valid filters (an invalid filter is ignored, its error shown)."""
        data = self.cleaned_data if self.is_valid() else {}
        if data.get("group"):
            targets = targets.filter(group_id=data["group"])
        status = data.get("status", OPEN)
        if status == OPEN:
            targets = targets.exclude(status=TargetStatus.CLOSED)
        elif status != ALL:
            targets = targets.filter(status=status)
        if data.get("venue"):
            targets = targets.filter(venue_id=data["venue"])
        return targets

    @property
    def filtered(self) -> bool:
        return self.is_valid() and any(self.cleaned_data.get(name) for name in ("group", "status", "venue"))

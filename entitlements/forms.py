"""The portal's forms: narrowing the approval queue, and deciding a selection of its requests."""

from django import forms

from dropcopy_admin.choices import Environment
from dropcopy_admin.models import Membership, Venue

from .choices import Decision
from .selectors import DEFAULT_QUEUE_ORDERING, QueueFilters
from .services.memberships import REASON_MAX_LENGTH

SORT_CHOICES = [
    ("-age", "Oldest first"),
    ("age", "Newest first"),
    ("sender_comp_id", "SenderCompID A–Z"),
    ("-sender_comp_id", "SenderCompID Z–A"),
    ("entity", "Entity A–Z"),
    ("-entity", "Entity Z–A"),
]


class QueueFilterForm(forms.Form):
    """GET parameters of the queue and its export; anything unknown is ignored, not an error."""

    entity = forms.ChoiceField(required=False, label="Entity")
    venue = forms.ChoiceField(required=False, label="Venue")
    environment = forms.ChoiceField(
        required=False, label="Environment", choices=[("", "All environments"), *Environment.choices]
    )
    q = forms.CharField(required=False, max_length=100, label="Group or SenderCompID")
    sort = forms.ChoiceField(required=False, label="Sort", choices=SORT_CHOICES)

    def __init__(self, *args, entities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["entity"].choices = [("", "All entities")] + [(e.code, f"{e.code} — {e.name}") for e in entities]
        self.fields["venue"].choices = [("", "All venues")] + [(v.code, v.name) for v in Venue.objects.all()]

    def filters(self) -> QueueFilters:
        """The valid parameters as selector filters; an invalid one falls back to "no filter"."""
        self.is_valid()
        data = {name: value for name, value in self.cleaned_data.items() if name not in self.errors}
        return QueueFilters(
            entity_code=data.get("entity") or "",
            venue=data.get("venue") or "",
            environment=data.get("environment") or "",
            search=(data.get("q") or "").strip(),
            sort=data.get("sort") or DEFAULT_QUEUE_ORDERING,
        )


class DecisionForm(forms.Form):
    """Approve or reject the checked requests; the reason is checked by the service (R8)."""

    memberships = forms.ModelMultipleChoiceField(
        queryset=Membership.objects.none(),
        error_messages={
            "required": "Select at least one request.",
            "invalid_choice": "A selected request is no longer in your queue.",
            "invalid_pk_value": "A selected request is not valid.",
        },
    )
    decision = forms.ChoiceField(choices=[(Decision.APPROVE, "Approve"), (Decision.REJECT, "Reject")])
    reason = forms.CharField(required=False, max_length=REASON_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2}))
    query = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, memberships, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["memberships"].queryset = memberships


class PreviewForm(forms.Form):
    """Which pending request of the queue to preview (``?preview=<id>``)."""

    preview = forms.ModelChoiceField(queryset=Membership.objects.none())

    def __init__(self, *args, memberships, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["preview"].queryset = memberships.select_related(
            "group", "group__entity", "source_session", "source_session__cgw_gateway"
        )

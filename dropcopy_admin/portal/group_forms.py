"""Forms of the group pages: the list's filters, the wizard's steps, editing, picking sessions.

Each form checks what it can without the services (choices, lengths, visibility); the services
check the rest and their refusals are put beside the field they concern by the views.
"""

import re

from django import forms
from django.db.models import F

from dropcopy_admin.choices import MANDATORY_MESSAGE_FILTERS, Environment, MessageFilter
from dropcopy_admin.models import DropCopyGroup, FrontEndSystem, SourceSession, Venue
from dropcopy_admin.selectors.visibility import visible

NAME_MAX_LENGTH = DropCopyGroup._meta.get_field("name").max_length
PASTE_MAX_ITEMS = 500
OPTIONAL_FILTERS = [(value, label) for value, label in MessageFilter.choices if value not in MANDATORY_MESSAGE_FILTERS]
MANDATORY_FILTER_LABELS = [MessageFilter(value).label for value in MANDATORY_MESSAGE_FILTERS]


def filters_in_words(values) -> str:
    """``["fills", "acks"]`` → "Acknowledgements, Fills" (in the canonical order)."""
    chosen = set(values or [])
    return ", ".join(label for value, label in MessageFilter.choices if value in chosen) or "None"


def front_end_systems_for(user):
    return visible(user, FrontEndSystem).order_by(F("entity_id").asc(nulls_last=True), "name", "version", "id")


class FrontEndSystemChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        owner = f" (vendor product, {obj.vendor})" if obj.entity_id is None else ""
        return f"{obj.name} {obj.version}{owner}"


class VenueChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.code})"


class GroupListFilterForm(forms.Form):
    STATUS_CHOICES = [("open", "Open"), ("closed", "Closed"), ("all", "Open and closed")]

    q = forms.CharField(label="Name contains", required=False, max_length=100)
    status = forms.ChoiceField(label="Status", choices=STATUS_CHOICES, required=False)
    venue = forms.ModelChoiceField(label="Venue", queryset=Venue.objects.order_by("code"), required=False)
    environment = forms.ChoiceField(
        label="Environment", choices=[("", "Any environment"), *Environment.choices], required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["venue"].empty_label = "Any venue"

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "q": (data.get("q") or "").strip(),
            "status": data.get("status") or "open",
            "venue": data.get("venue"),
            "environment": data.get("environment") or "",
        }


class GroupDetailsForm(forms.Form):
    """Wizard step 1: name, venue, environment, front-end system."""

    name = forms.CharField(
        label="Group name", max_length=NAME_MAX_LENGTH, error_messages={"required": "Give the group a name."}
    )
    venue = VenueChoice(
        label="Venue",
        queryset=Venue.objects.order_by("code"),
        to_field_name="code",
        error_messages={"required": "Choose the venue of the group's sessions."},
    )
    environment = forms.ChoiceField(
        label="Environment",
        choices=Environment.choices,
        error_messages={"required": "Choose the environment of the group's sessions."},
    )
    front_end_system = FrontEndSystemChoice(
        label="Front-end system",
        queryset=FrontEndSystem.objects.none(),
        error_messages={"required": "Choose the front-end system that receives the drop copy."},
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["front_end_system"].queryset = front_end_systems_for(user)
        self.fields["venue"].empty_label = None

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the group a name.")
        return name


class MessageFiltersForm(forms.Form):
    """Wizard step 2 and editing: the optional communication types; fills and trade busts always go."""

    message_filters = forms.MultipleChoiceField(
        label="Optional messages",
        choices=OPTIONAL_FILTERS,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def chosen(self) -> list[str]:
        return list(MANDATORY_MESSAGE_FILTERS) + list(self.cleaned_data.get("message_filters") or [])


class GroupEditForm(MessageFiltersForm):
    name = forms.CharField(label="Group name", max_length=NAME_MAX_LENGTH)
    front_end_system = FrontEndSystemChoice(label="Front-end system", queryset=FrontEndSystem.objects.none())

    field_order = ["name", "front_end_system", "message_filters"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["front_end_system"].queryset = front_end_systems_for(user)

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the group a name.")
        return name


_SEPARATORS = re.compile(r"[\s,;]+")


def split_sender_comp_ids(text: str) -> list[str]:
    """A pasted list — one per line, or separated by commas, semicolons or spaces — upper-cased, in
    order, each once."""
    seen: dict[str, None] = {}
    for item in _SEPARATORS.split(text or ""):
        item = item.strip().upper()
        if item:
            seen.setdefault(item, None)
    return list(seen)


def readable_sessions(user):
    """The sessions a client may request for its groups: those its entity may read."""
    return visible(user, SourceSession).select_related("venue", "cgw_gateway", "clearing_firm", "gfid")


class SessionPickForm(forms.Form):
    """Source SenderComps for a group of ``venue`` and ``environment``: ticked in the search results
    (or kept from before), or pasted. Each pasted one that is unknown, unreadable or of another venue
    or environment is reported by name; the form then is invalid."""

    q = forms.CharField(label="Search SenderCompIDs", required=False, max_length=20)
    sessions = forms.ModelMultipleChoiceField(
        label="Selected sessions",
        queryset=SourceSession.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    sender_comp_ids = forms.CharField(
        label="Paste SenderCompIDs",
        help_text="One per line, or separated by commas.",
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
    )

    def __init__(self, *args, user, venue_code: str, environment: str, require_one: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.venue_code = venue_code
        self.environment = environment
        self.require_one = require_one
        self.fields["sessions"].queryset = readable_sessions(user).filter(venue_id=venue_code, environment=environment)

    def clean(self):
        data = super().clean()
        chosen = list(data.get("sessions") or [])
        pasted = split_sender_comp_ids(data.get("sender_comp_ids") or "")
        if len(pasted) > PASTE_MAX_ITEMS:
            self.add_error("sender_comp_ids", f"At most {PASTE_MAX_ITEMS} SenderCompIDs at a time.")
            return data
        found = list(readable_sessions(self.user).filter(sender_comp_id__in=pasted).order_by("pk"))
        problems = []
        for sender_comp_id in pasted:
            matches = [s for s in found if s.sender_comp_id == sender_comp_id]
            fitting = [s for s in matches if s.venue_id == self.venue_code and s.environment == self.environment]
            if fitting:
                chosen.extend(fitting)
            elif matches:
                other = matches[0]
                problems.append(
                    f"{sender_comp_id} is a {other.venue_id} session in {other.get_environment_display()}; "
                    f"the group is {self.venue_code} in {Environment(self.environment).label}."
                )
            else:
                problems.append(f"{sender_comp_id}: no session with this SenderCompID that your entity may use.")
        for problem in problems:
            self.add_error("sender_comp_ids", problem)
        unique = {}
        for session in chosen:
            unique.setdefault(session.pk, session)
        data["chosen"] = list(unique.values())
        if self.require_one and not problems and not unique:
            self.add_error("sessions", "Choose at least one session: search and tick it, or paste its SenderCompID.")
        return data

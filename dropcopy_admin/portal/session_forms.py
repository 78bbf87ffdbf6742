"""Forms of the session pages: the list's filters, registering one session, uploading a CSV file.

Each form checks what it can without the services (choices, lengths, the entity's own GFIDs);
the services check the rest (R1, R5, R3a, duplicates) and the views put their refusals beside the
field they concern.
"""

from django import forms
from django.conf import settings

from dropcopy_admin.choices import Environment, GatewayType, VenueCode
from dropcopy_admin.models import CgwGateway, ClearingFirm, Gfid, Venue
from dropcopy_admin.selectors.visibility import visible

SENDER_COMP_ID_MAX_LENGTH = 20
SEARCH_MAX_LENGTH = 20


def _any(label: str, choices) -> list[tuple[str, str]]:
    return [("", label), *choices]


class SessionFilterForm(forms.Form):
    q = forms.CharField(label="SenderCompID contains", required=False, max_length=SEARCH_MAX_LENGTH)
    venue = forms.ChoiceField(label="Venue", choices=_any("Any venue", VenueCode.choices), required=False)
    environment = forms.ChoiceField(
        label="Environment", choices=_any("Any environment", Environment.choices), required=False
    )
    gateway_type = forms.ChoiceField(
        label="Gateway type", choices=_any("Any gateway type", GatewayType.choices), required=False
    )

    def filters(self) -> dict:
        """The valid filters given (an invalid value filters nothing: the form shows its error)."""
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        chosen = {name: data[name] for name in ("venue", "environment", "gateway_type") if data.get(name)}
        if data.get("q", "").strip():
            chosen["q"] = data["q"].strip().upper()
        return chosen


class GfidChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        guarantor = f"guaranteed by {obj.clearing_firm.code}" if obj.clearing_firm_id else "no clearing firm"
        return f"{obj.code} ({obj.venue_id}, {guarantor})"


class CgwGatewayChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.code} ({obj.venue_id}, {obj.get_environment_display()})"


class ClearingFirmChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.code} — {obj.name}"


class SessionRegisterForm(forms.Form):
    """The API's fields: venue, environment and gateway type as codes, the rest from what the
    client may read — only its own entity's GFIDs are offered."""

    sender_comp_id = forms.CharField(
        label="SenderCompID",
        max_length=SENDER_COMP_ID_MAX_LENGTH,  # a wrong length up to this is explained by the service (R5)
        help_text="Session ID (3) + GFID (3, or 5 for BrokerTec) + fault-tolerance indicator (1).",
    )
    venue = forms.ChoiceField(label="Venue", choices=_any("Choose a venue", VenueCode.choices))
    environment = forms.ChoiceField(label="Environment", choices=_any("Choose an environment", Environment.choices))
    gateway_type = forms.ChoiceField(label="Gateway type", choices=_any("Choose a gateway type", GatewayType.choices))
    cgw_gateway = CgwGatewayChoice(
        label="iLink gateway",
        queryset=CgwGateway.objects.none(),
        required=False,
        empty_label="None (MSGW session)",
        help_text="Only for a CGW session: the iLink convenience gateway it lives on.",
    )
    gfid = GfidChoice(label="GFID", queryset=Gfid.objects.none(), empty_label="Choose one of your GFIDs")
    clearing_firm = ClearingFirmChoice(
        label="Clearing firm",
        queryset=ClearingFirm.objects.none(),
        required=False,
        empty_label="The GFID's clearing firm",
        help_text="The firm guaranteeing the session; by default the GFID's.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["gfid"].queryset = visible(user, Gfid).select_related("clearing_firm").order_by("venue_id", "code")
        self.fields["cgw_gateway"].queryset = CgwGateway.objects.order_by("venue_id", "environment", "code")
        self.fields["clearing_firm"].queryset = visible(user, ClearingFirm).order_by("code")

    def clean_sender_comp_id(self) -> str:
        return self.cleaned_data["sender_comp_id"].strip().upper()

    def service_arguments(self, *, gfid_default) -> dict:
        """The valid form as ``source_session_create``'s keyword arguments."""
        data = dict(self.cleaned_data)
        data["venue"] = Venue.objects.get(pk=data["venue"])
        if data.get("clearing_firm") is None:
            data["clearing_firm"] = gfid_default
        return data


def import_max_bytes() -> int:
    return settings.DROPCOPY["SOURCE_SESSION_IMPORT_MAX_BYTES"]


def size_in_words(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.0f} MiB"
    if size >= 1024:
        return f"{size / 1024:.0f} KiB"
    return f"{size} bytes"


class CsvUploadForm(forms.Form):
    """One CSV file, at most the import's size (the same limit as the API's)."""

    file = forms.FileField(
        label="CSV file",
        error_messages={
            "required": "Choose a CSV file to upload.",
            "empty": "The file is empty: it needs a header line and at least one line below it.",
        },
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = import_max_bytes()
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {size_in_words(upload.size)}; the import accepts at most {size_in_words(limit)}."
            )
        return upload

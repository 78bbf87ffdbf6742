"""The portal's forms for temporary targets: requesting a certification (R9) or a New Release test
target (R10). They parse input only; the services check the rules (venue offers the gateway type,
self-service, one open certification per system)."""

import datetime as dt

from django import forms
from django.utils import timezone

from dropcopy_admin.choices import GatewayType
from dropcopy_admin.models import FrontEndSystem, Venue

REQUESTED_START_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


class _VenueChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, venue: Venue) -> str:
        return f"{venue.code} — {venue.name}"


class _FrontEndSystemChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, system: FrontEndSystem) -> str:
        owner = "your entity" if system.entity_id is not None else "vendor product"
        return f"{system.name} {system.version} ({system.vendor}) — {owner}"


class _VenueAndGatewayTypeForm(forms.Form):
    venue = _VenueChoiceField(queryset=Venue.objects.order_by("code"), empty_label="Choose a venue")
    gateway_type = forms.ChoiceField(
        label="Gateway type", choices=[("", "Choose a gateway type"), *GatewayType.choices]
    )


class CertificationRequestForm(_VenueAndGatewayTypeForm):
    """A certification of one front-end system (the entity's own or a vendor's) for a venue and gateway type."""

    front_end_system = _FrontEndSystemChoiceField(
        label="Front-end system", queryset=FrontEndSystem.objects.none(), empty_label="Choose a front-end system"
    )
    field_order = ["front_end_system", "venue", "gateway_type"]

    def __init__(self, *args, front_end_systems, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["front_end_system"].queryset = front_end_systems


class NewReleaseTargetRequestForm(_VenueAndGatewayTypeForm):
    """A New Release test target; the requested start (UTC) is optional."""

    requested_start = forms.DateTimeField(
        label="Requested start (UTC)",
        required=False,
        input_formats=REQUESTED_START_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Optional. The target is ready 48 hours after the request, or at this start if later.",
    )

    def clean_requested_start(self) -> dt.datetime | None:
        """Read the start as UTC, whatever the server's time zone."""
        value = self.cleaned_data.get("requested_start")
        if value is None:
            return None
        return timezone.make_naive(value).replace(tzinfo=dt.UTC)

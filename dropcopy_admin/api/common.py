"""What every endpoint shares: visibility-bound ids, strict times, the venue-first check, and a
viewset base whose querysets come from ``selectors.visibility``."""

from collections.abc import Mapping

from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers, viewsets

from dropcopy_admin import errors
from dropcopy_admin.choices import GatewayType, VenueCode
from dropcopy_admin.selectors.visibility import visible
from dropcopy_admin.services.reference import venue_get

from .permissions import VISIBLE_ROWS


class VisibleIdField(serializers.PrimaryKeyRelatedField):
    """An id in a request body: one the caller may not see reads exactly like one that does not exist."""

    def __init__(self, model, **kwargs):
        self.model = model
        kwargs.setdefault("queryset", model._default_manager.none())
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        rows = visible(request.user, self.model) if request is not None else None
        return rows if rows is not None else self.model._default_manager.none()

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.DATETIME)
class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 input that carries an offset; a naive time is refused."""

    default_error_messages = {"naive": "The time must carry a UTC offset (for example 2026-01-31T17:00:00Z)."}

    def to_internal_value(self, value):
        if isinstance(value, str):
            parsed = parse_datetime(value.strip())
            if parsed is not None and parsed.tzinfo is None:
                self.fail("naive")
        return super().to_internal_value(value)


@extend_schema_field({"type": "string", "enum": VenueCode.values})
class VenueField(serializers.Field):
    """A venue code; any value outside the supported venues is ``venue_not_supported`` (R1)."""

    def to_internal_value(self, data):
        return venue_get(code=data)

    def to_representation(self, value):
        return value.pk if hasattr(value, "pk") else value


class VenueFirstMixin:
    """Check the venue before any other field, and the gateway type before gateway-specific ones."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping) and data.get("venue") is not None:
            venue = venue_get(code=data["venue"])
            gateway_type = data.get("gateway_type")
            if isinstance(gateway_type, str) and gateway_type in GatewayType.values and not venue.offers(gateway_type):
                raise errors.gateway_type_not_supported(venue.code, gateway_type)
        return super().to_internal_value(data)


class ErrorSerializer(serializers.Serializer):
    """Every 4xx answer."""

    code = serializers.CharField()
    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


def reject_unchangeable(data, unchangeable: tuple[str, ...]) -> None:
    """A PATCH naming a field that cannot change is refused rather than silently ignored."""
    if not isinstance(data, Mapping):
        return
    named = sorted(set(data) & set(unchangeable))
    if named:
        raise errors.InvalidInput(
            "These fields cannot be changed: " + ", ".join(named) + ".",
            errors={name: ["This field cannot be changed."] for name in named},
        )


class VisibleViewSet(viewsets.GenericViewSet):
    """Rows come from ``visible(user, model)``: a role without access gets 403 on lists and
    creation (``permissions.RoleSeesRows``), 404 on items. Subclasses add their role checks
    to ``permission_classes`` (``permissions.only_account_managers`` and the like)."""

    model = None
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    permission_classes = list(VISIBLE_ROWS)

    def visible_rows(self):
        rows = visible(self.request.user, self.model)
        if rows is None:
            raise exceptions.NotFound()
        return rows

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.model._default_manager.none()
        return self.visible_rows()

    def validated(self, serializer_class, *, data=None, partial=False, instance=None):
        serializer = serializer_class(
            instance=instance,
            data=self.request.data if data is None else data,
            partial=partial,
            context=self.get_serializer_context(),
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

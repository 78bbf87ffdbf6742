"""What every endpoint shares: visibility-bound ids, strict times, the venue-first check, and a
viewset base whose querysets come from ``selectors.visibility``."""

import datetime as dt
import re
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

# Ids are whole numbers written in ASCII digits, from 1 to the largest a bigint column holds.
ID_DIGITS = re.compile(r"[0-9]{1,19}")
ID_PATH_PATTERN = "[0-9]+"
LARGEST_ID = 2**63 - 1


def whole_number_id(value) -> int | None:
    """``value`` as an id, or None: a JSON integer or a string of ASCII digits, from 1 to
    ``LARGEST_ID``; never a float (``1.9`` is not id 1), a boolean, or other scripts' digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = int(value) if ID_DIGITS.fullmatch(value) else None
    if isinstance(value, int) and 1 <= value <= LARGEST_ID:
        return value
    return None


class WholeNumberIdField(serializers.IntegerField):
    """An id that names no object of one model (the items of a bulk call): a whole number in ASCII digits."""

    default_error_messages = {"not_an_id": "An id is a whole number, from 1 up, written in digits 0 to 9."}

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", LARGEST_ID)
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> int:
        number = whole_number_id(data)
        if number is None:
            self.fail("not_an_id")
        return number


class VisibleIdField(serializers.PrimaryKeyRelatedField):
    """An id in a request body: one the caller may not see reads exactly like one that does not
    exist; anything but a whole number in ASCII digits is refused before any lookup."""

    default_error_messages = {"not_an_id": WholeNumberIdField.default_error_messages["not_an_id"]}

    def __init__(self, model, **kwargs):
        self.model = model
        kwargs.setdefault("queryset", model._default_manager.none())
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        rows = visible(request.user, self.model) if request is not None else None
        return rows if rows is not None else self.model._default_manager.none()

    def to_internal_value(self, data):
        number = whole_number_id(data)
        if number is None:
            if isinstance(data, int) and not isinstance(data, bool):  # 0, -1, too large: no such object
                self.fail("does_not_exist", pk_value=data)
            self.fail("not_an_id")
        return super().to_internal_value(number)


# The times the product can hold: any time it is given beyond these is out of range, not a crash
# of the arithmetic (a time of year 1 or 9999 overflows once moved to UTC or given a duration).
EARLIEST_TIME = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST_TIME = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


@extend_schema_field(OpenApiTypes.DATETIME)
class StrictDateTimeField(serializers.DateTimeField):
    """The API's one time input: ISO 8601 in ASCII digits with a UTC offset, a time that exists,
    from 2000 to 2099. Anything else is 400 ``invalid`` on the field; the value comes back in UTC."""

    default_error_messages = {
        "invalid": "Not a time: give an ISO 8601 time with its UTC offset (for example 2026-01-31T17:00:00Z).",
        "impossible": "This time does not exist (check the day of the month, the hour and the minutes).",
        "naive": "The time must carry a UTC offset (for example 2026-01-31T17:00:00Z).",
        "out_of_range": "The time must fall in the years 2000 to 2099 (UTC).",
    }

    def to_internal_value(self, value) -> dt.datetime:
        if isinstance(value, dt.datetime):
            parsed = value
        elif isinstance(value, str) and value.strip().isascii():
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:  # well formed, but no such day, hour, minute or offset
                self.fail("impossible")
            if parsed is None:
                self.fail("invalid")
        else:
            self.fail("invalid")
        if parsed.tzinfo is None:
            self.fail("naive")
        try:
            in_utc = parsed.astimezone(dt.UTC)
        except (OverflowError, ValueError):
            self.fail("out_of_range")
        if not EARLIEST_TIME <= in_utc < LATEST_TIME:
            self.fail("out_of_range")
        return in_utc


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
    # An id in the path is written in ASCII digits: any other path is no route at all (404).
    lookup_value_regex = ID_PATH_PATTERN
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

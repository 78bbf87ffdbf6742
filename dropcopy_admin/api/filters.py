"""Filters shared by the list endpoints: malformed values are 400, invisible ids read like missing ones."""

import django_filters
from django import forms

from dropcopy_admin.selectors.visibility import visible


class _StrictBooleanField(forms.Field):
    """``true``/``false`` (or ``1``/``0``); anything else is a malformed filter value, not "no filter"."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        lowered = str(value).strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise forms.ValidationError("Use true or false.", code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = _StrictBooleanField


def visible_choices(model):
    """A filter's choices: the rows the caller may see, so an invisible id reads like a missing one."""

    def choices(request):
        rows = visible(getattr(request, "user", None), model) if request is not None else None
        return rows if rows is not None else model._default_manager.none()

    return choices

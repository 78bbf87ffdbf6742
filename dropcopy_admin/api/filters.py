"""Filters shared by the list endpoints: malformed values are 400, invisible ids read like missing ones."""

import django_filters
from django import forms
from django_filters.fields import ModelChoiceField

from dropcopy_admin.selectors.visibility import visible

from .common import whole_number_id


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


class _VisibleIdField(ModelChoiceField):
    """An id written in ASCII digits (``１`` or `` 1`` is malformed, not id 1), looked up among visible rows."""

    def to_python(self, value):
        if value not in self.empty_values and whole_number_id(value) is None:
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class VisibleIdFilter(django_filters.ModelChoiceFilter):
    """``?group=7``: rows tied to one object the caller may see; a malformed or invisible id is 400 ``invalid``."""

    field_class = _VisibleIdField

    def __init__(self, model, **kwargs):
        super().__init__(queryset=visible_choices(model), **kwargs)

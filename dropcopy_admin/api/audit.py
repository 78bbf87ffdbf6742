import django_filters
from django import forms
from rest_framework import mixins, serializers

from dropcopy_admin.models import AuditEvent

from .common import VisibleViewSet


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "actor",
            "action",
            "object_type",
            "object_id",
            "before",
            "after",
            "request_id",
            "at",
        ]


class _ObjectIdField(forms.IntegerField):
    """A whole number in the range of the stored ids; ``1.5`` or an overflowing id is malformed."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", -(2**63))
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(**kwargs)


class _ObjectIdFilter(django_filters.NumberFilter):
    field_class = _ObjectIdField


class AuditEventFilter(django_filters.FilterSet):
    object_id = _ObjectIdFilter()

    class Meta:
        model = AuditEvent
        fields = ["object_type", "object_id", "actor", "action", "request_id"]


class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, VisibleViewSet):
    """The audit trail (R18), newest first; each role reads the trail of what it can read."""

    model = AuditEvent
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    http_method_names = ["get", "head", "options"]

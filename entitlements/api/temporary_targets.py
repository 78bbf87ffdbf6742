"""test-targets/ (R10): request a New Release temporary target; answered with the target as
``targets/`` shows it. Renewal is ``targets/{id}/renew/`` (account managers)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from dropcopy_admin import errors
from dropcopy_admin.api.common import (
    ErrorSerializer,
    StrictDateTimeField,
    VenueField,
    VenueFirstMixin,
    VisibleIdField,
    VisibleViewSet,
)
from dropcopy_admin.api.targets import TargetSerializer, targets_with_live_addresses
from dropcopy_admin.choices import GatewayType
from dropcopy_admin.models import Entity, TargetSession

from ..services.temporary_targets import new_release_target_request


class NewReleaseTargetRequestSerializer(VenueFirstMixin, serializers.Serializer):
    entity = VisibleIdField(Entity, required=False, help_text="Defaults to the client's own entity")
    venue = VenueField()
    gateway_type = serializers.ChoiceField(choices=GatewayType.choices)
    requested_start = StrictDateTimeField(
        required=False,
        allow_null=True,
        help_text="When it should be ready, if later than 48 hours from now; never in the past",
    )


class NewReleaseTargetViewSet(VisibleViewSet):
    """Only POST: the test targets themselves are read at ``targets/`` (``temporary`` = ``new_release``)."""

    model = TargetSession
    serializer_class = TargetSerializer
    http_method_names = ["post", "options"]

    @extend_schema(
        request=NewReleaseTargetRequestSerializer,
        responses={201: TargetSerializer, 400: ErrorSerializer, 403: ErrorSerializer, 409: ErrorSerializer},
        description="Request a New Release test target: ready 48 hours from now or at `requested_start` "
        "if later, expiring 7 days after it is ready; provisioned in the background. A `requested_start` in "
        "the past is 400 `invalid`.",
    )
    def create(self, request):
        data = self.validated(NewReleaseTargetRequestSerializer)
        if data.get("entity") is None:
            if request.user.entity is None:
                raise errors.InvalidInput.field("entity", "This field is required.")
            data["entity"] = request.user.entity
        target = new_release_target_request(actor=request.user, **data)
        return Response(
            TargetSerializer(targets_with_live_addresses().get(pk=target.pk)).data, status=status.HTTP_201_CREATED
        )

"""certifications/ (R9): request a front-end system's certification (its AutoCert+ target opens),
read it with its five checks, and — account managers — pass or fail it with a note."""

import django_filters
from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from dropcopy_admin import errors
from dropcopy_admin.api.common import ErrorSerializer, VenueField, VenueFirstMixin, VisibleIdField, VisibleViewSet
from dropcopy_admin.api.filters import VisibleIdFilter
from dropcopy_admin.api.permissions import VISIBLE_ROWS, only_account_managers
from dropcopy_admin.choices import CertificationCheckName, CertificationStatus, GatewayType, VenueCode
from dropcopy_admin.models import Entity, FrontEndSystem

from ..models import Certification, CertificationCheck
from ..selectors import certification_checklist
from ..services.temporary_targets import certification_decide, certification_request


class CertificationCheckSerializer(serializers.Serializer):
    name = serializers.ChoiceField(choices=CertificationCheckName.choices)
    passed_at = serializers.DateTimeField(allow_null=True, help_text="When the gateway saw it; null until then")


class CertificationSerializer(VenueFirstMixin, serializers.ModelSerializer):
    entity = VisibleIdField(
        Entity, required=False, help_text="Whose AutoCert+ target it is: the client's own (account managers give it)"
    )
    front_end_system = VisibleIdField(FrontEndSystem, help_text="The entity's own or a vendor product")
    venue = VenueField()
    gateway_type = serializers.ChoiceField(choices=GatewayType.choices)
    checks = serializers.SerializerMethodField(help_text="Always the five checks, in this order")

    class Meta:
        model = Certification
        fields = [
            "id",
            "entity",
            "front_end_system",
            "venue",
            "gateway_type",
            "status",
            "target",
            "checks",
            "note",
            "requested_at",
            "requested_by",
            "decided_at",
            "decided_by",
        ]
        read_only_fields = ["status", "target", "note", "requested_at", "requested_by", "decided_at", "decided_by"]
        # A second requested certification is 409 already_exists (from the service), not a 400 from DRF.
        validators = []

    @extend_schema_field(CertificationCheckSerializer(many=True))
    def get_checks(self, certification: Certification) -> list[dict]:
        return CertificationCheckSerializer(certification_checklist(certification), many=True).data


class CertificationNoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=1000, help_text="Why it passed or failed (required)")


class CertificationFilter(django_filters.FilterSet):
    entity = VisibleIdFilter(Entity)
    front_end_system = VisibleIdFilter(FrontEndSystem)
    venue = django_filters.ChoiceFilter(choices=VenueCode.choices)
    gateway_type = django_filters.ChoiceFilter(choices=GatewayType.choices)
    status = django_filters.ChoiceFilter(choices=CertificationStatus.choices)

    class Meta:
        model = Certification
        fields = ["entity", "front_end_system", "venue", "gateway_type", "status"]


CERTIFICATION_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The certification's id")


class CertificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, VisibleViewSet):
    model = Certification
    serializer_class = CertificationSerializer
    filterset_class = CertificationFilter
    http_method_names = ["get", "post", "head", "options"]
    permission_classes = [
        *VISIBLE_ROWS,
        only_account_managers(
            pass_="Only account managers pass or fail a certification.",
            fail="Only account managers pass or fail a certification.",
        ),
    ]

    def get_queryset(self):
        checks = CertificationCheck.objects.order_by("id")
        return super().get_queryset().select_related("venue").prefetch_related(Prefetch("checks", queryset=checks))

    @extend_schema(
        responses={201: CertificationSerializer, 400: ErrorSerializer, 403: ErrorSerializer, 409: ErrorSerializer},
        description="Request the certification of a front-end system for a venue and gateway type: a "
        "temporary AutoCert+ target of the entity opens, ready in 48 hours and expiring 14 days after the "
        "request. A second `requested` certification of the same system, venue and gateway type is 409 "
        "`already_exists`.",
    )
    def create(self, request):
        data = self.validated(CertificationSerializer)
        if "entity" not in data:
            if request.user.entity is None:
                raise errors.InvalidInput.field("entity", "This field is required.")
            data["entity"] = request.user.entity
        certification = certification_request(actor=request.user, **data)
        return Response(
            CertificationSerializer(self.get_queryset().get(pk=certification.pk)).data, status=status.HTTP_201_CREATED
        )

    def _decide(self, request, *, passed: bool) -> Response:
        certification = self.get_object()
        note = self.validated(CertificationNoteSerializer)["note"]
        certification = certification_decide(actor=request.user, certification=certification, passed=passed, note=note)
        return Response(CertificationSerializer(self.get_queryset().get(pk=certification.pk)).data)

    @extend_schema(
        parameters=[CERTIFICATION_ID],
        request=CertificationNoteSerializer,
        responses={200: CertificationSerializer, 400: ErrorSerializer, 409: ErrorSerializer},
        description="Pass a `requested` certification, with a note (account managers); its AutoCert+ "
        "target is rescinded. Another status is 409 `invalid_transition`.",
    )
    @action(detail=True, methods=["post"], url_path="pass", url_name="pass", filter_backends=[], pagination_class=None)
    def pass_(self, request, pk=None):
        return self._decide(request, passed=True)

    @extend_schema(
        parameters=[CERTIFICATION_ID],
        request=CertificationNoteSerializer,
        responses={200: CertificationSerializer, 400: ErrorSerializer, 409: ErrorSerializer},
        description="Fail a `requested` certification, with a note (account managers); its AutoCert+ "
        "target is rescinded. Another status is 409 `invalid_transition`.",
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def fail(self, request, pk=None):
        return self._decide(request, passed=False)

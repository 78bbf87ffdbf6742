"""Source sessions (and their CSV import) and front-end systems."""

from collections.abc import Mapping

import django_filters
from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from dropcopy_admin import errors
from dropcopy_admin.choices import Environment, GatewayType, VenueCode
from dropcopy_admin.models import (
    CgwGateway,
    ClearingFirm,
    Entity,
    FrontEndSystem,
    Gfid,
    SourceSession,
)
from dropcopy_admin.services import source_sessions
from dropcopy_admin.services.front_end_systems import front_end_system_create

from .common import (
    ErrorSerializer,
    VenueField,
    VenueFirstMixin,
    VisibleIdField,
    VisibleViewSet,
)
from .filters import VisibleIdFilter
from .permissions import VISIBLE_ROWS, only_account_managers


class SourceSessionSerializer(VenueFirstMixin, serializers.ModelSerializer):
    venue = VenueField()
    # No max_length: a SenderCompID of the wrong length is sender_comp_id_mismatch (R5), however long.
    sender_comp_id = serializers.CharField()
    environment = serializers.ChoiceField(choices=Environment.choices)
    gateway_type = serializers.ChoiceField(choices=GatewayType.choices)
    cgw_gateway = VisibleIdField(CgwGateway, required=False, allow_null=True)
    gfid = VisibleIdField(Gfid)
    clearing_firm = VisibleIdField(
        ClearingFirm,
        required=False,
        allow_null=True,
        help_text="Defaults to the GFID's clearing firm",
    )

    class Meta:
        model = SourceSession
        fields = [
            "id",
            "sender_comp_id",
            "venue",
            "environment",
            "gateway_type",
            "cgw_gateway",
            "gfid",
            "clearing_firm",
        ]
        # A SenderCompID taken in its environment is 409 already_exists (from the service).
        validators = []

    def to_internal_value(self, data):
        # On PATCH without a venue, the session's venue decides the gateway type (R1) — still
        # before any gateway-specific field is looked at.
        if self.instance is not None and isinstance(data, Mapping) and "venue" not in data:
            gateway_type = data.get("gateway_type")
            venue = self.instance.venue
            if isinstance(gateway_type, str) and gateway_type in GatewayType.values and not venue.offers(gateway_type):
                raise errors.gateway_type_not_supported(venue.code, gateway_type)
        return super().to_internal_value(data)


class SourceSessionFilter(django_filters.FilterSet):
    venue = django_filters.ChoiceFilter(choices=VenueCode.choices)
    environment = django_filters.ChoiceFilter(choices=Environment.choices)
    gateway_type = django_filters.ChoiceFilter(choices=GatewayType.choices)
    gfid = VisibleIdFilter(Gfid)
    clearing_firm = VisibleIdFilter(ClearingFirm)

    class Meta:
        model = SourceSession
        fields = [
            "sender_comp_id",
            "venue",
            "environment",
            "gateway_type",
            "cgw_gateway",
            "gfid",
            "clearing_firm",
        ]


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV: " + ",".join(source_sessions.IMPORT_HEADER))


class ImportErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    code = serializers.CharField()
    detail = serializers.CharField()


class ImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text="Good rows stored")
    bad_rows = serializers.IntegerField(help_text="Every bad row, listed in `errors` or not")
    errors = ImportErrorSerializer(
        many=True,
        help_text=f"The first {source_sessions.IMPORT_ERRORS_LISTED} bad rows, in file order (the header is line 1)",
    )


class SourceSessionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, VisibleViewSet):
    model = SourceSession
    serializer_class = SourceSessionSerializer
    filterset_class = SourceSessionFilter
    permission_classes = [
        *VISIBLE_ROWS,
        only_account_managers(
            create="Only account managers may register source sessions.",
            partial_update="Only account managers may change source sessions.",
            import_csv="Only account managers may import source sessions.",
        ),
    ]

    def get_queryset(self):
        return super().get_queryset().select_related("venue")

    def create(self, request):
        data = self.validated(SourceSessionSerializer)
        data.setdefault("clearing_firm", source_sessions.GFID_DEFAULT)
        session = source_sessions.source_session_create(actor=request.user, **data)
        return Response(SourceSessionSerializer(session).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        session = self.get_object()
        changes = self.validated(SourceSessionSerializer, partial=True, instance=session)
        session = source_sessions.source_session_update(actor=request.user, session=session, **changes)
        return Response(SourceSessionSerializer(session).data)

    @extend_schema(
        description=(
            "Stores every good row and reports the bad ones: `bad_rows` counts them all, `errors` lists "
            f"the first {source_sessions.IMPORT_ERRORS_LISTED} by line with their code, each detail at most "
            f"{source_sessions.IMPORT_DETAIL_MAX_CHARACTERS} characters. A file that is too large, not "
            "UTF-8, not CSV or without the header is refused whole (400 `invalid` on `file`)."
        ),
        request={"multipart/form-data": ImportRequestSerializer},
        responses={
            200: ImportResultSerializer,
            400: ErrorSerializer,
            403: ErrorSerializer,
        },
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser],
    )
    def import_csv(self, request):
        upload = self.validated(ImportRequestSerializer)["file"]
        if upload.size > settings.DROPCOPY["SOURCE_SESSION_IMPORT_MAX_BYTES"]:
            raise errors.InvalidInput.field("file", "The file is larger than the import accepts.")
        result = source_sessions.source_sessions_import(actor=request.user, data=upload.read())
        return Response(ImportResultSerializer(result).data)


class FrontEndSystemSerializer(serializers.ModelSerializer):
    entity = VisibleIdField(
        Entity,
        required=False,
        allow_null=True,
        help_text="Null for a vendor product (account managers only)",
    )

    class Meta:
        model = FrontEndSystem
        fields = ["id", "entity", "name", "version", "vendor"]
        # A system registered twice is 409 already_exists (from the service), and DRF's unique
        # validator would also make ``entity`` required, which it is not.
        validators = []


class FrontEndSystemFilter(django_filters.FilterSet):
    entity = VisibleIdFilter(Entity)

    class Meta:
        model = FrontEndSystem
        fields = ["entity", "vendor", "name"]


class FrontEndSystemViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, VisibleViewSet):
    model = FrontEndSystem
    serializer_class = FrontEndSystemSerializer
    filterset_class = FrontEndSystemFilter

    def create(self, request):
        data = self.validated(FrontEndSystemSerializer)
        if "entity" not in data:
            data["entity"] = request.user.entity if not request.user.is_account_manager else None
        system = front_end_system_create(actor=request.user, **data)
        return Response(FrontEndSystemSerializer(system).data, status=status.HTTP_201_CREATED)

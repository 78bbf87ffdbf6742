"""targets/{id}/keys/ (R11): list a target's key pairs, create one (its secret shown this once),
revoke one. The probe key pair (R16) is never listed; no read ever carries a secret."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from dropcopy_admin.models import KeyPair, TargetSession
from dropcopy_admin.selectors.visibility import visible
from dropcopy_admin.services import keys

from .common import ErrorSerializer
from .permissions import role_sees


class KeyPairSerializer(serializers.ModelSerializer):
    class Meta:
        model = KeyPair
        fields = ["id", "target", "access_key_id", "created_at", "expires_at", "revoked_at"]
        read_only_fields = fields


class CreatedKeyPairSerializer(KeyPairSerializer):
    secret_key = serializers.CharField(
        read_only=True, help_text="The Secret Key (43 characters, base64url): shown in this answer only"
    )
    key_file = serializers.CharField(
        read_only=True,
        help_text="CSV text: header `Session ID,Access Key ID,Secret Key,Creation Date,Expiration Date,"
        "Environment` and one row (dates ISO 8601 UTC with Z); in this answer only",
    )

    class Meta(KeyPairSerializer.Meta):
        fields = [*KeyPairSerializer.Meta.fields, "secret_key", "key_file"]
        read_only_fields = fields

    def to_representation(self, created: keys.CreatedKeyPair) -> dict:
        body = super().to_representation(created.key_pair)
        body["secret_key"] = created.secret_key
        body["key_file"] = created.key_file
        return body


# These POSTs take no fields: the body may be empty or ``{}``; anything in it is ignored.
EMPTY_BODY = {"application/json": {"type": "object", "description": "No fields; may be empty or `{}`"}}

TARGET_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The target's id")
KEY_ID = OpenApiParameter("key_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The key pair's id")


@extend_schema_view(
    list=extend_schema(
        parameters=[TARGET_ID],
        description="The target's key pairs, live and past, by id; never a secret.",
    ),
    create=extend_schema(
        parameters=[TARGET_ID],
        request=EMPTY_BODY,
        responses={201: CreatedKeyPairSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer},
        description="Create a key pair; its `secret_key` and `key_file` are in this answer only. A second "
        "live pair makes the older expire in 4 weeks; a third revokes the oldest at once. A closed "
        "target is 409 `invalid_transition`; a client whose entity may not self-serve is 403.",
    ),
)
class KeyPairViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Key pairs of one visible target; account managers and the target's client administrators."""

    serializer_class = KeyPairSerializer
    queryset = KeyPair.objects.none()  # the schema's model; rows come from get_queryset
    permission_classes = [IsAuthenticated, role_sees(TargetSession, refusal="Your role has no access to key pairs.")]

    def target(self) -> TargetSession:
        if not hasattr(self, "_target"):
            targets = visible(self.request.user, TargetSession)
            if targets is None:
                raise exceptions.NotFound()
            self._target = get_object_or_404(targets.select_related("entity"), pk=self.kwargs["id"])
        return self._target

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return KeyPair.objects.none()
        return KeyPair.objects.filter(target=self.target(), is_probe=False).order_by("id")

    def create(self, request, **_kwargs):
        created = keys.key_pair_create(actor=request.user, target=self.target())
        # The answer carries the Secret Key: no cache or proxy may keep it.
        return Response(
            CreatedKeyPairSerializer(created).data,
            status=status.HTTP_201_CREATED,
            headers={"Cache-Control": "no-store"},
        )

    @extend_schema(
        operation_id="targets_keys_revoke",
        parameters=[TARGET_ID, KEY_ID],
        request=EMPTY_BODY,
        responses={200: KeyPairSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer},
        description="Revoke a key pair now; sessions using it are logged out. A revoked or expired "
        "pair is 409 `invalid_transition`.",
    )
    def revoke(self, request, **_kwargs):
        target = self.target()
        key_pair = get_object_or_404(self.get_queryset(), pk=self.kwargs["key_id"])
        key_pair.target = target
        key_pair = keys.key_pair_revoke(actor=request.user, key_pair=key_pair)
        return Response(KeyPairSerializer(key_pair).data)

from django.urls import URLPattern, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter, SimpleRouter

from dropcopy_admin.views import ApiDocsView

from .audit import AuditEventViewSet
from .groups import GroupViewSet
from .keys import KeyPairViewSet
from .registry import (
    CgwGatewayViewSet,
    ClearingFirmViewSet,
    EntityViewSet,
    GfidViewSet,
    SegmentGatewayViewSet,
    TokenView,
    UserViewSet,
)
from .sessions import FrontEndSystemViewSet, SourceSessionViewSet
from .targets import TargetViewSet


class ApiRouter(DefaultRouter):
    """The core's routes; no format suffixes (JSON only). The API root at /api/v1/, which lists these
    routes and those of the packages built on the core, is ``api_root`` (wired by the project's URLs)."""

    include_format_suffixes = False
    include_root_view = False


def api_root(*routers: SimpleRouter) -> URLPattern:
    """The API root (``api-root``): every route of ``routers`` that lists objects, by its prefix."""
    api_root_dict = {}
    for each in routers:
        list_name = each.routes[0].name
        for prefix, _viewset, basename in each.registry:
            api_root_dict[prefix] = list_name.format(basename=basename)
    return path("", ApiRouter.APIRootView.as_view(api_root_dict=api_root_dict), name="api-root")


router = ApiRouter()
router.register("users", UserViewSet, basename="user")
router.register("entities", EntityViewSet, basename="entity")
router.register("clearing-firms", ClearingFirmViewSet, basename="clearing-firm")
router.register("gfids", GfidViewSet, basename="gfid")
router.register("cgw-gateways", CgwGatewayViewSet, basename="cgw-gateway")
router.register("segment-gateways", SegmentGatewayViewSet, basename="segment-gateway")
router.register("source-sessions", SourceSessionViewSet, basename="source-session")
router.register("front-end-systems", FrontEndSystemViewSet, basename="front-end-system")
router.register("groups", GroupViewSet, basename="group")
router.register("targets", TargetViewSet, basename="target")
router.register("audit", AuditEventViewSet, basename="audit")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="auth-token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", ApiDocsView.as_view(url_name="schema"), name="docs"),
    path(
        "targets/<int:id>/keys/",
        KeyPairViewSet.as_view({"get": "list", "post": "create"}),
        name="target-key-list",
    ),
    path(
        "targets/<int:id>/keys/<int:key_id>/revoke/",
        KeyPairViewSet.as_view({"post": "revoke"}),
        name="target-key-revoke",
    ),
    *router.urls,
]

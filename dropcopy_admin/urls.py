from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from billing.dashboard_views import finance_dashboard
from dropcopy_admin.admin.dashboard import account_managers_dashboard
from dropcopy_admin.api.exceptions import api_not_found
from dropcopy_admin.api.urls import api_root
from dropcopy_admin.api.urls import router as core_api_router
from dropcopy_admin.logons import RateLimitedPasswordResetView
from entitlements.api.urls import router as entitlements_api_router

urlpatterns = [
    path("", RedirectView.as_view(url="/portal/", permanent=False)),
    # The dashboards (issue 15), in the admin, before the admin's own routes.
    path("admin/dashboard/", admin.site.admin_view(account_managers_dashboard), name="admin-dashboard"),
    path("admin/billing/dashboard/", admin.site.admin_view(finance_dashboard), name="billing-dashboard"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("billing.urls")),
    path("api/v1/", include("dropcopy_admin.api.urls")),
    path("api/v1/", include("dropcopy_admin.api.tokens")),
    path("api/v1/", include("entitlements.api.urls")),
    path("api/v1/", include([api_root(core_api_router, entitlements_api_router)])),
    # Django's password reset, at most one mail per user per DROPCOPY PASSWORD_RESET_MAIL_INTERVAL_MINUTES.
    path("accounts/password_reset/", RateLimitedPasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("portal/", include("dropcopy_admin.portal_urls")),
    re_path(r"^api/", api_not_found),
]

# The product's own error answers, for every interface (dropcopy_admin/views.py).
handler400 = "dropcopy_admin.views.bad_request"
handler403 = "dropcopy_admin.views.permission_denied"
handler404 = "dropcopy_admin.views.page_not_found"
handler500 = "dropcopy_admin.views.server_error"

# Health answers for load balancers (issue 16): no login, no session.
from dropcopy_admin.health import healthz, readyz  # noqa: E402

urlpatterns = [path("healthz", healthz, name="healthz"), path("readyz", readyz, name="readyz"), *urlpatterns]

# The web's Prometheus metrics, only when the production setting turns them on.
from django.conf import settings as _settings  # noqa: E402

if getattr(_settings, "DROPCOPY_WEB_METRICS", False):
    from django_prometheus.exports import ExportToDjangoView

    urlpatterns = [path("metrics", ExportToDjangoView, name="prometheus-metrics"), *urlpatterns]

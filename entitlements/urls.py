"""Entitlements' portal pages; ``dropcopy_admin/portal_urls.py`` joins them under /portal/."""

from django.urls import path

from . import views, views_requests, views_security, views_temporary

urlpatterns = [
    path("", views.portal_home, name="home"),
    path("requests/", views_requests.my_requests_page, name="requests"),
    path("approvals/history/", views_requests.decision_history_page, name="decision-history"),
    path("approvals/", views.approval_queue_list, name="approval-queue"),
    path("approvals/decide/", views.approval_queue_decide, name="approval-decide"),
    path("approvals/export.csv", views.approval_queue_export, name="approval-export"),
    path("security/", views_security.security_page, name="security"),
    path("certifications/", views_temporary.certifications_page, name="certifications"),
    path("test-targets/", views_temporary.test_targets_page, name="test-targets"),
    path("temporary-targets/", views_temporary.temporary_targets_page, name="temporary-targets"),
    path("temporary-targets/<int:target_id>/renew/", views_temporary.temporary_target_renew, name="temporary-renew"),
    path(
        "temporary-targets/<int:target_id>/rescind/",
        views_temporary.temporary_target_rescind,
        name="temporary-rescind",
    ),
]

"""The portal's pages for users who are not staff."""

from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.portal_home, name="home"),
    path("approvals/", views.approval_queue_list, name="approval-queue"),
    path("approvals/decide/", views.approval_queue_decide, name="approval-decide"),
    path("approvals/export.csv", views.approval_queue_export, name="approval-export"),
]

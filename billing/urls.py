"""Billing's part of REST API v1 (under /api/v1/billing/), included by the project's URLs."""

from django.urls import path

from .api import BillingAdjustmentViewSet, BillingLineViewSet, BillingRunViewSet

urlpatterns = [
    path(
        "billing/adjustments/",
        BillingAdjustmentViewSet.as_view({"get": "list", "post": "create"}),
        name="billing-adjustment-list",
    ),
    path(
        "billing/runs/",
        BillingRunViewSet.as_view({"get": "list", "post": "create"}),
        name="billing-run-list",
    ),
    path("billing/runs/<str:month>/", BillingRunViewSet.as_view({"get": "retrieve"}), name="billing-run-detail"),
    path(
        "billing/runs/<str:month>/lines/",
        BillingLineViewSet.as_view({"get": "list"}),
        name="billing-run-lines",
    ),
    path("billing/runs/<str:month>/close/", BillingRunViewSet.as_view({"post": "close"}), name="billing-run-close"),
    path(
        "billing/runs/<str:month>/export.csv",
        BillingRunViewSet.as_view({"get": "export_csv"}),
        name="billing-run-export-csv",
    ),
    path(
        "billing/runs/<str:month>/export.json",
        BillingRunViewSet.as_view({"get": "export_json"}),
        name="billing-run-export-json",
    ),
    path(
        "billing/runs/<str:month>/export.xlsx",
        BillingRunViewSet.as_view({"get": "export_xlsx"}),
        name="billing-run-export-xlsx",
    ),
]

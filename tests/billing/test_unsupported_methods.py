"""Every billing route answers a method it does not offer in the envelope, never a 5xx: 401 to
an anonymous caller, 405 ``method_not_allowed`` to the roles that use billing, and to the others
the refusal they get for any billing request (issue 13: ``PUT …/export.csv`` was a 500)."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from billing.models import BillingRun
from tests.support import AM, API_OF_ROLE, CLEARING, CLIENT, FINANCE, assert_error

pytestmark = pytest.mark.django_db

MONTH = "2026-01"
ROUTES = [
    "/api/v1/billing/adjustments/",
    "/api/v1/billing/runs/",
    f"/api/v1/billing/runs/{MONTH}/",
    f"/api/v1/billing/runs/{MONTH}/lines/",
    f"/api/v1/billing/runs/{MONTH}/close/",
    f"/api/v1/billing/runs/{MONTH}/export.csv",
    f"/api/v1/billing/runs/{MONTH}/export.json",
    f"/api/v1/billing/runs/{MONTH}/export.xlsx",
]
UNOFFERED = ["put", "patch", "delete"]


@pytest.fixture(autouse=True)
def january_run(db):
    return BillingRun.objects.create(month=dt.date(2026, 1, 1))


@pytest.mark.parametrize("method", UNOFFERED)
@pytest.mark.parametrize("path", ROUTES)
def test_anonymous_is_401_not_authenticated(path, method):
    response = getattr(APIClient(), method)(path, {}, format="json")

    assert_error(response, 401, "not_authenticated")


@pytest.mark.parametrize("role", [AM, FINANCE])
@pytest.mark.parametrize("method", UNOFFERED)
@pytest.mark.parametrize("path", ROUTES)
def test_billing_roles_get_405_method_not_allowed(request, role, path, method):
    api = request.getfixturevalue(API_OF_ROLE[role])

    response = getattr(api, method)(path, {}, format="json")

    assert_error(response, 405, "method_not_allowed")
    assert BillingRun.objects.get().status == "draft"


# Roles without billing: every run is missing to them (404, as for an offered method); the routes
# whose refusals are per action (adjustments, lines) name no action for these methods: 405.
OTHER_ROLES_ANSWERS = {
    "/api/v1/billing/adjustments/": (405, "method_not_allowed"),
    f"/api/v1/billing/runs/{MONTH}/lines/": (405, "method_not_allowed"),
}


@pytest.mark.parametrize("role", [CLIENT, CLEARING])
@pytest.mark.parametrize("method", UNOFFERED)
@pytest.mark.parametrize("path", ROUTES)
def test_roles_without_billing_are_refused_in_the_envelope(request, role, path, method):
    api = request.getfixturevalue(API_OF_ROLE[role])

    response = getattr(api, method)(path, {}, format="json")

    status, code = OTHER_ROLES_ANSWERS.get(path, (404, "not_found"))
    assert_error(response, status, code)

"""The product's own error answers: an unhandled exception anywhere — a page, an API view, a plain
view under /api/, a middleware — is the product's 500 page naming the request id, or the API's
``{"code": "server_error", "detail"}`` envelope under /api/, never a debug page or a traceback;
400, 403 and 404 are the product's pages too."""

import pytest
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.test import override_settings
from django.urls import path, reverse
from rest_framework.views import APIView

from dropcopy_admin.request_id import REQUEST_ID_HEADER
from dropcopy_admin.urls import handler400, handler403, handler404, handler500  # noqa: F401 (this urlconf's)
from dropcopy_admin.urls import urlpatterns as product_urlpatterns

pytestmark = pytest.mark.django_db

SECRET = "internal detail that must never reach a page"


def _broken_view(request):
    raise RuntimeError(SECRET)


def _suspicious_view(request):
    raise SuspiciousOperation(SECRET)


class _BrokenApiView(APIView):
    def get(self, request):
        raise RuntimeError(SECRET)


class ExplodingMiddleware:
    """Fails every request whose path holds "explode", before any view runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "explode" in request.path:
            raise RuntimeError(SECRET)
        return self.get_response(request)


# This module is the test's URLconf: the product's URLs and error handlers, plus views that fail.
urlpatterns = [
    path("portal-broken/", _broken_view),
    path("portal-suspicious/", _suspicious_view),
    path("api/v1/broken-plain/", _broken_view),
    path("api/v1/broken-drf/", _BrokenApiView.as_view()),
    path("api/v1/suspicious/", _suspicious_view),
    *product_urlpatterns,
]

with_failing_views = override_settings(ROOT_URLCONF=__name__, DEBUG=False)


@pytest.fixture
def failing_client(client):
    client.raise_request_exception = False
    return client


def _assert_no_debug_information(body: str) -> None:
    assert SECRET not in body
    assert "Traceback" not in body and "RuntimeError" not in body and "DEBUG = True" not in body


@with_failing_views
@pytest.mark.parametrize("url", ["/portal-broken/", "/portal/explode/"])
def test_an_unhandled_exception_on_a_page_is_the_products_500_page_with_the_request_id(failing_client, url):
    middleware = [*settings.MIDDLEWARE, f"{__name__}.ExplodingMiddleware"]
    with override_settings(MIDDLEWARE=middleware):
        response = failing_client.get(url, HTTP_X_REQUEST_ID="support-can-find-me")
    assert response.status_code == 500
    assert [template.name for template in response.templates][:2] == ["500.html", "base.html"]
    body = response.content.decode()
    assert "Something went wrong" in body and "Drop Copy Manager" in body
    assert '<code data-testid="request-id">support-can-find-me</code>' in body
    assert response[REQUEST_ID_HEADER] == "support-can-find-me"
    _assert_no_debug_information(body)


@with_failing_views
@pytest.mark.parametrize("url", ["/api/v1/broken-drf/", "/api/v1/broken-plain/", "/api/v1/explode/"])
def test_an_unhandled_exception_under_the_api_is_the_server_error_envelope(failing_client, url, account_manager):
    failing_client.force_login(account_manager)
    middleware = [*settings.MIDDLEWARE, f"{__name__}.ExplodingMiddleware"]
    with override_settings(MIDDLEWARE=middleware):
        response = failing_client.get(url, HTTP_X_REQUEST_ID="api-fault-1")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"code", "detail"}
    assert body["code"] == "server_error"
    assert "api-fault-1" in body["detail"]
    assert response[REQUEST_ID_HEADER] == "api-fault-1"
    _assert_no_debug_information(response.content.decode())


@with_failing_views
def test_a_bad_request_is_the_products_400_page_or_the_invalid_envelope(failing_client):
    page = failing_client.get("/portal-suspicious/")
    assert page.status_code == 400
    assert "400.html" in [template.name for template in page.templates]
    _assert_no_debug_information(page.content.decode())
    api = failing_client.get("/api/v1/suspicious/")
    assert api.status_code == 400
    assert api.json()["code"] == "invalid"


def test_a_missing_page_is_the_products_404_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "404.html" in [template.name for template in response.templates]
    body = response.content.decode()
    assert "Page not found" in body and "Drop Copy Manager" in body and "/no-such-page/" in body


def test_a_missing_api_path_is_the_not_found_envelope(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}


def test_a_forbidden_admin_page_is_the_products_403_page(client, finance_user):
    client.force_login(finance_user)
    response = client.get(reverse("admin:django_celery_beat_periodictask_changelist"))
    assert response.status_code == 403
    assert "403.html" in [template.name for template in response.templates]
    assert "Not allowed" in response.content.decode()

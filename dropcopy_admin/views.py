"""The product's own answers when something goes wrong, and the API docs page.

Every interface shares them: a path under ``/api/`` gets the API's ``{"code", "detail"}`` envelope,
any other path a page in the product's layout. The 500 page names the request id, so support can
find the log line; it shows nothing of the error itself.
"""

import logging

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from dropcopy_admin.request_id import get_request_id

log = logging.getLogger(__name__)

API_PREFIX = "/api/"

_API_ERRORS = {
    400: ("invalid", "Bad request."),
    403: ("permission_denied", "You do not have permission to perform this action."),
    404: ("not_found", "Not found."),
}


def _is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


def _api_error(status: int) -> JsonResponse:
    code, detail = _API_ERRORS[status]
    body = {"code": code, "detail": detail}
    if code == "invalid":  # the contract: every 400 invalid names what is at fault
        body["errors"] = {"non_field_errors": [detail]}
    return JsonResponse(body, status=status)


def _server_error_detail(request_id: str) -> str:
    return f"Something went wrong on our side. Quote request id {request_id} to support."


def bad_request(request, exception=None):
    if _is_api(request):
        return _api_error(400)
    return render(request, "400.html", status=400)


def permission_denied(request, exception=None):
    if _is_api(request):
        return _api_error(403)
    # The portal's refusals carry a sentence meant for the reader (e.g. "This page is for account managers.").
    return render(request, "403.html", {"exception": str(exception or "")}, status=403)


def page_not_found(request, exception=None):
    if _is_api(request):
        return _api_error(404)
    return render(request, "404.html", {"request_path": request.path}, status=404)


def server_error(request):
    """The answer to an unhandled exception, from any view or middleware.

    The page is rendered without the request's context (no user, no session): whatever broke may
    be what those need. Should even that fail, a line of plain text still names the request id.
    """
    request_id = getattr(request, "request_id", None) or get_request_id() or ""
    if _is_api(request):
        return JsonResponse({"code": "server_error", "detail": _server_error_detail(request_id)}, status=500)
    try:
        page = loader.get_template("500.html").render({"request_id": request_id, "user": AnonymousUser()})
    except Exception:
        log.exception("the error page itself failed")
        page = _server_error_detail(request_id)
        return HttpResponseServerError(page, content_type="text/plain; charset=utf-8")
    return HttpResponseServerError(page)


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI over the schema; a visitor who is not logged in is sent to log in, then back here.

    The page fetches the schema with the visitor's session, which the schema view accepts. Its
    start-up script is served by this view too (``?script``), so the page runs no inline script.
    """

    permission_classes = [AllowAny]

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return super().get(request, *args, **kwargs)

"""One exception handler: every 4xx answer is ``{"code", "detail"}`` (+ ``errors`` for ``invalid``)."""

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import exception_handler

from dropcopy_admin.errors import DomainError

_CODES = [
    (drf.ValidationError, "invalid"),
    (drf.ParseError, "invalid"),
    (drf.NotAuthenticated, "not_authenticated"),
    (drf.AuthenticationFailed, "not_authenticated"),
    (drf.PermissionDenied, "permission_denied"),
    (drf.NotFound, "not_found"),
    (drf.MethodNotAllowed, "method_not_allowed"),
    (drf.NotAcceptable, "not_acceptable"),
    (drf.UnsupportedMediaType, "unsupported_media_type"),
    (drf.Throttled, "throttled"),
]


def _messages(detail) -> list[str]:
    if isinstance(detail, dict):
        return [f"{key}: {message}" for key, value in detail.items() for message in _messages(value)]
    if isinstance(detail, list):
        return [message for item in detail for message in _messages(item)]
    return [str(detail)]


def _field_errors(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {str(key): _messages(value) for key, value in detail.items()}
    return {"non_field_errors": _messages(detail)}


def _too_large(exc) -> drf.ValidationError:
    """A body over Django's upload limits (api-contract.md has no code of its own for it)."""
    if isinstance(exc, RequestDataTooBig):
        limit = f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes"
        detail = f"The request body is too large: at most {limit} are accepted."
    elif isinstance(exc, TooManyFilesSent):
        detail = f"Too many files: at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES:,} are accepted."
    else:
        detail = f"Too many fields: at most {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} are accepted."
    return drf.ValidationError([detail])


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        exc = _too_large(exc)
    elif isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    code = next((code for kind, code in _CODES if isinstance(exc, kind)), "error")
    if isinstance(exc, drf.ValidationError):
        messages = _messages(exc.detail)
        body = {
            "code": code,
            "detail": messages[0] if messages else "Invalid input.",
            "errors": _field_errors(exc.detail),
        }
    else:
        body = {"code": code, "detail": str(exc.detail)}
        if code == "invalid":  # malformed JSON: every 400 invalid names what is at fault
            body["errors"] = {"non_field_errors": [str(exc.detail)]}
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        response.status_code = 401
        response["WWW-Authenticate"] = 'Token realm="api"'
    response.data = body
    return response


@csrf_exempt
def api_not_found(request, exception=None):
    """A path under /api/ that matches nothing answers in the API's envelope, whatever the method
    (exempt from CSRF, which would otherwise answer an unsafe method with its HTML page)."""
    return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)

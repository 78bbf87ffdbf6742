"""The OpenAPI schema's one rule for error answers, so no view has to repeat it.

Every operation lists the 4xx answers it can give, each with the ``{"code", "detail"}`` body of
``ErrorSerializer`` (api-contract.md, "Errors"). Which ones apply follows from the operation's
shape, the same way for every endpoint, present and future:

- 400 ``invalid`` (and the domain's 400 codes): a request body, or a list's query parameters;
- 401 ``not_authenticated``: anything that needs credentials;
- 403 ``permission_denied``: anything that needs credentials (a role that may not, a CSRF refusal);
- 404 ``not_found``: a path naming an object, or a list's ``?page=`` past its last page;
- 409: a write that the state of things may refuse (``already_exists``, ``invalid_transition``, …);
- 415 ``unsupported_media_type``: a request body.

Answers a view documents itself (``@extend_schema(responses=…)``) are kept; only missing ones are
added, and error answers without a description get the standard one.
"""

import uritemplate
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import AllowAny

from .common import ErrorSerializer

_BODY_METHODS = ("POST", "PUT", "PATCH")
_WRITE_METHODS = (*_BODY_METHODS, "DELETE")

ERROR_DESCRIPTIONS = {
    400: "`invalid`: malformed JSON, fields or query parameters (`errors` names the fields), "
    "or a domain refusal with its own code (`venue_not_supported`, `sender_comp_id_mismatch`, …).",
    401: "`not_authenticated`: no credentials, or a bad token.",
    403: "`permission_denied`: the caller's role may not do this.",
    404: "`not_found`: the object does not exist or the caller may not see it.",
    409: "A conflict with the state of things: `already_exists`, `invalid_transition`, `group_closed`, …",
    415: "`unsupported_media_type`: the body is not in a media type the operation accepts.",
}
LIST_NOT_FOUND = "`not_found`: `?page=` names a page past the last one."
NESTED_LIST_NOT_FOUND = (
    "`not_found`: the object in the path does not exist or the caller may not see it, "
    "or `?page=` names a page past the last one."
)


class DropCopyAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus the error answers every operation can give."""

    def error_statuses(self) -> list[int]:
        """The 4xx statuses this operation can answer, in ascending order."""
        needs_credentials = any(not isinstance(p, AllowAny) for p in self.view.get_permissions())
        has_body = self.method in _BODY_METHODS
        names_object = bool(uritemplate.variables(self.path))
        is_list = self.method == "GET" and self._is_list_view()
        statuses = []
        if has_body or is_list:
            statuses.append(400)
        if needs_credentials:
            statuses += [401, 403]
        if names_object or is_list:
            statuses.append(404)
        if needs_credentials and self.method in _WRITE_METHODS:
            statuses.append(409)
        if has_body:
            statuses.append(415)
        return statuses

    def error_description(self, status: int) -> str:
        """The standard words for ``status``; a list's 404 is a page past its last one."""
        if status == 404 and self.method == "GET" and self._is_list_view():
            return NESTED_LIST_NOT_FOUND if uritemplate.variables(self.path) else LIST_NOT_FOUND
        return ERROR_DESCRIPTIONS[status]

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for status in self.error_statuses():
            code = str(status)
            description = self.error_description(status)
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=description), code
                )
            elif not responses[code].get("description"):
                responses[code]["description"] = description
        return dict(sorted(responses.items()))

"""What the API tests share: the error envelope of api-contract.md, downloads, and the pieces of
the permission tables (role × endpoint × method → answer) each package writes once."""

import pytest
from django.apps import apps

from dropcopy_admin.choices import Role


def assert_error(response, status: int, code: str) -> dict:
    """The answer is ``status`` with ``{"code": code, "detail": …}`` (+ ``errors`` for ``invalid``)."""
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["detail"], str) and body["detail"]
    if code == "invalid":
        assert isinstance(body["errors"], dict) and body["errors"], body
    return body


def assert_invalid(response, *fields: str) -> dict:
    """A 400 ``invalid`` naming each of ``fields`` in ``errors``."""
    body = assert_error(response, 400, "invalid")
    for name in fields:
        assert body["errors"][name], body
    return body


def downloaded(response) -> bytes:
    """The whole body of a download, streamed (a draft's export) or not (a closed run's stored bytes)."""
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


# --- permission tables: role × endpoint × method → answer, written once per package -----------

API = "/api/v1/"
NO_ACCESS = "Your role has no access to this resource."

AM, CLIENT, CLEARING, FINANCE = Role.ACCOUNT_MANAGER, Role.CLIENT, Role.CLEARING_FIRM, Role.FINANCE
API_OF_ROLE = {AM: "am_api", CLIENT: "client_api", CLEARING: "clearing_api", FINANCE: "finance_api"}


def refused(detail: str) -> tuple:
    return (403, "permission_denied", detail)


MISSING = (404, "not_found", None)
INVALID = (400, "invalid", None)
READ = (200, None, None)
NOT_NOW = (409, "invalid_transition", None)
UNSUPPORTED = (415, "unsupported_media_type", None)

PRODUCT_APPS = ("dropcopy_admin", "entitlements", "billing")


def database_contents() -> dict[str, list[tuple]]:
    """Every row of every table of the product, to show that a call wrote nothing at all."""
    return {
        model._meta.label: list(model._base_manager.order_by("pk").values_list())
        for app in PRODUCT_APPS
        for model in apps.get_app_config(app).get_models(include_auto_created=True)
    }


def send(api, method: str, url: str, body, send_as: str):
    """``body`` as JSON, as a multipart form, or (a string) as raw text the parser never reads."""
    if body is None:
        return getattr(api, method)(url)
    if isinstance(body, str):
        return getattr(api, method)(url, body, content_type="application/json")
    return getattr(api, method)(url, body, format=send_as)


def cases(table) -> list:
    """One case per role of each row. A row is (method, path, body, {role: answer}) and, last, how
    the body is sent when not as JSON; a body that needs the world's ids is a function of it."""
    return [
        pytest.param(method, path, body, role, answer, send_as[0] if send_as else "json", id=f"{role}-{method}-{path}")
        for method, path, body, answers, *send_as in table
        for role, answer in answers.items()
    ]


def assert_table_answer(request, world, method, path, body, role, answer, send_as) -> None:
    """One row of a permission table for one role: the answer it gives, and nothing written at all."""
    from dropcopy_admin.models import AuditEvent

    api = request.getfixturevalue(API_OF_ROLE[role])
    url = API + path.format(**world)
    audit_rows = AuditEvent.objects.count()
    before = database_contents()
    response = send(api, method, url, body(world) if callable(body) else body, send_as)
    status, code, detail = answer
    assert response.status_code == status, response.content
    if code is not None:
        assert response.json()["code"] == code
    if detail is not None:
        assert response.json()["detail"] == detail
    assert AuditEvent.objects.count() == audit_rows  # nothing was written
    assert database_contents() == before

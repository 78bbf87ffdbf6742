"""The OpenAPI schema describes the whole contract, error answers included, and validates cleanly."""

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

CONTRACT_PATHS = [
    "/api/v1/auth/token/",
    "/api/v1/users/",
    "/api/v1/entities/",
    "/api/v1/clearing-firms/",
    "/api/v1/gfids/",
    "/api/v1/cgw-gateways/",
    "/api/v1/segment-gateways/",
    "/api/v1/source-sessions/",
    "/api/v1/source-sessions/import/",
    "/api/v1/front-end-systems/",
    "/api/v1/groups/",
    "/api/v1/groups/{id}/close/",
    "/api/v1/groups/{id}/target-preview/",
    "/api/v1/memberships/",
    "/api/v1/memberships/{id}/approve/",
    "/api/v1/memberships/{id}/reject/",
    "/api/v1/memberships/{id}/revoke/",
    "/api/v1/memberships/bulk/",
    "/api/v1/memberships/bulk-decide/",
    "/api/v1/targets/",
    "/api/v1/targets/{id}/",
    "/api/v1/targets/{id}/keys/",
    "/api/v1/targets/{id}/keys/{key_id}/revoke/",
    "/api/v1/targets/{id}/verify/",
    "/api/v1/targets/{id}/checks/",
    "/api/v1/audit/",
    "/api/v1/billing/adjustments/",
    "/api/v1/billing/runs/",
    "/api/v1/billing/runs/{month}/",
    "/api/v1/billing/runs/{month}/lines/",
    "/api/v1/billing/runs/{month}/close/",
    "/api/v1/billing/runs/{month}/export.csv",
    "/api/v1/billing/runs/{month}/export.json",
    "/api/v1/billing/runs/{month}/export.xlsx",
]
WRITE_METHODS = ("post", "put", "patch", "delete")
ERROR_REF = "#/components/schemas/Error"


@pytest.fixture
def schema(am_api):
    response = am_api.get("/api/v1/schema/?format=json")
    assert response.status_code == 200, response.content
    return response.json()


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in (*WRITE_METHODS, "get"):
                yield path, method, operation


def _error_schema_ref(response: dict) -> str | None:
    return response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")


def test_schema_answers_an_authenticated_user(am_api):
    response = am_api.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


def test_schema_answers_every_role(client_api, clearing_api, finance_api):
    for api in (client_api, clearing_api, finance_api):
        assert api.get("/api/v1/schema/").status_code == 200


def test_schema_refuses_anonymous_callers_with_not_authenticated():
    response = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_schema_validates_without_warnings(tmp_path):
    """``manage.py spectacular --validate --fail-on-warn`` raises CommandError on any warning."""
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert out.read_text().startswith("openapi: 3")


@pytest.mark.parametrize("path", CONTRACT_PATHS)
def test_every_contract_path_is_in_the_schema(schema, path):
    assert path in schema["paths"]


def test_error_schema_is_the_code_detail_envelope(schema):
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "detail"}
    assert set(error["properties"]) == {"code", "detail", "errors"}


def test_every_write_operation_lists_its_error_answers(schema):
    """Writes need credentials, may conflict, and (with a body) may be malformed or not JSON."""
    missing = []
    for path, method, operation in _operations(schema):
        if method not in WRITE_METHODS:
            continue
        expected = {"400", "415"} if method != "delete" else set()
        if path != "/api/v1/auth/token/":
            expected |= {"401", "403", "409"}
        if "{" in path:
            expected.add("404")
        absent = expected - set(operation["responses"])
        if absent:
            missing.append(f"{method.upper()} {path}: {sorted(absent)}")
    assert not missing, missing


def test_every_error_answer_uses_the_error_envelope_and_says_when(schema):
    for path, method, operation in _operations(schema):
        for status, response in operation["responses"].items():
            if status.startswith("4"):
                assert _error_schema_ref(response) == ERROR_REF, (method, path, status)
                assert response["description"], (method, path, status)


def test_reads_document_401_and_object_reads_404(schema):
    for path, method, operation in _operations(schema):
        if method != "get":
            continue
        assert {"401", "403"} <= set(operation["responses"]), path
        if "{" in path:
            assert "404" in operation["responses"], path
        else:
            assert "400" in operation["responses"], path  # malformed filters and paging


def test_token_request_needs_no_credentials(schema):
    token = schema["paths"]["/api/v1/auth/token/"]["post"]
    assert "401" not in token["responses"]
    assert {"400", "415"} <= set(token["responses"])


def test_every_body_taking_operation_documents_its_request_body(schema):
    without_body = [
        f"{method.upper()} {path}"
        for path, method, operation in _operations(schema)
        if method in ("post", "put", "patch") and "requestBody" not in operation
    ]
    assert not without_body


def test_import_takes_a_multipart_file(schema):
    body = schema["paths"]["/api/v1/source-sessions/import/"]["post"]["requestBody"]
    assert list(body["content"]) == ["multipart/form-data"]


def test_docs_render_for_a_logged_in_user(client, account_manager):
    client.force_login(account_manager)
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"swagger" in response.content.lower()


def test_docs_send_anonymous_callers_to_log_in(client):
    response = client.get("/api/v1/docs/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/api/v1/docs/")

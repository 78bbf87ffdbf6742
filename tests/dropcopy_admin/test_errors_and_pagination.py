"""Behaviour every endpoint shares: the error envelope for generic failures, and pagination."""

import pytest
from rest_framework.test import APIClient

from dropcopy_admin.models import ClearingFirm
from tests import factories

pytestmark = pytest.mark.django_db


def _code(n: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return "".join(digits[(n // 36**power) % 36] for power in (2, 1, 0))


def _firms(count: int) -> None:
    ClearingFirm.objects.bulk_create(ClearingFirm(code=_code(n), name=f"Firm {n}") for n in range(count))


def _assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


# --- errors ---------------------------------------------------------------------------------


def test_malformed_json_is_400_invalid(am_api):
    response = am_api.post("/api/v1/clearing-firms/", data='{"code": "ABC", ', content_type="application/json")
    body = _assert_error(response, 400, "invalid")
    assert body["errors"]  # every 400 invalid carries "errors" (api-contract.md, "Errors")
    assert not ClearingFirm.objects.exists()


def test_a_body_that_is_not_json_is_415_unsupported_media_type(am_api):
    response = am_api.post("/api/v1/clearing-firms/", data="code=ABC", content_type="text/plain")
    _assert_error(response, 415, "unsupported_media_type")
    assert not ClearingFirm.objects.exists()


def test_put_where_only_patch_is_offered_is_405_method_not_allowed(am_api):
    firm = factories.ClearingFirmFactory()
    response = am_api.put(f"/api/v1/clearing-firms/{firm.id}/", {"code": "ZZZ", "name": "Z"}, format="json")
    _assert_error(response, 405, "method_not_allowed")


def test_delete_of_a_group_is_405_method_not_allowed(am_api):
    group = factories.GroupFactory()
    response = am_api.delete(f"/api/v1/groups/{group.id}/")
    _assert_error(response, 405, "method_not_allowed")


def test_delete_of_read_only_reference_data_is_405(am_api):
    gateway = factories.cgw_gateway()
    response = am_api.delete(f"/api/v1/cgw-gateways/{gateway.id}/")
    _assert_error(response, 405, "method_not_allowed")


def test_unknown_api_path_is_404_not_found_in_json(am_api):
    response = am_api.get("/api/v1/nope/")
    assert response["Content-Type"].startswith("application/json")
    _assert_error(response, 404, "not_found")


def test_unknown_api_path_is_json_even_for_anonymous_callers():
    response = APIClient().get("/api/v1/nope/deeper/")
    _assert_error(response, 404, "not_found")


def test_unknown_object_id_is_404_not_found(am_api):
    response = am_api.get("/api/v1/clearing-firms/999999/")
    _assert_error(response, 404, "not_found")


def test_no_credentials_is_401_not_authenticated():
    response = APIClient().get("/api/v1/entities/")
    _assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Token")


def test_a_bad_token_is_401_not_authenticated(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    _assert_error(client.get("/api/v1/entities/"), 401, "not_authenticated")


def test_a_write_without_credentials_is_401_and_changes_nothing():
    response = APIClient().post("/api/v1/clearing-firms/", {"code": "ABC", "name": "ABC"}, format="json")
    _assert_error(response, 401, "not_authenticated")
    assert not ClearingFirm.objects.exists()


def test_a_field_error_names_the_field(am_api):
    response = am_api.post("/api/v1/clearing-firms/", {"name": "No code"}, format="json")
    body = _assert_error(response, 400, "invalid")
    assert "code" in body["errors"]


# --- pagination -----------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["page=abc", "page=0", "page=-1", "page_size=0", "page_size=abc", "page_size=-5"])
def test_malformed_paging_values_are_400_invalid(am_api, query):
    _firms(2)
    body = _assert_error(am_api.get(f"/api/v1/clearing-firms/?{query}"), 400, "invalid")
    assert set(body["errors"]) == {query.split("=")[0]}


def test_a_page_past_the_end_is_404_not_found(am_api):
    _firms(3)
    _assert_error(am_api.get("/api/v1/clearing-firms/?page=9"), 404, "not_found")


def test_lists_default_to_pages_of_50(am_api):
    _firms(51)
    body = am_api.get("/api/v1/clearing-firms/").json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 51
    assert len(body["results"]) == 50


def test_page_size_above_1000_is_clamped_to_1000(am_api):
    _firms(1001)
    response = am_api.get("/api/v1/clearing-firms/?page_size=5000")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 1001
    assert len(body["results"]) == 1000
    assert body["next"] is not None


def test_next_and_previous_are_absolute_urls(am_api):
    _firms(3)
    body = am_api.get("/api/v1/clearing-firms/?page=2&page_size=1").json()
    assert body["next"].startswith("http://testserver/api/v1/clearing-firms/?")
    assert "page=3" in body["next"]
    assert body["previous"].startswith("http://testserver/api/v1/clearing-firms/")
    assert [firm["code"] for firm in body["results"]] == [_code(1)]


def test_lists_are_ordered_by_id(am_api):
    _firms(5)
    ids = [firm["id"] for firm in am_api.get("/api/v1/clearing-firms/").json()["results"]]
    assert ids == sorted(ids)


def test_the_first_and_last_pages_have_no_previous_and_next(am_api):
    _firms(2)
    first = am_api.get("/api/v1/clearing-firms/?page_size=1").json()
    last = am_api.get("/api/v1/clearing-firms/?page=2&page_size=1").json()
    assert first["previous"] is None
    assert last["next"] is None


@pytest.mark.django_db
def test_api_root_lists_the_resources_for_a_signed_in_user(client_api):
    response = client_api.get("/api/v1/")

    assert response.status_code == 200
    assert {"groups", "memberships", "source-sessions", "audit"} <= set(response.json())
    assert response.json()["groups"].startswith("http://testserver/api/v1/groups/")


@pytest.mark.django_db
def test_api_root_needs_credentials():
    response = APIClient().get("/api/v1/")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"

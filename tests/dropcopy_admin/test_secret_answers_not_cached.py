"""Every answer that carries a secret says ``Cache-Control: no-store`` (issue 13): the API token,
a new key pair's Secret Key through the API, and the portal's key-pair-created page."""

import pytest
from rest_framework.test import APIClient

from tests.dropcopy_admin.test_api_keys import keys_url, target  # noqa: F401
from tests.entitlements.test_portal_temporary import key_pair_url, new_test_target

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
PASSWORD = "s3cret-Pa55word"  # what UserFactory sets


def no_store(response) -> bool:
    return "no-store" in [part.strip() for part in response.get("Cache-Control", "").split(",")]


def test_the_token_answer_is_not_stored(account_manager):
    response = APIClient().post(TOKEN_URL, {"username": "am", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    assert "token" in response.json()
    assert no_store(response)


def test_the_api_answer_with_a_new_secret_key_is_not_stored(client_api, target):  # noqa: F811
    response = client_api.post(keys_url(target))
    assert response.status_code == 201
    assert "secret_key" in response.json()
    assert no_store(response)


def test_the_key_pair_list_without_secrets_may_be_cached(client_api, target):  # noqa: F811
    response = client_api.get(keys_url(target))
    assert response.status_code == 200
    assert not no_store(response)


def test_the_portal_page_showing_a_new_secret_key_is_not_stored(client, client_user, client_entity):
    test_target = new_test_target(client_entity)
    client.force_login(client_user)
    response = client.post(key_pair_url(test_target), {"confirm_identity": "1", "password": "s3cret-Pa55word"})
    assert response.status_code == 200
    assert response.context["secret_key"] in response.content.decode()
    assert no_store(response)

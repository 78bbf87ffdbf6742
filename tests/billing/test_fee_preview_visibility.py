"""Who reads an entity's fee preview (issue 13: a clearing firm read another entity's
``active_groups``): account managers, finance and the entity's own client; a clearing firm that
sees the entity is refused, and an entity the caller cannot see is missing."""

import pytest

from dropcopy_admin.choices import Environment
from tests import factories
from tests.support import assert_error

pytestmark = pytest.mark.django_db


def preview_url(entity) -> str:
    return f"/api/v1/entities/{entity.pk}/fee-preview/"


@pytest.fixture
def guaranteed_entity(clearing_firm):
    """An entity the clearing firm sees (it guarantees its GFID), with one production group."""
    entity = factories.EntityFactory(code="GUAR", name="Guaranteed Trading")
    factories.GfidFactory(entity=entity, clearing_firm=clearing_firm)
    factories.GroupFactory(entity=entity, environment=Environment.PRODUCTION)
    return entity


def test_a_clearing_firm_sees_the_entity_but_not_its_fee_preview(clearing_api, guaranteed_entity):
    assert clearing_api.get(f"/api/v1/entities/{guaranteed_entity.pk}/").status_code == 200

    body = assert_error(clearing_api.get(preview_url(guaranteed_entity)), 403, "permission_denied")
    assert "active_groups" not in body


def test_a_clearing_firm_gets_404_for_an_entity_it_does_not_see(clearing_api):
    stranger = factories.EntityFactory(code="STRG")

    assert_error(clearing_api.get(preview_url(stranger)), 404, "not_found")


@pytest.mark.parametrize("api", ["am_api", "finance_api"])
def test_account_managers_and_finance_read_any_entitys_fee_preview(request, api, guaranteed_entity):
    response = request.getfixturevalue(api).get(preview_url(guaranteed_entity))

    assert response.status_code == 200, response.content
    assert response.json()["active_groups"] == 1


def test_a_client_reads_its_own_entitys_fee_preview_and_no_other(client_api, client_entity, guaranteed_entity):
    assert client_api.get(preview_url(client_entity)).status_code == 200
    assert_error(client_api.get(preview_url(guaranteed_entity)), 404, "not_found")

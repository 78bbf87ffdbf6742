"""The entity of an adjustment is named by its id, a whole number in ASCII digits (issue 13:
lenient ids, ``1.9`` read as entity 1): anything else is 400 ``invalid`` and no line is written."""

import pytest

from billing.models import BillingLine
from tests.support import assert_invalid

pytestmark = pytest.mark.django_db

ADJUSTMENTS = "/api/v1/billing/adjustments/"


def body(entity_id) -> dict:
    return {"entity": entity_id, "corrects_month": "2025-04", "amount": "-125.50", "note": "Refund April"}


@pytest.mark.parametrize("written", ["{pk}.9", "{pk}.0", "float", "full-width", "true"])
def test_an_entity_id_that_is_not_a_whole_number_in_ascii_digits_is_invalid(am_api, client_entity, written):
    pk = client_entity.pk
    entity_id = {
        "float": pk + 0.9,
        "full-width": "".join(chr(ord("０") + int(digit)) for digit in str(pk)),
        "true": True,
    }.get(written, written.format(pk=pk))

    assert_invalid(am_api.post(ADJUSTMENTS, body(entity_id), format="json"), "entity")
    assert not BillingLine.objects.exists()


def test_an_entity_id_in_ascii_digits_is_read(am_api, client_entity):
    response = am_api.post(ADJUSTMENTS, body(client_entity.pk), format="json")

    assert response.status_code == 201, response.content
    assert BillingLine.objects.get().entity == client_entity

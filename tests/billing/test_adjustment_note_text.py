"""An adjustment note refuses control characters at input (issue 13): a note may run over several
lines, with tabs, but holds no other control or invisible character; 400 ``invalid`` on ``note``,
nothing written."""

import datetime as dt
from decimal import Decimal

import pytest

from billing.models import BillingLine
from billing.services import billing_adjustment_create
from dropcopy_admin import clock, errors
from tests.support import assert_invalid, database_contents

pytestmark = pytest.mark.django_db

ADJUSTMENTS = "/api/v1/billing/adjustments/"


@pytest.fixture(autouse=True)
def _frozen():
    clock.freeze(dt.datetime(2025, 6, 15, 17, tzinfo=dt.UTC))


def adjust(actor, entity, note: str) -> BillingLine:
    return billing_adjustment_create(
        actor=actor, entity=entity, corrects_month=dt.date(2025, 4, 1), amount=Decimal("-125.50"), note=note
    )


@pytest.mark.parametrize("character", ["\x00", "\x06", "\x0b", "\x7f", "\x85", "\u200b", "\u202e", "\ufeff", "\u2028"])
def test_a_note_with_a_control_character_is_invalid_and_nothing_is_written(account_manager, client_entity, character):
    before = database_contents()
    with pytest.raises(errors.InvalidInput) as refusal:
        adjust(account_manager, client_entity, f"April over-billed{character}, see ticket 42")
    assert list(refusal.value.errors) == ["note"]
    assert database_contents() == before


def test_a_note_of_several_lines_with_tabs_is_kept(account_manager, client_entity):
    line = adjust(account_manager, client_entity, "April over-billed\r\n\tsee ticket 42")
    assert BillingLine.objects.get(pk=line.pk).note == "April over-billed\r\n\tsee ticket 42"


def test_the_api_answers_invalid_on_the_note(finance_api, client_entity):
    before = database_contents()
    body = {"entity": client_entity.pk, "corrects_month": "2025-04", "amount": "-125.50", "note": "Refund\u0006 April"}
    assert_invalid(finance_api.post(ADJUSTMENTS, body, format="json"), "note")
    assert database_contents() == before

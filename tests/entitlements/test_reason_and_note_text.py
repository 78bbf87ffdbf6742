"""Decision reasons and certification notes refuse control characters at input (issue 13): they
may run over several lines, with tabs, but hold no other control or invisible character; 400
``invalid`` on the field, nothing written."""

import datetime as dt

import pytest

from dropcopy_admin import clock, errors
from dropcopy_admin.choices import CertificationStatus, GatewayType, MembershipStatus
from entitlements.choices import Decision
from entitlements.services import memberships
from entitlements.services.temporary_targets import certification_decide, certification_request
from tests import factories
from tests.support import assert_invalid, database_contents

from .support import guaranteed_session, membership_url

pytestmark = pytest.mark.django_db

REFUSED = ["\x00", "\x06", "\x0b", "\x1b", "\x9f", "\u200d", "\u2066", "\ufeff", "\u2029"]


@pytest.fixture(autouse=True)
def _frozen():
    clock.freeze(dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC))


@pytest.fixture
def pending(client_user, client_entity, clearing_firm):
    group = factories.GroupFactory(entity=client_entity, name="Main")
    return memberships.membership_request(
        actor=client_user, group=group, source_session=guaranteed_session(client_entity, clearing_firm)
    )


@pytest.fixture
def certification(client_user, client_entity):
    system = factories.FrontEndSystemFactory(entity=client_entity, name="Desk", version="2.1", vendor="ACME")
    return certification_request(
        actor=client_user,
        entity=client_entity,
        front_end_system=system,
        venue=factories.venue("CME"),
        gateway_type=GatewayType.CGW,
    )


def refused_on(field: str, call) -> None:
    before = database_contents()
    with pytest.raises(errors.InvalidInput) as refusal:
        call()
    assert list(refusal.value.errors) == [field]
    assert database_contents() == before


@pytest.mark.parametrize("decision", [Decision.APPROVE, Decision.REJECT])
@pytest.mark.parametrize("character", REFUSED)
def test_a_decision_reason_with_a_control_character_is_invalid(clearing_user, pending, decision, character):
    refused_on(
        "reason",
        lambda: memberships.membership_decide(
            actor=clearing_user, membership=pending, decision=decision, reason=f"No{character} contract"
        ),
    )


def test_a_reason_of_several_lines_with_tabs_is_kept(clearing_user, pending):
    decided = memberships.membership_decide(
        actor=clearing_user, membership=pending, decision=Decision.REJECT, reason="No contract\r\n\tcall us"
    )
    assert (decided.status, decided.reason) == (MembershipStatus.REJECTED, "No contract\r\n\tcall us")


@pytest.mark.parametrize("passed", [True, False])
@pytest.mark.parametrize("character", REFUSED)
def test_a_certification_note_with_a_control_character_is_invalid(account_manager, certification, passed, character):
    refused_on(
        "note",
        lambda: certification_decide(
            actor=account_manager, certification=certification, passed=passed, note=f"All{character} five checks"
        ),
    )


def test_a_certification_note_of_several_lines_is_kept(account_manager, certification):
    decided = certification_decide(
        actor=account_manager, certification=certification, passed=True, note="All five checks\n\tseen on Tuesday"
    )
    assert (decided.status, decided.note) == (CertificationStatus.PASSED, "All five checks\n\tseen on Tuesday")


def test_the_api_answers_invalid_on_the_reason_and_the_note(clearing_api, am_api, pending, certification):
    before = database_contents()
    assert_invalid(
        clearing_api.post(membership_url(pending, "reject"), {"reason": "No\u0006 contract"}, format="json"), "reason"
    )
    assert_invalid(
        am_api.post(f"/api/v1/certifications/{certification.pk}/fail/", {"note": "No\u202e show"}, format="json"),
        "note",
    )
    assert database_contents() == before

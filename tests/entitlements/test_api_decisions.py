"""memberships/{id}/approve/, reject/, revoke/ and DELETE: every state change allowed and refused
(R8), reasons, self-approval, and who may decide (api-contract.md, "Who may do what")."""

import datetime as dt

import pytest

from dropcopy_admin import clock
from dropcopy_admin.choices import MembershipStatus, Role
from dropcopy_admin.models import AuditEvent, Membership, PortRange, TargetSession
from entitlements.choices import Decision
from entitlements.services import memberships as services
from tests import factories
from tests.support import assert_error

from .support import (
    MEMBERSHIPS,
    admin_control_session,
    guaranteed_session,
    membership_url,
    msgw_session,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 15, 30, tzinfo=dt.UTC)


@pytest.fixture
def group(client_entity):
    return factories.GroupFactory(entity=client_entity, name="Main")


@pytest.fixture
def pending(client_user, client_entity, clearing_firm, group):
    """A pending request, by the client, for a session the clearing firm guarantees."""
    clock.freeze(NOW)
    return services.membership_request(
        actor=client_user, group=group, source_session=guaranteed_session(client_entity, clearing_firm)
    )


@pytest.fixture
def approved(pending, clearing_user):
    return services.membership_decide(actor=clearing_user, membership=pending, decision=Decision.APPROVE)


def in_state(membership, status: str) -> Membership:
    """Put ``membership`` into ``status`` the way the product would."""
    if status == MembershipStatus.REJECTED:
        return services.membership_decide(
            actor=factories.UserFactory(role=Role.ACCOUNT_MANAGER), membership=membership, decision="reject", reason="r"
        )
    Membership.objects.filter(pk=membership.pk).update(status=status)
    membership.refresh_from_db()
    return membership


def post(api, membership, action: str, reason: str | None = None):
    body = {} if reason is None else {"reason": reason}
    return api.post(membership_url(membership, action), body, format="json")


# --- allowed changes --------------------------------------------------------------------------


def test_the_guaranteeing_firm_approves_a_pending_request_and_it_gets_a_target(clearing_api, clearing_user, pending):
    response = post(clearing_api, pending, "approve")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == pending.pk
    assert body["status"] == "approved"
    assert body["auto_approved"] is False
    assert body["decided_by"] == clearing_user.pk
    assert body["decided_at"] == "2026-03-10T15:30:00Z"
    target = TargetSession.objects.get(pk=body["target"])
    assert target.group_id == pending.group_id
    assert target.used == 1
    assert AuditEvent.objects.filter(action="approve", object_type="membership", object_id=pending.pk).exists()


def test_the_firm_approves_with_an_optional_reason(clearing_api, pending):
    response = post(clearing_api, pending, "approve", reason="Limits checked")

    assert response.status_code == 200, response.content
    assert response.json()["reason"] == "Limits checked"


def test_the_firm_rejects_a_pending_request_with_a_reason(clearing_api, clearing_user, pending):
    response = post(clearing_api, pending, "reject", reason="No agreement on file")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "rejected"
    assert body["reason"] == "No agreement on file"
    assert body["target"] is None
    assert body["decided_by"] == clearing_user.pk
    assert not TargetSession.objects.exists()


def test_the_firm_revokes_an_approval_with_a_reason_and_its_slot_is_freed(clearing_api, approved):
    target_id = approved.target_id

    response = post(clearing_api, approved, "revoke", reason="Account closed")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "revoked"
    assert body["target"] is None
    assert body["reason"] == "Account closed"
    assert TargetSession.objects.get(pk=target_id).used == 0
    assert Membership.objects.get(pk=approved.pk).ended_at is not None


def test_the_client_withdraws_a_pending_request(client_api, pending):
    response = client_api.delete(membership_url(pending))

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "withdrawn"


def test_the_client_removes_an_approved_session_and_its_slot_is_freed(client_api, approved):
    target_id = approved.target_id

    response = client_api.delete(membership_url(approved))

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "removed"
    assert response.json()["target"] is None
    assert TargetSession.objects.get(pk=target_id).used == 0


def test_a_pending_request_expires_after_its_lifetime(pending, settings):
    clock.advance(dt.timedelta(days=settings.DROPCOPY["PENDING_REQUEST_LIFETIME_DAYS"], seconds=1))

    services.memberships_expire(actor=factories.UserFactory(role=Role.ACCOUNT_MANAGER))

    pending.refresh_from_db()
    assert pending.status == MembershipStatus.EXPIRED


# --- refused changes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status",
    [
        MembershipStatus.REJECTED,
        MembershipStatus.WITHDRAWN,
        MembershipStatus.EXPIRED,
        MembershipStatus.REVOKED,
        MembershipStatus.REMOVED,
    ],
)
def test_approving_an_ended_membership_is_invalid_transition(clearing_api, pending, status):
    ended = in_state(pending, status)

    body = assert_error(post(clearing_api, ended, "approve"), 409, "invalid_transition")
    assert status in body["detail"]
    assert Membership.objects.get(pk=pending.pk).status == status


def test_approving_an_approved_membership_is_invalid_transition(clearing_api, approved):
    assert_error(post(clearing_api, approved, "approve"), 409, "invalid_transition")
    assert TargetSession.objects.get(pk=approved.target_id).used == 1


@pytest.mark.parametrize(
    "status",
    [
        MembershipStatus.APPROVED,
        MembershipStatus.REJECTED,
        MembershipStatus.WITHDRAWN,
        MembershipStatus.EXPIRED,
        MembershipStatus.REVOKED,
        MembershipStatus.REMOVED,
    ],
)
def test_rejecting_anything_but_a_pending_request_is_invalid_transition(clearing_api, clearing_user, pending, status):
    if status == MembershipStatus.APPROVED:
        membership = services.membership_decide(actor=clearing_user, membership=pending, decision=Decision.APPROVE)
    else:
        membership = in_state(pending, status)

    assert_error(post(clearing_api, membership, "reject", reason="No"), 409, "invalid_transition")


@pytest.mark.parametrize(
    "status",
    [
        MembershipStatus.PENDING,
        MembershipStatus.REJECTED,
        MembershipStatus.WITHDRAWN,
        MembershipStatus.EXPIRED,
        MembershipStatus.REVOKED,
        MembershipStatus.REMOVED,
    ],
)
def test_revoking_anything_but_an_approval_is_invalid_transition(clearing_api, pending, status):
    membership = pending if status == MembershipStatus.PENDING else in_state(pending, status)

    assert_error(post(clearing_api, membership, "revoke", reason="No"), 409, "invalid_transition")


@pytest.mark.parametrize("status", [MembershipStatus.REJECTED, MembershipStatus.REVOKED, MembershipStatus.REMOVED])
def test_deleting_an_ended_membership_is_invalid_transition(client_api, pending, status):
    assert_error(client_api.delete(membership_url(in_state(pending, status))), 409, "invalid_transition")


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_rejecting_without_a_reason_is_invalid(clearing_api, pending, reason):
    body = assert_error(post(clearing_api, pending, "reject", reason=reason), 400, "invalid")
    assert "reason" in body["errors"]
    assert Membership.objects.get(pk=pending.pk).status == MembershipStatus.PENDING


def test_revoking_without_a_reason_is_invalid(clearing_api, approved):
    body = assert_error(post(clearing_api, approved, "revoke"), 400, "invalid")
    assert "reason" in body["errors"]
    assert Membership.objects.get(pk=approved.pk).status == MembershipStatus.APPROVED


def test_a_reason_longer_than_500_characters_is_invalid(clearing_api, pending):
    body = assert_error(post(clearing_api, pending, "reject", reason="x" * 501), 400, "invalid")
    assert "reason" in body["errors"]


def test_a_malformed_body_is_invalid(clearing_api, pending):
    response = clearing_api.post(membership_url(pending, "approve"), "[1, 2]", content_type="application/json")
    assert_error(response, 400, "invalid")


# --- account managers on a firm's behalf ------------------------------------------------------


def test_an_account_manager_approving_without_a_reason_is_invalid(am_api, pending):
    body = assert_error(post(am_api, pending, "approve"), 400, "invalid")
    assert "reason" in body["errors"]
    assert Membership.objects.get(pk=pending.pk).status == MembershipStatus.PENDING


def test_an_account_manager_approves_on_the_firms_behalf_with_a_reason(am_api, account_manager, pending):
    response = post(am_api, pending, "approve", reason="Firm confirmed by phone")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "approved"
    assert body["decided_by"] == account_manager.pk
    assert body["reason"] == "Firm confirmed by phone"


def test_an_account_manager_rejects_and_revokes_with_a_reason(am_api, client_user, clearing_user, pending):
    assert post(am_api, pending, "reject", reason="Duplicate request").json()["status"] == "rejected"
    other = services.membership_request(actor=client_user, group=pending.group, source_session=pending.source_session)
    services.membership_decide(actor=clearing_user, membership=other, decision=Decision.APPROVE)
    assert post(am_api, other, "revoke", reason="Firm asked us").json()["status"] == "revoked"


def test_the_requesting_user_deciding_is_self_approval(am_api, account_manager, group, client_entity, clearing_firm):
    own_request = services.membership_request(
        actor=account_manager, group=group, source_session=guaranteed_session(client_entity, clearing_firm)
    )

    body = assert_error(post(am_api, own_request, "approve", reason="Looks fine"), 409, "self_approval")
    assert "cannot decide" in body["detail"]
    assert Membership.objects.get(pk=own_request.pk).status == MembershipStatus.PENDING


# --- who may decide (each role's answer: the table in test_permissions.py) -----------------------


def test_a_firm_deciding_a_request_another_firm_guarantees_gets_not_found(api_for, pending):
    other_firm_user = factories.UserFactory(role=Role.CLEARING_FIRM)

    assert_error(post(api_for(other_firm_user), pending, "approve"), 404, "not_found")
    assert Membership.objects.get(pk=pending.pk).status == MembershipStatus.PENDING


def test_deciding_a_missing_membership_is_not_found(clearing_api):
    assert_error(post(clearing_api, 999999, "approve"), 404, "not_found")


def test_anonymous_callers_are_not_authenticated(pending):
    from rest_framework.test import APIClient

    assert_error(post(APIClient(), pending, "approve"), 401, "not_authenticated")


def test_get_on_a_decision_is_method_not_allowed(clearing_api, pending):
    assert_error(clearing_api.get(membership_url(pending, "approve")), 405, "method_not_allowed")


# --- what approval allocates, seen through the API --------------------------------------------


def test_approval_past_the_msgw_capacity_is_capacity_exceeded(settings, clearing_api, client_user, group, pending):
    settings.DROPCOPY = {**settings.DROPCOPY, "MSGW_TARGET_CAPACITY": 1}
    entity, firm = group.entity, pending.source_session.clearing_firm
    first, second = (
        services.membership_request(actor=client_user, group=group, source_session=msgw_session(entity, firm))
        for _ in range(2)
    )
    assert post(clearing_api, first, "approve").status_code == 200

    body = assert_error(post(clearing_api, second, "approve"), 409, "capacity_exceeded")
    assert "at most 1" in body["detail"] and "has 1" in body["detail"]
    assert Membership.objects.get(pk=second.pk).status == MembershipStatus.PENDING


def test_approval_needing_a_port_when_none_is_free_is_pool_exhausted(
    settings, clearing_api, client_user, group, pending
):
    settings.DROPCOPY = {**settings.DROPCOPY, "CGW_TARGET_CAPACITY": 1}
    PortRange.objects.filter(environment=group.environment).update(first_port=30000, last_port=30000)
    assert post(clearing_api, pending, "approve").status_code == 200
    entity, firm = group.entity, pending.source_session.clearing_firm
    same_gateway = services.membership_request(
        actor=client_user, group=group, source_session=guaranteed_session(entity, firm)
    )

    body = assert_error(post(clearing_api, same_gateway, "approve"), 409, "pool_exhausted")
    assert "30000-30000" in body["detail"]
    assert TargetSession.objects.count() == 1
    assert Membership.objects.get(pk=same_gateway.pk).status == MembershipStatus.PENDING


def test_a_port_taken_on_cgw_addresses_is_still_free_on_the_segment_gateways(clearing_api, client_user, group, pending):
    PortRange.objects.filter(environment=group.environment).update(first_port=30000, last_port=30000)
    assert post(clearing_api, pending, "approve").status_code == 200
    entity, firm = group.entity, pending.source_session.clearing_firm
    msgw = services.membership_request(actor=client_user, group=group, source_session=msgw_session(entity, firm))

    response = post(clearing_api, msgw, "approve")

    assert response.status_code == 200, response.content
    assert TargetSession.objects.get(pk=response.json()["target"]).port == 30000


def test_an_auto_approved_request_through_the_api_records_it_and_has_a_target(
    client_api, client_entity, group, clearing_firm
):
    session = admin_control_session(client_entity, clearing_firm)

    response = client_api.post(MEMBERSHIPS, {"group": group.pk, "source_session": session.pk}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "approved"
    assert body["auto_approved"] is True
    assert body["target"] is not None
    assert body["decided_by"] is None

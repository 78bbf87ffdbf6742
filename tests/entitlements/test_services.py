"""entitlements.services: auto-approval (R8), target allocation and layout (R6, R7), release, group
close (R4), expiry, the target preview, and provisioning queued on commit (R17)."""

import datetime as dt
import re

import pytest

from dropcopy_admin import clock, errors
from dropcopy_admin.choices import AddressRole, GatewayType, MembershipStatus, Role, TargetStatus
from dropcopy_admin.models import Membership, PortRange, TargetAddress, TargetSession
from dropcopy_admin.services.groups import group_close
from entitlements.choices import Decision
from entitlements.services import memberships as services
from entitlements.services.memberships import membership_end
from tests import factories

from .support import (
    admin_control_session,
    brokertec_group,
    brokertec_session,
    cgw_session_on,
    guaranteed_session,
    msgw_session,
)

pytestmark = pytest.mark.django_db

CME_SEGMENTS = 19


@pytest.fixture
def small_targets(settings):
    """CGW targets of 3 and MSGW targets of 3, so capacity is reached with a handful of sessions."""
    settings.DROPCOPY = {**settings.DROPCOPY, "CGW_TARGET_CAPACITY": 3, "MSGW_TARGET_CAPACITY": 3}


@pytest.fixture
def group(client_entity):
    return factories.GroupFactory(entity=client_entity, name="Main")


def request(actor, group, session) -> Membership:
    return services.membership_request(actor=actor, group=group, source_session=session)


def approve(actor, membership) -> Membership:
    return services.membership_decide(actor=actor, membership=membership, decision=Decision.APPROVE)


def request_and_approve(client_user, clearing_user, group, sessions) -> list[Membership]:
    pending = [request(client_user, group, session) for session in sessions]
    outcomes = services.memberships_decide(actor=clearing_user, memberships=pending, decision=Decision.APPROVE)
    assert all(outcome.error is None for outcome in outcomes), [o.error for o in outcomes]
    return [outcome.membership for outcome in outcomes]


def live_targets(group, gateway_type=GatewayType.CGW) -> list[TargetSession]:
    return list(TargetSession.objects.filter(group=group, gateway_type=gateway_type).order_by("pk"))


# --- auto-approval (R8) -----------------------------------------------------------------------


def test_admin_control_of_the_groups_entity_gfid_is_auto_approved_with_a_target(client_user, client_entity, group):
    session = admin_control_session(client_entity, factories.ClearingFirmFactory())

    membership = request(client_user, group, session)

    membership.refresh_from_db()
    assert membership.status == MembershipStatus.APPROVED
    assert membership.auto_approved is True
    assert membership.target is not None and membership.target.group == group
    assert membership.decided_at is not None
    assert "admin control" in membership.reason


def test_group_entity_that_is_the_guaranteeing_clearing_firm_is_auto_approved(clearing_firm):
    firm_entity = factories.EntityFactory(clearing_firm=clearing_firm)
    firm_client = factories.UserFactory(role=Role.CLIENT, entity=firm_entity)
    firm_group = factories.GroupFactory(entity=firm_entity)
    someone_elses_session = guaranteed_session(factories.EntityFactory(), clearing_firm)

    membership = request(firm_client, firm_group, someone_elses_session)

    membership.refresh_from_db()
    assert membership.status == MembershipStatus.APPROVED
    assert membership.auto_approved is True
    assert membership.target_id is not None
    assert "clearing firm guaranteeing" in membership.reason


def test_session_without_a_guaranteeing_clearing_firm_is_auto_approved(client_user, client_entity):
    group = brokertec_group(client_entity)
    session = brokertec_session(client_entity)

    membership = request(client_user, group, session)

    membership.refresh_from_db()
    assert membership.status == MembershipStatus.APPROVED
    assert membership.auto_approved is True
    assert membership.target.gateway_type == GatewayType.MSGW
    assert "no guaranteeing clearing firm" in membership.reason


def test_admin_control_of_another_entitys_gfid_needs_a_decision(account_manager, group):
    other_entity = factories.EntityFactory()
    session = admin_control_session(other_entity, factories.ClearingFirmFactory())

    membership = request(account_manager, group, session)

    membership.refresh_from_db()
    assert membership.status == MembershipStatus.PENDING
    assert membership.auto_approved is False
    assert membership.target is None
    assert not TargetSession.objects.exists()


def test_own_gfid_without_admin_control_needs_a_decision(client_user, client_entity, clearing_firm, group):
    membership = request(client_user, group, guaranteed_session(client_entity, clearing_firm))

    assert membership.status == MembershipStatus.PENDING
    assert membership.auto_approved is False
    assert services.auto_approval_basis(group=group, session=membership.source_session) is None


# --- CGW allocation (R6) ----------------------------------------------------------------------


def test_cgw_targets_fill_to_capacity_and_then_a_new_one_opens(
    small_targets, client_user, clearing_user, client_entity, clearing_firm, group
):
    sessions = [guaranteed_session(client_entity, clearing_firm) for _ in range(7)]

    approved = request_and_approve(client_user, clearing_user, group, sessions)

    targets = live_targets(group)
    assert [t.used for t in targets] == [3, 3, 1]
    assert all(t.capacity == 3 for t in targets)
    assert [m.target_id for m in approved] == [targets[0].pk] * 3 + [targets[1].pk] * 3 + [targets[2].pk]


def test_new_sessions_fill_the_oldest_target_with_room_and_none_is_moved(
    small_targets, client_user, clearing_user, client_entity, clearing_firm, group
):
    first_batch = request_and_approve(
        client_user, clearing_user, group, [guaranteed_session(client_entity, clearing_firm) for _ in range(5)]
    )
    oldest, newer = live_targets(group)
    membership_end(actor=client_user, membership=first_batch[0])  # frees a slot on the oldest target

    (late,) = request_and_approve(client_user, clearing_user, group, [guaranteed_session(client_entity, clearing_firm)])

    assert late.target_id == oldest.pk
    for membership in first_batch[1:]:
        before = membership.target_id
        membership.refresh_from_db()
        assert membership.target_id == before
    oldest.refresh_from_db()
    newer.refresh_from_db()
    assert (oldest.used, newer.used) == (3, 2)


def test_each_ilink_gateway_has_its_own_set_of_targets_on_its_drop_copy_addresses(
    small_targets, client_user, clearing_user, client_entity, clearing_firm, group
):
    on_cgw1 = cgw_session_on(client_entity, clearing_firm, "CGW1")
    on_cgw2 = cgw_session_on(client_entity, clearing_firm, "CGW2")

    first, second = request_and_approve(client_user, clearing_user, group, [on_cgw1, on_cgw2])

    assert first.target_id != second.target_id
    for membership, session in ((first, on_cgw1), (second, on_cgw2)):
        target = TargetSession.objects.get(pk=membership.target_id)
        assert target.cgw_gateway_id == session.cgw_gateway_id
        ips = {a.role: a.ip for a in target.addresses.all()}
        assert ips == {"primary": session.cgw_gateway.primary_ip, "backup": session.cgw_gateway.backup_ip}


def test_an_emptied_target_stays_with_its_id_and_port_and_is_used_again(
    small_targets, client_user, clearing_user, client_entity, clearing_firm, group
):
    (membership,) = request_and_approve(
        client_user, clearing_user, group, [guaranteed_session(client_entity, clearing_firm)]
    )
    target = TargetSession.objects.get(pk=membership.target_id)

    membership_end(actor=client_user, membership=membership)

    target.refresh_from_db()
    assert target.used == 0
    assert target.status != TargetStatus.CLOSED
    assert target.addresses.filter(released=False).count() == 2
    (again,) = request_and_approve(
        client_user, clearing_user, group, [guaranteed_session(client_entity, clearing_firm)]
    )
    assert again.target_id == target.pk
    assert TargetSession.objects.filter(group=group).count() == 1


# --- MSGW allocation (R6) ---------------------------------------------------------------------


def test_a_group_has_one_msgw_target_and_the_next_past_capacity_is_refused(
    small_targets, client_user, clearing_user, client_entity, clearing_firm, group
):
    pending = [request(client_user, group, msgw_session(client_entity, clearing_firm)) for _ in range(4)]

    outcomes = services.memberships_decide(actor=clearing_user, memberships=pending, decision=Decision.APPROVE)

    assert [o.error is None for o in outcomes] == [True, True, True, False]
    refusal = outcomes[3].error
    assert refusal.code == "capacity_exceeded"
    assert "at most 3" in refusal.detail and "has 3" in refusal.detail
    (target,) = live_targets(group, GatewayType.MSGW)
    assert target.used == 3
    pending[3].refresh_from_db()
    assert pending[3].status == MembershipStatus.PENDING and pending[3].target is None


def test_a_single_msgw_approval_past_capacity_raises_capacity_exceeded(
    small_targets, client_user, clearing_user, client_entity, clearing_firm, group
):
    request_and_approve(
        client_user, clearing_user, group, [msgw_session(client_entity, clearing_firm) for _ in range(3)]
    )
    late = request(client_user, group, msgw_session(client_entity, clearing_firm))

    with pytest.raises(errors.Conflict) as raised:
        approve(clearing_user, late)

    assert raised.value.code == "capacity_exceeded"
    assert TargetSession.objects.filter(group=group, gateway_type=GatewayType.MSGW).count() == 1


def test_a_cme_group_with_both_kinds_has_both_kinds_of_target(
    client_user, clearing_user, client_entity, clearing_firm, group
):
    request_and_approve(
        client_user,
        clearing_user,
        group,
        [guaranteed_session(client_entity, clearing_firm), msgw_session(client_entity, clearing_firm)],
    )

    assert sorted(TargetSession.objects.filter(group=group).values_list("gateway_type", flat=True)) == ["CGW", "MSGW"]


# --- target layout (R7) -----------------------------------------------------------------------


def test_a_cme_msgw_target_has_a_primary_and_backup_on_each_of_19_segments_on_one_port(
    client_user, clearing_user, client_entity, clearing_firm, group
):
    (membership,) = request_and_approve(client_user, clearing_user, group, [msgw_session(client_entity, clearing_firm)])

    target = TargetSession.objects.get(pk=membership.target_id)
    addresses = list(target.addresses.all())
    assert len(addresses) == 2 * CME_SEGMENTS == 38
    assert {a.port for a in addresses} == {target.port}
    segments = {a.market_segment for a in addresses}
    assert len(segments) == CME_SEGMENTS
    for address in addresses:
        assert address.target_sub_id == f"{address.market_segment:02d}"
    for segment in segments:
        roles = sorted(a.role for a in addresses if a.market_segment == segment)
        assert roles == [AddressRole.BACKUP, AddressRole.PRIMARY]
    assert len({a.ip for a in addresses}) == 38


def test_a_cgw_target_has_two_addresses_with_target_sub_id_g_and_a_seven_character_id(
    client_user, clearing_user, client_entity, clearing_firm, group
):
    (membership,) = request_and_approve(
        client_user, clearing_user, group, [guaranteed_session(client_entity, clearing_firm)]
    )

    target = TargetSession.objects.get(pk=membership.target_id)
    assert re.fullmatch(r"[A-Z0-9]{6}N", target.target_comp_id)
    assert target.status == TargetStatus.PENDING
    addresses = list(target.addresses.all())
    assert sorted(a.role for a in addresses) == ["backup", "primary"]
    assert {a.target_sub_id for a in addresses} == {"G"}
    assert {a.market_segment for a in addresses} == {None}
    assert {a.port for a in addresses} == {target.port}
    assert 30000 <= target.port <= 39999


def test_targets_sharing_an_address_get_different_ports(
    small_targets, client_user, clearing_user, client_entity, clearing_firm, group
):
    request_and_approve(
        client_user, clearing_user, group, [guaranteed_session(client_entity, clearing_firm) for _ in range(7)]
    )

    targets = live_targets(group)
    assert len({t.port for t in targets}) == 3
    assert len({t.target_comp_id for t in targets}) == 3
    pairs = list(TargetAddress.objects.filter(released=False).values_list("ip", "port"))
    assert len(pairs) == len(set(pairs)) == 6


def test_no_free_port_is_pool_exhausted_with_nothing_half_allocated(
    small_targets, client_user, clearing_user, client_entity, clearing_firm, group
):
    PortRange.objects.filter(environment=group.environment).update(first_port=30000, last_port=30000)
    request_and_approve(
        client_user, clearing_user, group, [guaranteed_session(client_entity, clearing_firm) for _ in range(3)]
    )
    (first_target,) = live_targets(group)
    assert first_target.port == 30000
    overflow = request(client_user, group, guaranteed_session(client_entity, clearing_firm))
    targets_before, addresses_before = TargetSession.objects.count(), TargetAddress.objects.count()

    with pytest.raises(errors.Conflict) as raised:
        approve(clearing_user, overflow)

    assert raised.value.code == "pool_exhausted"
    assert "30000-30000" in raised.value.detail
    assert (TargetSession.objects.count(), TargetAddress.objects.count()) == (targets_before, addresses_before)
    overflow.refresh_from_db()
    assert overflow.status == MembershipStatus.PENDING and overflow.target is None
    first_target.refresh_from_db()
    assert first_target.used == 3


def test_pool_exhausted_in_a_bulk_decision_fails_only_the_group_that_needs_a_port(
    small_targets, client_user, clearing_user, client_entity, clearing_firm, group
):
    PortRange.objects.filter(environment=group.environment).update(first_port=30000, last_port=30000)
    request_and_approve(
        client_user, clearing_user, group, [guaranteed_session(client_entity, clearing_firm) for _ in range(2)]
    )
    other_group = factories.GroupFactory(entity=client_entity, environment=group.environment, name="Other")
    fits = request(client_user, group, guaranteed_session(client_entity, clearing_firm))  # the target's last slot
    needs_a_port = request(client_user, other_group, guaranteed_session(client_entity, clearing_firm))

    outcomes = services.memberships_decide(
        actor=clearing_user, memberships=[needs_a_port, fits], decision=Decision.APPROVE
    )

    assert [outcome.error.code if outcome.error else None for outcome in outcomes] == ["pool_exhausted", None]
    fits.refresh_from_db()
    needs_a_port.refresh_from_db()
    assert fits.status == MembershipStatus.APPROVED
    assert needs_a_port.status == MembershipStatus.PENDING and needs_a_port.target is None
    assert not TargetSession.objects.filter(group=other_group).exists()


# --- release: revoke, remove, withdraw, group close -------------------------------------------


def test_revoke_frees_the_slot_and_records_why(client_user, clearing_user, client_entity, clearing_firm, group):
    (membership,) = request_and_approve(
        client_user, clearing_user, group, [guaranteed_session(client_entity, clearing_firm)]
    )
    target_id = membership.target_id

    revoked = services.membership_decide(
        actor=clearing_user, membership=membership, decision=Decision.REVOKE, reason="Credit line withdrawn"
    )

    revoked.refresh_from_db()
    assert revoked.status == MembershipStatus.REVOKED
    assert revoked.target is None
    assert revoked.reason == "Credit line withdrawn"
    assert revoked.decided_by == clearing_user
    assert revoked.ended_at is not None
    assert TargetSession.objects.get(pk=target_id).used == 0


def test_remove_frees_the_slot(client_user, clearing_user, client_entity, clearing_firm, group):
    (membership,) = request_and_approve(
        client_user, clearing_user, group, [guaranteed_session(client_entity, clearing_firm)]
    )
    target_id = membership.target_id

    removed = membership_end(actor=client_user, membership=membership)

    assert removed.status == MembershipStatus.REMOVED
    assert removed.target is None
    assert TargetSession.objects.get(pk=target_id).used == 0


def test_group_close_ends_memberships_and_closes_targets_releasing_their_addresses(
    client_user, clearing_user, client_entity, clearing_firm, group
):
    approved = request_and_approve(
        client_user,
        clearing_user,
        group,
        [guaranteed_session(client_entity, clearing_firm), msgw_session(client_entity, clearing_firm)],
    )
    pending = request(client_user, group, guaranteed_session(client_entity, clearing_firm))

    group_close(actor=client_user, group=group)

    for membership in approved:
        membership.refresh_from_db()
        assert membership.status == MembershipStatus.REMOVED and membership.target is None
    pending.refresh_from_db()
    assert pending.status == MembershipStatus.WITHDRAWN
    targets = live_targets(group) + live_targets(group, GatewayType.MSGW)
    assert {t.status for t in targets} == {TargetStatus.CLOSED}
    assert all(t.closed_at is not None and t.used == 0 for t in targets)
    assert not TargetAddress.objects.filter(target__group=group, released=False).exists()


def test_a_port_freed_by_a_closed_group_is_taken_again(client_user, clearing_user, client_entity, clearing_firm, group):
    PortRange.objects.filter(environment=group.environment).update(first_port=30000, last_port=30000)
    request_and_approve(client_user, clearing_user, group, [guaranteed_session(client_entity, clearing_firm)])
    group_close(actor=client_user, group=group)
    next_group = factories.GroupFactory(entity=client_entity, name="Next")

    (membership,) = request_and_approve(
        client_user, clearing_user, next_group, [guaranteed_session(client_entity, clearing_firm)]
    )

    assert membership.target.port == 30000


def test_pending_requests_expire_after_their_lifetime(client_user, client_entity, clearing_firm, group, settings):
    start = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    clock.freeze(start)
    stale = request(client_user, group, guaranteed_session(client_entity, clearing_firm))
    clock.freeze(start + dt.timedelta(days=settings.DROPCOPY["PENDING_REQUEST_LIFETIME_DAYS"], seconds=1))
    fresh = request(client_user, group, guaranteed_session(client_entity, clearing_firm))

    assert services.memberships_expire(actor=client_user) == 1

    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.status == MembershipStatus.EXPIRED and stale.ended_at is not None
    assert fresh.status == MembershipStatus.PENDING


# --- the target preview (R6) ------------------------------------------------------------------


def test_preview_counts_the_room_left_in_a_partly_full_target_and_names_refusals(
    small_targets, client_user, clearing_user, client_entity, clearing_firm, group
):
    approved = request_and_approve(
        client_user, clearing_user, group, [guaranteed_session(client_entity, clearing_firm) for _ in range(2)]
    )
    (existing,) = live_targets(group)
    candidates = [guaranteed_session(client_entity, clearing_firm) for _ in range(5)]
    wrong_venue = brokertec_session(client_entity)
    already_in = approved[0].source_session

    plan = services.targets_preview(group=group, sessions=[*candidates, wrong_venue, already_in])

    placements = plan.placements
    assert [p.session for p in placements] == [*candidates, wrong_venue, already_in]
    assert placements[0].target == existing
    assert all(p.target is None and p.new_target is not None for p in placements[1:5])
    assert plan.new_target_count(GatewayType.CGW) == 2
    assert plan.new_target_count(GatewayType.MSGW) == 0
    assert placements[5].error.code == "venue_mismatch"
    assert placements[6].error.code == "duplicate_membership"
    assert TargetSession.objects.count() == 1  # nothing written


def test_preview_refuses_msgw_sessions_past_capacity(
    small_targets, client_user, clearing_user, client_entity, clearing_firm, group
):
    request_and_approve(client_user, clearing_user, group, [msgw_session(client_entity, clearing_firm)])

    plan = services.targets_preview(
        group=group, sessions=[msgw_session(client_entity, clearing_firm) for _ in range(3)]
    )

    assert [p.error is None for p in plan.placements] == [True, True, False]
    assert plan.placements[2].error.code == "capacity_exceeded"
    assert plan.new_target_count(GatewayType.MSGW) == 0


def test_preview_of_a_closed_group_is_group_closed(client_user, client_entity, clearing_firm, group):
    group_close(actor=client_user, group=group)
    group.refresh_from_db()

    with pytest.raises(errors.Conflict) as raised:
        services.targets_preview(group=group, sessions=[guaranteed_session(client_entity, clearing_firm)])

    assert raised.value.code == "group_closed"


# --- provisioning (R17) -----------------------------------------------------------------------


def test_a_new_target_is_provisioned_once_the_approval_commits(
    client_user, clearing_user, client_entity, clearing_firm, group, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("dropcopy_admin.tasks.verify_targets.delay", lambda _ids: None)  # no gateway here (R16)
    pending = request(client_user, group, guaranteed_session(client_entity, clearing_firm))

    with django_capture_on_commit_callbacks(execute=True):
        membership = approve(clearing_user, pending)
        assert TargetSession.objects.get(pk=membership.target_id).status == TargetStatus.PENDING

    target = TargetSession.objects.get(pk=membership.target_id)
    assert target.status == TargetStatus.PROVISIONED
    assert target.provisioning_error_code == ""
    assert target.addresses.filter(released=False).count() == 2


def test_an_approval_onto_an_existing_target_queues_no_provisioning(
    client_user, clearing_user, client_entity, clearing_firm, group, django_capture_on_commit_callbacks
):
    request_and_approve(client_user, clearing_user, group, [guaranteed_session(client_entity, clearing_firm)])
    pending = request(client_user, group, guaranteed_session(client_entity, clearing_firm))

    with django_capture_on_commit_callbacks() as callbacks:
        approve(clearing_user, pending)

    assert all("provision" not in repr(callback) for callback in callbacks)
    assert len(callbacks) == 1  # the decision e-mail only


# --- the services' own checks: what depends on the membership or the group (R3a, R8) ---------
# The API refuses a role that never decides or never requests before reading anything; the
# services, called also by the admin, the portal and the demo, decide about the object itself.


def test_only_the_guaranteeing_firm_decides_even_a_request_no_firm_guarantees(client_entity, client_user):
    """An auto-approved session has no guaranteeing firm: nobody but an account manager revokes it."""
    group = brokertec_group(client_entity, name="Rates")
    membership = request(client_user, group, brokertec_session(client_entity))
    assert membership.status == MembershipStatus.APPROVED and membership.source_session.clearing_firm_id is None

    for actor in (client_user, factories.UserFactory(role=Role.FINANCE)):
        (outcome,) = services.memberships_decide(
            actor=actor, memberships=[membership], decision=Decision.REVOKE, reason="Not yours"
        )
        assert outcome.error is not None and outcome.error.code == "permission_denied"
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.APPROVED


def test_only_the_groups_own_entity_or_an_account_manager_requests_or_ends(client_entity, clearing_firm, group):
    session = guaranteed_session(client_entity, clearing_firm)
    clearing_admin = factories.UserFactory(role=Role.CLEARING_FIRM, clearing_firm=clearing_firm)
    other_client = factories.UserFactory(role=Role.CLIENT, entity=factories.EntityFactory())

    for actor in (clearing_admin, other_client):
        with pytest.raises(errors.PermissionDenied):
            request(actor, group, session)
    membership = request(factories.UserFactory(role=Role.CLIENT, entity=client_entity), group, session)
    for actor in (clearing_admin, other_client):
        with pytest.raises(errors.PermissionDenied):
            membership_end(actor=actor, membership=membership)
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.PENDING

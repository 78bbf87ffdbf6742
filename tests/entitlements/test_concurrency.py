"""Target capacity and port allocation hold under racing approvals (R6, R7, R8).

Every racer runs in its own thread on its own PostgreSQL connection with real transactions, so
these tests prove the row locks (group, then targets, then the port range) and the constraints,
not the checks one request makes alone.
"""

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection
from django.db.models import Count, Q

from dropcopy_admin import errors
from dropcopy_admin.choices import GatewayType, MembershipStatus, Role
from dropcopy_admin.models import AuditEvent, Membership, TargetAddress, TargetSession
from entitlements.choices import Decision
from entitlements.services.memberships import memberships_decide, memberships_request
from tests import factories

JOIN_TIMEOUT = 60
CAPACITY = 20
FREE_SLOTS = 5
RACERS = 20


def race(works: list[Callable]) -> list:
    """Run each of ``works`` in its own thread, released together; return each result or DomainError.

    Each thread closes its own database connection at the end, so the test's flush is not blocked.
    """
    barrier = threading.Barrier(len(works))
    outcomes: list = [None] * len(works)

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=JOIN_TIMEOUT)
            outcomes[index] = works[index]()
        except errors.DomainError as error:
            outcomes[index] = error
        except Exception as error:  # surfaced by the assertions, never swallowed silently
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(works))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a racer did not finish in time"
    unexpected = [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, errors.DomainError)]
    assert not unexpected, f"racers failed: {unexpected!r}"
    return outcomes


class Scene:
    """A CME production group of a client, and sessions guaranteed by one clearing firm."""

    def __init__(self):
        self.firm = factories.ClearingFirmFactory()
        self.firm_admin = factories.UserFactory(role=Role.CLEARING_FIRM, clearing_firm=self.firm)
        self.account_manager = factories.UserFactory(role=Role.ACCOUNT_MANAGER)
        self.gfid = factories.GfidFactory(clearing_firm=self.firm)  # another entity's GFID: needs the firm
        self.group = factories.GroupFactory()

    def pending(self, count: int, *, gateway_type: str = GatewayType.CGW, group=None) -> list[Membership]:
        """``count`` pending requests, made by the account manager, for new sessions of one gateway."""
        sessions = [factories.SourceSessionFactory(gfid=self.gfid, gateway_type=gateway_type) for _ in range(count)]
        outcomes = memberships_request(actor=self.account_manager, group=group or self.group, sessions=sessions)
        assert all(o.error is None and o.membership.status == MembershipStatus.PENDING for o in outcomes)
        return [o.membership for o in outcomes]

    def approve(self, memberships: list[Membership]) -> list:
        return memberships_decide(actor=self.firm_admin, memberships=memberships, decision=Decision.APPROVE)


def approvals_per_target(group) -> dict[int, tuple[int, int]]:
    """target id → (its ``used`` count, the number of approved memberships on it)."""
    rows = TargetSession.objects.filter(group=group).annotate(
        approved=Count("memberships", filter=Q(memberships__status=MembershipStatus.APPROVED))
    )
    return {target.pk: (target.used, target.approved) for target in rows}


def single_approval(scene: Scene, membership: Membership) -> Callable:
    def work():
        (outcome,) = scene.approve([membership])
        return outcome.error or outcome.membership

    return work


@pytest.fixture
def small_targets(settings):
    settings.DROPCOPY = {**settings.DROPCOPY, "CGW_TARGET_CAPACITY": CAPACITY, "MSGW_TARGET_CAPACITY": CAPACITY}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_single_cgw_approvals_fill_the_last_slots_then_open_one_new_target(small_targets):
    scene = Scene()
    scene.approve(scene.pending(CAPACITY - FREE_SLOTS))
    (old_target,) = TargetSession.objects.filter(group=scene.group)
    racing = scene.pending(RACERS)

    outcomes = race([single_approval(scene, membership) for membership in racing])

    assert all(isinstance(o, Membership) and o.status == MembershipStatus.APPROVED for o in outcomes)
    per_target = approvals_per_target(scene.group)
    assert len(per_target) == 2, "one new target, not one per racer"
    assert per_target[old_target.pk] == (CAPACITY, CAPACITY)
    new_target_id = next(pk for pk in per_target if pk != old_target.pk)
    assert per_target[new_target_id] == (RACERS - FREE_SLOTS, RACERS - FREE_SLOTS)
    landed = Counter(o.target_id for o in outcomes)
    assert landed == {old_target.pk: FREE_SLOTS, new_target_id: RACERS - FREE_SLOTS}
    assert all(used <= CAPACITY and approved <= CAPACITY for used, approved in per_target.values())
    new_target = TargetSession.objects.get(pk=new_target_id)
    assert new_target.cgw_gateway_id == old_target.cgw_gateway_id
    assert new_target.addresses.filter(released=False).count() == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_single_msgw_approvals_take_the_last_slots_and_the_rest_stay_pending(small_targets):
    scene = Scene()
    scene.approve(scene.pending(CAPACITY - FREE_SLOTS, gateway_type=GatewayType.MSGW))
    racing = scene.pending(RACERS, gateway_type=GatewayType.MSGW)

    outcomes = race([single_approval(scene, membership) for membership in racing])

    approved = [o for o in outcomes if isinstance(o, Membership)]
    refused = [o for o in outcomes if isinstance(o, errors.DomainError)]
    assert len(approved) == FREE_SLOTS
    assert [error.code for error in refused] == ["capacity_exceeded"] * (RACERS - FREE_SLOTS)
    assert all(str(CAPACITY) in error.detail for error in refused), "the message states the limit"
    (target,) = TargetSession.objects.filter(group=scene.group)
    assert approvals_per_target(scene.group) == {target.pk: (CAPACITY, CAPACITY)}
    statuses = Counter(Membership.objects.filter(pk__in=[m.pk for m in racing]).values_list("status", flat=True))
    assert statuses == {MembershipStatus.APPROVED: FREE_SLOTS, MembershipStatus.PENDING: RACERS - FREE_SLOTS}
    assert not Membership.objects.filter(status=MembershipStatus.PENDING, target__isnull=False).exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("gateway_type", [GatewayType.CGW, GatewayType.MSGW])
def test_racing_approvals_in_different_groups_open_targets_on_distinct_ports(gateway_type):
    scene = Scene()
    groups = [factories.GroupFactory() for _ in range(6)]
    racing = [scene.pending(1, gateway_type=gateway_type, group=group)[0] for group in groups]

    outcomes = race([single_approval(scene, membership) for membership in racing])

    assert all(isinstance(o, Membership) for o in outcomes)
    targets = list(TargetSession.objects.filter(group__in=groups))
    assert len(targets) == len(groups)
    assert len({target.port for target in targets}) == len(groups), "every target got its own port"
    addresses = list(TargetAddress.objects.filter(target__in=targets, released=False).values_list("ip", "port"))
    per_target = 2 if gateway_type == GatewayType.CGW else 38
    assert len(addresses) == len(groups) * per_target
    assert len(set(addresses)) == len(addresses), "no address carries a port twice"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_overlapping_bulk_decisions_decide_each_membership_once(small_targets):
    scene = Scene()
    pending = scene.pending(30)
    windows = [[pending[(start * 5 + offset) % len(pending)] for offset in range(15)] for start in range(6)]

    def decide(index: int) -> Callable:
        decision = Decision.APPROVE if index % 2 == 0 else Decision.REJECT
        reason = "" if decision == Decision.APPROVE else "Not for this desk."
        return lambda: memberships_decide(
            actor=scene.firm_admin, memberships=windows[index], decision=decision, reason=reason
        )

    results = race([decide(index) for index in range(len(windows))])

    decided_by_racers = Counter(o.key for outcomes in results for o in outcomes if o.error is None)
    assert decided_by_racers == dict.fromkeys((m.pk for m in pending), 1)
    refusals = {o.error.code for outcomes in results for o in outcomes if o.error is not None}
    assert refusals <= {"invalid_transition"}
    decisions = AuditEvent.objects.filter(
        object_type="membership",
        object_id__in=[m.pk for m in pending],
        action__in=[Decision.APPROVE, Decision.REJECT],
    )
    assert Counter(decisions.values_list("object_id", flat=True)) == dict.fromkeys((m.pk for m in pending), 1)
    final = dict(Membership.objects.filter(pk__in=[m.pk for m in pending]).values_list("pk", "status"))
    for event in decisions:
        expected = MembershipStatus.APPROVED if event.action == Decision.APPROVE else MembershipStatus.REJECTED
        assert final[event.object_id] == expected
    approved = sum(1 for status in final.values() if status == MembershipStatus.APPROVED)
    assert sum(used for used, _ in approvals_per_target(scene.group).values()) == approved
    assert all(used == count for used, count in approvals_per_target(scene.group).values())

"""``seed_scale`` at a hundredth of its size: the world is shaped as the services would leave it."""

import io

import pytest
from django.core.management import call_command
from django.db.models import Count, F

from billing.choices import RunStatus
from billing.models import BillingRun
from dropcopy_admin.choices import GatewayType, MembershipStatus
from dropcopy_admin.models import (
    ConnectivityCheck,
    DropCopyGroup,
    Entity,
    KeyPair,
    Membership,
    SourceSession,
    TargetAddress,
    TargetSession,
)
from dropcopy_admin.selectors.keys import key_pair_secret

pytestmark = pytest.mark.django_db


def seed(scale=0.01, billed_months=2) -> str:
    out = io.StringIO()
    call_command("seed_scale", scale=scale, billed_months=billed_months, stdout=out)
    return out.getvalue()


def test_a_small_world_has_every_part_in_proportion():
    output = seed()
    assert "Built in" in output
    assert Entity.objects.filter(code__startswith="SCALE").count() == 100
    assert SourceSession.objects.filter(gfid__entity__code__startswith="SCALE").count() == 2_000
    assert DropCopyGroup.objects.filter(entity__code__startswith="SCALE").count() == 500
    assert Membership.objects.filter(group__entity__code__startswith="SCALE").count() == 1_000
    targets = TargetSession.objects.filter(entity__code__startswith="SCALE")
    assert targets.count() == 20
    assert set(targets.values_list("gateway_type", flat=True)) == {GatewayType.CGW, GatewayType.MSGW}
    assert ConnectivityCheck.objects.filter(target__in=targets).count() == 20 * 365
    assert BillingRun.objects.filter(status=RunStatus.CLOSED).count() == 2


def test_the_world_keeps_the_products_rules():
    seed()
    targets = TargetSession.objects.filter(entity__code__startswith="SCALE")
    # Each target counts its approved memberships, of sessions on its own gateway.
    counted = targets.annotate(approved=Count("memberships")).filter(approved=F("used"))
    assert counted.count() == targets.count()
    mismatched = Membership.objects.filter(status=MembershipStatus.APPROVED, target__isnull=False).exclude(
        source_session__gateway_type=F("target__gateway_type")
    )
    assert not mismatched.exists()
    # SenderCompIDs embed their GFID; every MSGW target listens on 19 segments, primary and backup.
    for session in SourceSession.objects.filter(gfid__entity__code__startswith="SCALE").select_related("gfid")[:50]:
        assert session.sender_comp_id[3:6] == session.gfid.code
    for target in targets.filter(gateway_type=GatewayType.MSGW):
        assert TargetAddress.objects.filter(target=target).count() == 38
    # A hundredth of the 10,000 pending requests; key pairs decrypt.
    assert Membership.objects.filter(status=MembershipStatus.PENDING).count() == 100
    key_pair = KeyPair.objects.filter(target__in=targets).first()
    assert len(key_pair_secret(key_pair)) > 20


def test_a_second_run_changes_nothing():
    seed()
    assert seed() == "The scale world is already there; nothing changed.\n"
    assert Entity.objects.filter(code__startswith="SCALE").count() == 100

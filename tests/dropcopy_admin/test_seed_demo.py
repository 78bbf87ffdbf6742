"""``manage.py seed_demo``: a demo world built through the services, idempotently."""

import io

import pytest
from django.apps import apps
from django.contrib.auth import authenticate
from django.core.management import call_command

from dropcopy_admin.choices import (
    CertificationStatus,
    Environment,
    GatewayType,
    GroupStatus,
    MembershipStatus,
    Role,
    TargetStatus,
    TemporaryKind,
)
from dropcopy_admin.management.commands.seed_demo import DEMO_PASSWORD
from dropcopy_admin.models import (
    AuditEvent,
    Certification,
    CgwGateway,
    DropCopyGroup,
    Entity,
    FrontEndSystem,
    Gfid,
    Membership,
    SourceSession,
    TargetSession,
    User,
)

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def _counts() -> dict[str, int]:
    return {
        model.__name__: model._default_manager.count() for model in apps.get_app_config("dropcopy_admin").get_models()
    }


@pytest.fixture
def seeded():
    return _seed()


def test_a_second_run_changes_nothing(seeded):
    before = _counts()
    snapshot = list(AuditEvent.objects.order_by("pk").values_list("pk", flat=True))
    output = _seed()
    assert _counts() == before
    assert list(AuditEvent.objects.order_by("pk").values_list("pk", flat=True)) == snapshot
    assert "nothing changed" in output


def test_one_user_per_role_logs_in_with_the_demo_password(seeded):
    for username, role in [
        ("am", Role.ACCOUNT_MANAGER),
        ("client", Role.CLIENT),
        ("clearing", Role.CLEARING_FIRM),
        ("finance", Role.FINANCE),
    ]:
        assert User.objects.filter(role=role).count() == 1
        user = authenticate(username=username, password=DEMO_PASSWORD)
        assert user is not None and user.role == role
    assert User.objects.get(username="am").is_superuser
    assert User.objects.get(username="client").entity.self_service
    assert User.objects.get(username="clearing").clearing_firm is not None
    assert User.objects.get(username="finance").is_staff


def test_the_demo_logins_are_printed(seeded):
    for username in ("am", "client", "clearing", "finance"):
        assert f"{username} " in seeded
    assert DEMO_PASSWORD in seeded


def test_the_world_has_groups_with_pending_memberships(seeded):
    assert DropCopyGroup.objects.filter(status=GroupStatus.ACTIVE).count() >= 3
    assert DropCopyGroup.objects.filter(status=GroupStatus.CLOSED).exists()
    assert Membership.objects.filter(status=MembershipStatus.PENDING).count() >= 5
    assert {g.environment for g in DropCopyGroup.objects.all()} == {Environment.PRODUCTION, Environment.NEW_RELEASE}
    assert {g.venue_id for g in DropCopyGroup.objects.all()} == {"CME", "BROKERTEC", "EBS"}


def test_the_world_covers_the_venues_gateways_and_kinds_of_party(seeded):
    cme_cgw = SourceSession.objects.filter(
        venue="CME", gateway_type=GatewayType.CGW, environment=Environment.PRODUCTION
    )
    assert set(cme_cgw.values_list("cgw_gateway__code", flat=True)) == set(
        CgwGateway.objects.filter(venue="CME", environment=Environment.PRODUCTION).values_list("code", flat=True)
    )
    assert (
        SourceSession.objects.filter(venue="EBS", gateway_type=GatewayType.CGW).values("cgw_gateway").distinct().count()
        == 2
    )
    for venue in ("CME", "BROKERTEC", "EBS"):
        assert SourceSession.objects.filter(venue=venue, gateway_type=GatewayType.MSGW).exists()
        assert Gfid.objects.filter(venue=venue).exists()
    assert SourceSession.objects.filter(environment=Environment.NEW_RELEASE).exists()
    assert Gfid.objects.filter(admin_control=True).exists() and Gfid.objects.filter(admin_control=False).exists()
    assert Entity.objects.filter(self_service=True).exists() and Entity.objects.filter(self_service=False).exists()
    assert Entity.objects.filter(bill_to__isnull=False).exists()
    assert Entity.objects.filter(clearing_firm__isnull=False).exists()
    assert FrontEndSystem.objects.filter(entity__isnull=True).exists()
    assert FrontEndSystem.objects.filter(entity__isnull=False).exists()


def test_the_audit_trail_shows_the_world_built_by_seed_demo(seeded):
    entity = Entity.objects.get(code="ALPHA")
    event = AuditEvent.objects.get(object_type="entity", object_id=entity.pk)
    assert (event.actor, event.action) == ("system:seed_demo", "create")
    assert event.request_id.startswith("seed_demo-")
    assert not AuditEvent.objects.filter(after__has_key="password").exists()


def test_production_front_end_systems_are_certified_and_temporary_targets_are_live(seeded):
    production = DropCopyGroup.objects.filter(environment=Environment.PRODUCTION)
    for group in production:
        assert Certification.objects.filter(
            front_end_system=group.front_end_system, venue=group.venue, status=CertificationStatus.PASSED
        ).exists(), group
    running = Certification.objects.get(status=CertificationStatus.REQUESTED)
    assert running.target.temporary == TemporaryKind.AUTOCERT and running.target.status != TargetStatus.CLOSED
    assert running.checks.count() == 5
    test_target = TargetSession.objects.get(temporary=TemporaryKind.NEW_RELEASE)
    assert test_target.ready_at is not None and test_target.expires_at > test_target.ready_at

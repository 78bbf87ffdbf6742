"""``manage.py seed_demo``: a demo world built through the services, idempotently."""

import datetime as dt
import hashlib
import io
import logging

import pytest
from django.apps import apps
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db import transaction

from billing.choices import LineReason, RunStatus
from billing.models import BillingLine, BillingRun
from billing.services import current_month, month_bounds
from billing.tasks import previous_month
from dropcopy_admin import clock
from dropcopy_admin.choices import (
    AddressRole,
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
    CgwGateway,
    CheckOutcome,
    ConnectivityCheck,
    DropCopyGroup,
    Entity,
    FrontEndSystem,
    Gfid,
    KeyPair,
    Membership,
    SourceSession,
    TargetSession,
    User,
)
from entitlements.models import Certification
from entitlements.selectors import approval_queue_pending, certification_checklist

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def _counts() -> dict[str, int]:
    return {
        model.__name__: model._default_manager.count()
        for app in ("dropcopy_admin", "billing")
        for model in apps.get_app_config(app).get_models()
    }


@pytest.fixture(scope="class")
def seeded_world(django_db_setup, django_db_blocker):
    """One demo world for a class of read-only tests, rolled back after the class."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield _seed()
        transaction.set_rollback(True)


@pytest.fixture
def seeded(seeded_world, db):
    """The seed's output; each test runs in its own transaction inside the class's."""
    return seeded_world


class TestTheDemoWorld:
    """Checks of one demo world, seeded once."""

    def test_a_second_run_changes_nothing(self, seeded):
        before = _counts()
        snapshot = list(AuditEvent.objects.order_by("pk").values_list("pk", flat=True))
        output = _seed()
        assert _counts() == before
        assert list(AuditEvent.objects.order_by("pk").values_list("pk", flat=True)) == snapshot
        assert "nothing changed" in output

    def test_one_user_per_role_logs_in_with_the_demo_password(self, seeded):
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

    def test_the_demo_logins_are_printed(self, seeded):
        for username in ("am", "client", "clearing", "finance"):
            assert f"{username} " in seeded
        assert DEMO_PASSWORD in seeded

    def test_the_world_has_groups_with_pending_memberships(self, seeded):
        assert DropCopyGroup.objects.filter(status=GroupStatus.ACTIVE).count() >= 3
        assert DropCopyGroup.objects.filter(status=GroupStatus.CLOSED).exists()
        assert Membership.objects.filter(status=MembershipStatus.PENDING).count() >= 5
        assert {g.environment for g in DropCopyGroup.objects.all()} == {Environment.PRODUCTION, Environment.NEW_RELEASE}
        assert {g.venue_id for g in DropCopyGroup.objects.all()} == {"CME", "BROKERTEC", "EBS"}

    def test_the_world_covers_the_venues_gateways_and_kinds_of_party(self, seeded):
        cme_cgw = SourceSession.objects.filter(
            venue="CME", gateway_type=GatewayType.CGW, environment=Environment.PRODUCTION
        )
        assert set(cme_cgw.values_list("cgw_gateway__code", flat=True)) == set(
            CgwGateway.objects.filter(venue="CME", environment=Environment.PRODUCTION).values_list("code", flat=True)
        )
        assert (
            SourceSession.objects.filter(venue="EBS", gateway_type=GatewayType.CGW)
            .values("cgw_gateway")
            .distinct()
            .count()
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

    def test_the_audit_trail_shows_the_world_built_by_seed_demo(self, seeded):
        entity = Entity.objects.get(code="ALPHA")
        event = AuditEvent.objects.get(object_type="entity", object_id=entity.pk)
        assert (event.actor, event.action) == ("system:seed_demo", "create")
        assert event.request_id.startswith("seed_demo-")
        assert not AuditEvent.objects.filter(after__has_key="password").exists()

    def test_production_front_end_systems_are_certified_and_temporary_targets_are_live(self, seeded):
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

    def test_every_passed_certification_shows_its_five_checks_with_their_times(self, seeded):
        passed = Certification.objects.filter(status=CertificationStatus.PASSED).prefetch_related("checks")
        assert passed.count() == 6
        for certification in passed:
            checklist = certification_checklist(certification)
            assert len(checklist) == 5
            for item in checklist:
                assert item.passed_at is not None, (certification, item.name)
                assert certification.target.ready_at <= item.passed_at < certification.decided_at
            assert certification.target.status == TargetStatus.CLOSED
            assert certification.target.closed_at == certification.decided_at

    def test_production_groups_opened_after_their_certification_passed(self, seeded):
        for group in DropCopyGroup.objects.filter(environment=Environment.PRODUCTION):
            certification = Certification.objects.get(
                front_end_system=group.front_end_system, venue=group.venue, status=CertificationStatus.PASSED
            )
            assert certification.decided_at < group.opened_at, group

    def test_the_previous_months_are_closed_with_their_exports_stored(self, seeded):
        this_month = current_month()
        last_month = previous_month(this_month)
        closed = BillingRun.objects.filter(status=RunStatus.CLOSED)
        assert {last_month, previous_month(last_month)} <= set(closed.values_list("month", flat=True))
        for run in closed:
            assert run.lines.filter(group__isnull=False).exists(), run
            assert run.closed_at >= month_bounds(run.month)[1]
            for kind in ("csv", "json", "xlsx"):
                stored = bytes(getattr(run, f"{kind}_bytes"))
                assert stored and hashlib.sha256(stored).hexdigest() == getattr(run, f"{kind}_sha256"), (run, kind)

    def test_the_current_month_is_a_draft_with_group_lines_and_an_adjustment(self, seeded):
        draft = BillingRun.objects.get(month=current_month())
        assert draft.status == RunStatus.DRAFT
        assert draft.lines.filter(group__isnull=False).exists()
        adjustment = BillingLine.objects.get(reason=LineReason.ADJUSTMENT)
        assert adjustment.run == draft and adjustment.amount < 0 and adjustment.note
        assert adjustment.corrects_month < draft.month

    def test_bill_to_parties_and_fees_follow_the_rules(self, seeded):
        """Each entity's first group of a month is free, the others cost the fee; billed to the bill-to party."""
        for run in BillingRun.objects.all():
            free_per_entity: dict[int, int] = {}
            for line in run.lines.filter(group__isnull=False).select_related("entity"):
                assert line.bill_to_id == (line.entity.bill_to_id or line.entity_id)
                if line.reason == LineReason.FREE:
                    free_per_entity[line.entity_id] = free_per_entity.get(line.entity_id, 0) + 1
                    assert line.amount == 0
                else:
                    assert line.amount > 0
            assert set(free_per_entity.values()) == {1}, run
        asia_line = BillingLine.objects.filter(entity__code="BRAVOASIA").first()
        assert asia_line.bill_to.code == "BRAVO"

    def test_every_live_group_target_has_a_live_client_key_pair(self, seeded):
        now = clock.now()
        targets = TargetSession.objects.filter(temporary__isnull=True).exclude(status=TargetStatus.CLOSED)
        assert targets.filter(environment=Environment.PRODUCTION).count() >= 5
        for target in targets:
            client_keys = [key for key in KeyPair.objects.filter(target=target, is_probe=False) if key.is_live(now)]
            assert client_keys, target
            assert KeyPair.objects.filter(target=target, is_probe=True, revoked_at__isnull=True).exists(), target

    def test_the_demo_clearing_firm_has_requests_waiting(self, seeded):
        clearing = User.objects.get(username="clearing")
        queue = approval_queue_pending(user=clearing)
        assert queue.count() >= 3
        assert all(clock.now() - m.requested_at < dt.timedelta(days=7) for m in queue)
        assert Membership.objects.filter(
            status=MembershipStatus.APPROVED, decided_by=clearing, auto_approved=False
        ).exists()

    def test_the_live_targets_have_connectivity_history_over_several_days(self, seeded):
        now = clock.now()
        live = TargetSession.objects.filter(temporary__isnull=True).exclude(status=TargetStatus.CLOSED)
        for target in live:
            times = target.checks.values_list("checked_at", flat=True)
            assert max(times) < now and now - min(times) > dt.timedelta(days=3), target
        checks = ConnectivityCheck.objects.all()
        assert checks.filter(outcome=CheckOutcome.OK).count() > 20 * checks.filter(outcome=CheckOutcome.FAILED).count()
        degraded_runs = checks.filter(outcome=CheckOutcome.FAILED, role=AddressRole.BACKUP, stage="connect")
        assert degraded_runs.exists()
        assert not checks.filter(outcome=CheckOutcome.OK, rtt_ms__isnull=True).exists()
        # The latest check of every address passed: the history ends clean.
        for target in live:
            for address in target.addresses.filter(released=False):
                latest = target.checks.filter(ip=address.ip, market_segment=address.market_segment).first()
                assert latest.outcome == CheckOutcome.OK, address


def test_seed_demo_restores_a_frozen_clock(db):
    frozen_at = clock.now().replace(microsecond=0)
    clock.freeze(frozen_at)
    assert "Created" in _seed()
    assert clock.now() == frozen_at
    assert AuditEvent.objects.filter(at__lt=frozen_at - dt.timedelta(days=400)).exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_seed_demo_verifies_nothing_and_warns_of_nothing(caplog):
    """Committed for real, so whatever the services queue for after the commit would run."""
    started = clock.now()
    with caplog.at_level(logging.WARNING):
        _seed()
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING] == []
    assert not ConnectivityCheck.objects.filter(checked_at__gte=started).exists()
    assert not TargetSession.objects.filter(status__in=[TargetStatus.FAILED, TargetStatus.PENDING]).exists()
    assert TargetSession.objects.filter(status=TargetStatus.PROVISIONED).exists()

"""Provisioning of new targets (R17): resumable after a crash between its steps, idempotent, its
failures recorded on the target and retried by the Celery task with back-off."""

import pytest

from dropcopy_admin.choices import GatewayType, Role, TargetStatus
from dropcopy_admin.models import AuditEvent, TargetAddress, TargetSession
from dropcopy_admin.services import targets as target_services
from dropcopy_admin.services.audit import SystemActor
from dropcopy_admin.services.targets import target_provision, target_record_provisioning_error
from dropcopy_admin.tasks import provision_target
from entitlements.choices import Decision
from entitlements.services.memberships import memberships_decide, memberships_request
from tests import factories
from tests.dropcopy_admin.interrupted_provisioning import ProvisioningFault, provisioning_interrupted_after
from tests.entitlements.test_concurrency import race

ACTOR = SystemActor("provision_target")


def approved_target(gateway_type: str = GatewayType.CGW, group=None) -> TargetSession:
    """A new target, opened by a clearing firm approving a pending request (not yet provisioned here:
    ``on_commit`` does not fire inside a test's transaction)."""
    firm = factories.ClearingFirmFactory()
    session = factories.SourceSessionFactory(gfid=factories.GfidFactory(clearing_firm=firm), gateway_type=gateway_type)
    group = group or factories.GroupFactory()
    requester = factories.UserFactory(role=Role.ACCOUNT_MANAGER)
    (requested,) = memberships_request(actor=requester, group=group, sessions=[session])
    firm_admin = factories.UserFactory(role=Role.CLEARING_FIRM, clearing_firm=firm)
    (decided,) = memberships_decide(actor=firm_admin, memberships=[requested.membership], decision=Decision.APPROVE)
    assert decided.error is None
    return decided.membership.target


def live_addresses(target: TargetSession) -> list[tuple[str, int]]:
    return sorted(target.addresses.filter(released=False).values_list("ip", "port"))


def audit_actions(target: TargetSession) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="target", object_id=target.pk)
        .order_by("id")
        .values_list("action", flat=True)
    )


def release_addresses(target: TargetSession) -> None:
    """What a crash of a re-provisioning leaves behind: a target whose addresses were given up."""
    TargetAddress.objects.filter(target=target).update(released=True)


@pytest.mark.django_db
def test_approval_opens_a_pending_target_with_its_port_and_addresses():
    target = approved_target()

    assert target.status == TargetStatus.PENDING
    assert [port for _, port in live_addresses(target)] == [target.port, target.port]
    assert audit_actions(target) == ["open"]


@pytest.mark.django_db
@pytest.mark.parametrize(("gateway_type", "addresses"), [(GatewayType.CGW, 2), (GatewayType.MSGW, 38)])
def test_provisioning_interrupted_after_its_addresses_resumes_without_allocating_twice(gateway_type, addresses):
    target = approved_target(gateway_type)
    release_addresses(target)

    with provisioning_interrupted_after("addresses"), pytest.raises(ProvisioningFault):
        target_provision(actor=ACTOR, target_id=target.pk)
    target.refresh_from_db()
    allocated = live_addresses(target)
    assert target.status == TargetStatus.PENDING
    assert len(allocated) == addresses

    target_provision(actor=ACTOR, target_id=target.pk)

    target.refresh_from_db()
    assert target.status == TargetStatus.PROVISIONED
    assert live_addresses(target) == allocated, "the same port and addresses, none added"
    assert {port for _, port in allocated} == {target.port}
    assert audit_actions(target).count("provision") == 1


@pytest.mark.django_db
def test_provisioning_interrupted_with_its_addresses_in_place_keeps_them():
    target = approved_target()
    allocated = live_addresses(target)

    with provisioning_interrupted_after("addresses"), pytest.raises(ProvisioningFault):
        target_provision(actor=ACTOR, target_id=target.pk)
    target_provision(actor=ACTOR, target_id=target.pk)

    target.refresh_from_db()
    assert target.status == TargetStatus.PROVISIONED
    assert live_addresses(target) == allocated
    assert TargetAddress.objects.filter(target=target).count() == 2


@pytest.mark.django_db
def test_a_crash_while_writing_addresses_leaves_nothing_half_allocated(monkeypatch):
    target = approved_target()
    release_addresses(target)
    write_addresses = target_services._create_addresses

    def crash_after_writing(target, layout):
        write_addresses(target, layout)
        raise ProvisioningFault("crashed after writing the addresses, before commit")

    monkeypatch.setattr(target_services, "_create_addresses", crash_after_writing)
    with pytest.raises(ProvisioningFault):
        target_provision(actor=ACTOR, target_id=target.pk)
    assert live_addresses(target) == [], "the whole step rolled back"

    monkeypatch.undo()
    target_provision(actor=ACTOR, target_id=target.pk)

    target.refresh_from_db()
    assert target.status == TargetStatus.PROVISIONED
    assert len(live_addresses(target)) == 2
    assert TargetAddress.objects.filter(target=target, released=False).values("port").distinct().count() == 1


@pytest.mark.django_db
def test_a_crash_in_the_last_step_leaves_the_target_pending_and_a_rerun_provisions_it_once(monkeypatch):
    target = approved_target()
    allocated = live_addresses(target)

    def crash(**_kwargs):
        raise ProvisioningFault("crashed while marking the target provisioned")

    monkeypatch.setattr(target_services, "audit_record", crash)
    with pytest.raises(ProvisioningFault):
        target_provision(actor=ACTOR, target_id=target.pk)
    target.refresh_from_db()
    assert target.status == TargetStatus.PENDING

    monkeypatch.undo()
    target_provision(actor=ACTOR, target_id=target.pk)

    target.refresh_from_db()
    assert target.status == TargetStatus.PROVISIONED
    assert live_addresses(target) == allocated
    assert audit_actions(target) == ["open", "provision"]


@pytest.mark.django_db
def test_provisioning_twice_changes_nothing():
    target = approved_target()
    target_provision(actor=ACTOR, target_id=target.pk)
    first = TargetSession.objects.values().get(pk=target.pk)
    addresses = list(TargetAddress.objects.filter(target=target).values())
    trail = audit_actions(target)

    target_provision(actor=ACTOR, target_id=target.pk)

    assert TargetSession.objects.values().get(pk=target.pk) == first
    assert list(TargetAddress.objects.filter(target=target).values()) == addresses
    assert audit_actions(target) == trail == ["open", "provision"]


@pytest.mark.django_db
def test_a_recorded_provisioning_error_is_cleared_by_a_successful_run():
    target = approved_target()

    target_record_provisioning_error(actor=ACTOR, target_id=target.pk, error=RuntimeError("gateway unreachable"))
    target.refresh_from_db()
    assert (target.provisioning_error_code, target.provisioning_error_detail) == (
        "provisioning_failed",
        "gateway unreachable",
    )
    assert target.status == TargetStatus.PENDING

    target_provision(actor=ACTOR, target_id=target.pk)

    target.refresh_from_db()
    assert target.status == TargetStatus.PROVISIONED
    assert (target.provisioning_error_code, target.provisioning_error_detail) == ("", "")
    assert audit_actions(target) == ["open", "provisioning_error", "provision"]


@pytest.mark.django_db
def test_a_closed_target_is_left_closed():
    target = approved_target()
    target_services.targets_close(actor=ACTOR, targets=[target], at=target.created_at)

    target_provision(actor=ACTOR, target_id=target.pk)

    target.refresh_from_db()
    assert target.status == TargetStatus.CLOSED
    assert live_addresses(target) == []


# --- the Celery task --------------------------------------------------------------------------


class FlakyProvisioning:
    """Fails the first ``failures`` runs, then provisions for real; counts the runs."""

    def __init__(self, failures: int):
        self.failures = failures
        self.runs = 0

    def __call__(self, **kwargs):
        self.runs += 1
        if self.runs <= self.failures:
            raise RuntimeError(f"gateway unreachable (run {self.runs})")
        return target_provision(**kwargs)


@pytest.fixture
def retries(monkeypatch):
    """The countdown of every retry the task asks for; the retries run at once, in-process.

    ``apply()`` runs a retry eagerly only when eager tasks do not propagate their errors (with
    propagation on, the first ``Retry`` would escape ``apply()``).
    """
    countdowns: list[int] = []
    conf = provision_target.app.conf
    propagates = conf.task_eager_propagates
    conf.task_eager_propagates = False
    retry = provision_target.retry

    def spy(*args, **kwargs):
        countdowns.append(kwargs.get("countdown"))
        return retry(*args, **kwargs)

    monkeypatch.setattr(provision_target, "retry", spy)
    yield countdowns
    conf.task_eager_propagates = propagates


@pytest.mark.django_db
def test_the_task_records_a_failure_and_retries_until_provisioned(monkeypatch, retries):
    target = approved_target()
    flaky = FlakyProvisioning(failures=2)
    monkeypatch.setattr("dropcopy_admin.tasks.target_provision", flaky)

    result = provision_target.apply(args=[target.pk])

    assert result.successful()
    assert flaky.runs == 3
    assert retries == [5, 10], "back-off doubles"
    target.refresh_from_db()
    assert target.status == TargetStatus.PROVISIONED
    assert target.provisioning_error_code == ""
    assert audit_actions(target) == ["open", "provisioning_error", "provisioning_error", "provision"]
    recorded = (
        AuditEvent.objects.filter(object_type="target", object_id=target.pk, action="provisioning_error")
        .order_by("id")
        .first()
    )
    assert recorded.actor == "system:provision_target"
    assert recorded.after["provisioning_error_detail"] == "gateway unreachable (run 1)"


@pytest.mark.django_db
def test_the_task_gives_up_after_its_retries_with_the_error_on_the_target(monkeypatch, retries):
    target = approved_target()
    flaky = FlakyProvisioning(failures=100)
    monkeypatch.setattr("dropcopy_admin.tasks.target_provision", flaky)

    result = provision_target.apply(args=[target.pk])

    assert result.failed()
    assert flaky.runs == provision_target.max_retries + 1
    assert retries[:4] == [5, 10, 20, 40]
    assert max(retries) <= 600
    target.refresh_from_db()
    assert target.status == TargetStatus.PENDING
    assert target.provisioning_error_code == "provisioning_failed"
    assert target.provisioning_error_detail == f"gateway unreachable (run {flaky.runs})"


@pytest.mark.django_db
def test_the_task_provisions_once_however_often_it_runs():
    target = approved_target()

    for _ in range(3):
        assert provision_target.apply(args=[target.pk]).successful()

    target.refresh_from_db()
    assert target.status == TargetStatus.PROVISIONED
    assert audit_actions(target) == ["open", "provision"]


# --- racing runs ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_provisioning_runs_of_released_targets_take_distinct_ports(monkeypatch):
    """Two targets on the same gateway addresses, released; two runs each race to take ports again."""
    monkeypatch.setattr("dropcopy_admin.tasks.verify_targets.delay", lambda _ids: None)  # no gateway here (R16)
    first, second = approved_target(), approved_target()
    assert first.cgw_gateway_id == second.cgw_gateway_id
    for target in (first, second):
        release_addresses(target)

    outcomes = race(
        [lambda target_id=t.pk: target_provision(actor=ACTOR, target_id=target_id) for t in (first, second)] * 2
    )

    assert all(isinstance(outcome, TargetSession) for outcome in outcomes)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.port != second.port
    for target in (first, second):
        assert target.status == TargetStatus.PROVISIONED
        assert [port for _, port in live_addresses(target)] == [target.port, target.port]
        assert audit_actions(target).count("provision") == 1
    live = list(TargetAddress.objects.filter(released=False).values_list("ip", "port"))
    assert len(live) == len(set(live)) == 4

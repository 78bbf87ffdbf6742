"""Connectivity verification through a real Celery worker on Redis (R16, R17): the worker
provisions an approved target and then verifies it against a running gateway; later the gateway
loses the backup addresses (degraded) and then stops (failed), each re-verified through the API;
the checks of addresses no running gateway serves say so."""

import pytest

from dropcopy_admin.choices import AddressRole, Role, TargetStatus
from dropcopy_admin.gateway.server import GatewayThread
from dropcopy_admin.models import AuditEvent, ConnectivityCheck, TargetSession
from dropcopy_admin.tasks import provision_target
from entitlements.choices import Decision
from entitlements.services.memberships import memberships_decide
from tests import factories

from .test_celery_provisioning import pending_membership, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def status_becomes(target_id: int, status: str, *, checks: int):
    def check():
        target = TargetSession.objects.get(pk=target_id)
        done = ConnectivityCheck.objects.filter(target_id=target_id).count() >= checks
        return target if done and target.status == status else None

    return check


def test_worker_provisions_then_verifies_and_reverification_follows_the_gateway(celery_worker, api_for, monkeypatch):
    queued: list[int] = []
    monkeypatch.setattr(provision_target, "delay", queued.append)  # held until the gateway listens
    membership, firm_admin = pending_membership()
    (decided,) = memberships_decide(actor=firm_admin, memberships=[membership], decision=Decision.APPROVE)
    target_id = decided.membership.target_id
    assert queued == [target_id]
    gateway = GatewayThread().start()
    threads = [gateway]
    try:
        gateway.wait_refreshed()  # listening on the new target's addresses
        monkeypatch.undo()
        provision_target.delay(target_id)  # the queued task, now sent to the worker

        target = wait_for(status_becomes(target_id, TargetStatus.VERIFIED, checks=2), what="provisioned → verified")
        assert AuditEvent.objects.filter(object_type="target", object_id=target_id, action="provision").exists()
        assert list(ConnectivityCheck.objects.filter(target_id=target_id).values_list("outcome", flat=True)) == [
            "ok",
            "ok",
        ]
        assert "verify_targets[" in celery_worker.log()

        gateway.stop()
        backups = frozenset(target.addresses.filter(role=AddressRole.BACKUP).values_list("ip", flat=True))
        gateway = GatewayThread(exclude=backups).start()
        threads.append(gateway)
        manager = api_for(factories.UserFactory(role=Role.ACCOUNT_MANAGER))
        response = manager.post(f"/api/v1/targets/{target_id}/verify/", {}, format="json")
        assert response.status_code == 202, response.content
        wait_for(status_becomes(target_id, TargetStatus.DEGRADED, checks=4), what="re-verified → degraded")
        backup = ConnectivityCheck.objects.filter(target_id=target_id, role=AddressRole.BACKUP).first()
        assert (backup.outcome, backup.stage) == ("failed", "connect")
        assert backup.detail == "No running gateway serves this target on this address"

        gateway.stop()
        response = manager.post(f"/api/v1/targets/{target_id}/verify/", {}, format="json")
        assert response.status_code == 202, response.content
        wait_for(status_becomes(target_id, TargetStatus.FAILED, checks=6), what="gateway stopped → failed")
        changes = AuditEvent.objects.filter(object_type="target", object_id=target_id, action="verify").order_by("id")
        assert [event.after["status"] for event in changes] == ["verified", "degraded", "failed"]
        assert {event.actor for event in changes} == {"system:verify_targets"}
    finally:
        for thread in threads:
            thread.stop()

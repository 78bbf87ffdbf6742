"""Provisioning through a real Celery worker on Redis (R17, R18): an approval through the API
queues the new target's provisioning on commit; the worker provisions it, and the request id
of the approving request reaches the task's audit rows."""

import time
import uuid

import pytest

from dropcopy_admin.choices import GatewayType, MembershipStatus, Role, TargetStatus
from dropcopy_admin.models import AuditEvent, Membership, TargetSession
from entitlements.services.memberships import memberships_request
from tests import factories

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

POLL_TIMEOUT = 30.0
POLL_INTERVAL = 0.2


def wait_for(condition, *, timeout: float = POLL_TIMEOUT, what: str):
    """Poll ``condition()`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(POLL_INTERVAL)


def pending_membership(gateway_type: str = GatewayType.CGW) -> tuple[Membership, object]:
    """A client's request for a session another entity's GFID owns: its clearing firm decides."""
    firm = factories.ClearingFirmFactory()
    session = factories.SourceSessionFactory(gfid=factories.GfidFactory(clearing_firm=firm), gateway_type=gateway_type)
    requester = factories.UserFactory(role=Role.ACCOUNT_MANAGER)
    (outcome,) = memberships_request(actor=requester, group=factories.GroupFactory(), sessions=[session])
    assert outcome.membership.status == MembershipStatus.PENDING
    firm_admin = factories.UserFactory(role=Role.CLEARING_FIRM, clearing_firm=firm)
    return outcome.membership, firm_admin


def provisioned(membership: Membership):
    def check():
        membership.refresh_from_db()
        # Provisioning chains verification (R17): with no gateway here the target goes on to
        # ``failed``, so any status past ``pending`` shows the worker provisioned it.
        target = TargetSession.objects.filter(pk=membership.target_id).exclude(status=TargetStatus.PENDING).first()
        return target

    return check


def in_process_provisioning(**_kwargs):
    raise AssertionError("provisioning ran in the test process, not in the worker")


@pytest.mark.parametrize(("gateway_type", "addresses"), [(GatewayType.CGW, 2), (GatewayType.MSGW, 38)])
def test_an_approval_through_the_api_gets_its_target_provisioned_by_the_worker(
    celery_worker, api_for, monkeypatch, gateway_type, addresses
):
    membership, firm_admin = pending_membership(gateway_type)
    monkeypatch.setattr("dropcopy_admin.tasks.target_provision", in_process_provisioning)
    request_id = f"it-{uuid.uuid4().hex}"

    response = api_for(firm_admin).post(
        f"/api/v1/memberships/{membership.pk}/approve/", {}, format="json", HTTP_X_REQUEST_ID=request_id
    )

    assert response.status_code == 200, response.content
    assert response["X-Request-ID"] == request_id
    assert response.json()["status"] == MembershipStatus.APPROVED
    target = wait_for(provisioned(membership), what="the worker to provision the new target")
    assert target.provisioning_error_code == ""
    live = list(target.addresses.filter(released=False).values_list("port", flat=True))
    assert live == [target.port] * addresses
    provision = AuditEvent.objects.get(object_type="target", object_id=target.pk, action="provision")
    assert provision.actor == "system:provision_target"
    assert provision.request_id == request_id, "the approving request's id reaches the task"
    assert "provision_target[" in celery_worker.log()
    approval = AuditEvent.objects.get(object_type="membership", object_id=membership.pk, action="approve")
    assert approval.request_id == request_id

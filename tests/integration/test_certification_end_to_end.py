"""A certification end to end (R9, R16, R17, R19): requested through the API, its AutoCert+ target
provisioned by a real Celery worker, served by the running gateway; once the clock reaches the
target's ready time a FIX client built on ``dropcopy_admin.fix``, with a key pair from
``key_pair_create``, shows every checklist item over real sockets; the five checks are recorded,
the account manager passes the certification, and the target's port stops answering."""

import datetime as dt
import socket
import time

import pytest

from dropcopy_admin import clock
from dropcopy_admin.choices import CertificationCheckName, CertificationStatus, GatewayType, Role, TargetStatus
from dropcopy_admin.fix.messages import build_logout
from dropcopy_admin.gateway.server import GatewayThread
from dropcopy_admin.models import AuditEvent, TargetSession
from dropcopy_admin.services.keys import key_pair_create
from entitlements.models import Certification, CertificationCheck
from tests import factories
from tests.dropcopy_admin.gateway.certification_support import advance, drain, gap_in, settle, wait_read
from tests.dropcopy_admin.gateway.client import FixClient

from .test_celery_provisioning import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# A Wednesday well after any real date the worker's own clock could show, so the worker never finds
# the target ready (and never verifies it) on its own.
WEDNESDAY = dt.datetime(2030, 11, 27, 15, 0, tzinfo=dt.UTC)
HEARTBEAT = 5


def connectable(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=0.5):
            return True
    except OSError:
        return False


def request_certification(manager_api, front_end_system) -> Certification:
    response = manager_api.post(
        "/api/v1/certifications/",
        {
            "entity": front_end_system.entity_id,
            "front_end_system": front_end_system.pk,
            "venue": "CME",
            "gateway_type": GatewayType.CGW,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return Certification.objects.get(pk=response.json()["id"])


def pass_certification(manager_api, certification: Certification) -> None:
    note = "All five AutoCert+ checks shown"
    response = manager_api.post(f"/api/v1/certifications/{certification.pk}/pass/", {"note": note}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == CertificationStatus.PASSED


def test_a_certification_from_request_to_pass_over_the_running_gateway(celery_worker, api_for):
    clock.freeze(WEDNESDAY)
    manager = factories.UserFactory(role=Role.ACCOUNT_MANAGER)
    manager_api = api_for(manager)
    front_end_system = factories.FrontEndSystemFactory()
    gateway = GatewayThread().start()
    try:
        certification = request_certification(manager_api, front_end_system)
        target = wait_for(
            lambda: TargetSession.objects.filter(pk=certification.target_id, status=TargetStatus.PROVISIONED).first(),
            what="the worker provisions the AutoCert+ target",
        )
        assert AuditEvent.objects.filter(
            object_type="target", object_id=target.pk, action="provision", actor="system:provision_target"
        ).exists()
        assert target.ready_at == WEDNESDAY + dt.timedelta(hours=48)
        key = key_pair_create(actor=manager, target=target)
        address = target.addresses.filter(released=False).order_by("id").first()
        gateway.wait_refreshed()

        def client() -> FixClient:
            return FixClient(
                address.ip, address.port, sender_comp_id=target.target_comp_id, target_sub_id=address.target_sub_id
            )

        def logon(fix: FixClient, seq: int | None = None) -> None:
            fix.logon(key=key.key_pair.access_key_id, secret=key.secret_key, heartbeat=HEARTBEAT, seq=seq)

        early = client()
        logon(early)
        assert "not ready" in early.wait_closed()[-1].get_str(58)

        clock.freeze(target.ready_at)

        # signed_logon, then test_request: the gateway's TestRequest after the Logon, answered.
        fix = client()
        logon(fix)
        assert fix.receive().msg_type == "A"
        fix.heartbeat(fix.receive_type("1").get_str(112))

        # heartbeats: three plain Heartbeats 4.5 s apart (HeartBtInt 5, ±20%); the AutoCert+ feed
        # sends an envelope a second of the clock meanwhile, and leaves out the second one.
        seen = []
        fix.heartbeat()
        wait_read(gateway, fix)
        for _ in range(2):
            advance(4.5)
            fix.heartbeat()
            wait_read(gateway, fix)
            seen += drain(fix, 0.3)

        # resend_recovery: the gap after the first envelope, a ResendRequest for it, then carry on.
        for _ in range(6):
            if gap_in(seen) is not None:
                break
            advance(1)
            seen += drain(fix, 0.4)
        gap = gap_in(seen)
        assert gap is not None, [m.seq_num for m in seen]
        fix.resend_request(gap, 0)
        resent = fix.receive_type("n")
        assert (resent.seq_num, resent.get_str(43)) == (gap, "Y")
        fix.heartbeat()
        settle()

        # midweek_logon: log out, log on with a low MsgSeqNum (Logout with 789), then with that number.
        fix.send(build_logout(fix.header()))
        fix.wait_closed()
        low = client()
        logon(low, seq=1)
        (logout,) = low.wait_closed()
        expected = logout.get_int(789)
        assert expected == fix.seq
        again = client()
        logon(again, seq=expected)
        assert again.receive().msg_type == "A"
        again.heartbeat(again.receive_type("1").get_str(112))

        names = CertificationCheckName.values
        wait_for(
            lambda: not CertificationCheck.objects.filter(certification=certification, passed_at__isnull=True).exists(),
            timeout=5,
            what="the five checks recorded",
        )
        checks = dict(CertificationCheck.objects.filter(certification=certification).values_list("name", "passed_at"))
        assert set(checks) == set(names)
        assert checks[CertificationCheckName.SIGNED_LOGON] == target.ready_at
        assert checks[CertificationCheckName.MIDWEEK_LOGON] == clock.now()
        shown = manager_api.get(f"/api/v1/certifications/{certification.pk}/").json()["checks"]
        assert [(row["name"], row["passed_at"] is not None) for row in shown] == [(name, True) for name in names]

        pass_certification(manager_api, certification)
        deadline = time.monotonic() + 2.0  # the gateway follows a closed target within 2 s

        while connectable(address.ip, address.port) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not connectable(address.ip, address.port)
        assert again.wait_closed(timeout=1)[-1].msg_type == "5"
        certification.refresh_from_db()
        target.refresh_from_db()
        assert certification.status == CertificationStatus.PASSED
        assert target.status == TargetStatus.CLOSED
        assert not target.key_pairs.filter(revoked_at__isnull=True).exists()
        for other in target.addresses.values_list("ip", "port"):
            assert not connectable(*other)
    finally:
        gateway.stop()

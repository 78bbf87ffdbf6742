# ruff: noqa: F811  (fixtures imported from the verification conftest are used as arguments)
"""``manage.py verify_targets --when-served``: what ``make run`` calls right after starting its
gateway, so the first view of the targets shows them verified (R16)."""

import io
import threading

import pytest
from django.core.management import CommandError, call_command

from dropcopy_admin.choices import GatewayType, TargetStatus
from dropcopy_admin.models import ConnectivityCheck, TargetSession
from tests.dropcopy_admin.verification.conftest import (  # noqa: F401  (fixtures)
    REAL_DB,
    frozen,
    serve_target,
    start_gateway,
)


@pytest.fixture(autouse=True)
def no_chained_verification(monkeypatch):
    """Provisioning queues a verification (R17); here the command runs it, so the eager chain is off."""
    monkeypatch.setattr("dropcopy_admin.tasks.verify_targets.delay", lambda _ids: None)


def run_command(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("verify_targets", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@REAL_DB
def test_when_served_waits_for_the_gateway_started_after_it_then_verifies_every_live_target(frozen, start_gateway):
    cgw, msgw = serve_target(GatewayType.CGW), serve_target(GatewayType.MSGW)
    threading.Timer(0.5, start_gateway).start()  # make run starts its gateway, then the command

    out, err = run_command("--when-served", "--timeout", "20")

    statuses = dict(TargetSession.objects.values_list("pk", "status"))
    assert statuses == {cgw.target.pk: TargetStatus.VERIFIED, msgw.target.pk: TargetStatus.VERIFIED}
    assert not ConnectivityCheck.objects.exclude(outcome="ok").exists()
    assert out.strip() == "Verified 2 targets: 2 verified."
    assert err == ""


@REAL_DB
def test_with_no_gateway_the_targets_fail_saying_so_within_the_timeout(frozen):
    served = serve_target()

    out, err = run_command("--when-served", "--timeout", "0.3")

    served.target.refresh_from_db()
    assert served.target.status == TargetStatus.FAILED
    details = set(ConnectivityCheck.objects.filter(target=served.target).values_list("stage", "detail"))
    assert details == {("connect", "No running gateway serves this target")}
    assert out.strip() == "Verified 1 target: 1 failed."
    assert "No running gateway served 1 target within 0.3 s" in err


def test_a_negative_timeout_is_refused(db):
    with pytest.raises(CommandError, match="--timeout"):
        run_command("--when-served", "--timeout", "-1")

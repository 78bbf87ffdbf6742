# ruff: noqa: F811  (fixtures imported from the verification conftest are used as arguments)
"""A new target's first check waits, bounded, until a running gateway serves it (R16, R19).

The approval commits, provisioning runs on commit (tasks run in-process here) and chains the
verification at once — before the gateway's next registry read has opened the new target's
listeners. The verification waits for the gateway's served-address rows, then probes.
"""

import threading
import time

import pytest

from dropcopy_admin.choices import TargetStatus
from dropcopy_admin.models import AuditEvent, ConnectivityCheck, ServedAddress, TargetSession
from dropcopy_admin.services.targets import target_provision
from dropcopy_admin.services.verification import targets_verify
from tests.dropcopy_admin.test_provisioning import approved_target
from tests.dropcopy_admin.verification.conftest import (  # noqa: F401  (fixtures)
    ACTOR,
    REAL_DB,
    frozen,
    serve_target,
    start_gateway,
)

PRODUCT_WAIT_SECONDS = 10.0


@pytest.fixture
def product_wait(settings):
    """The product's bound instead of the suite's short one: the gateway reads its registry every 0.5 s."""
    settings.DROPCOPY = {**settings.DROPCOPY, "VERIFY_WAIT_FOR_GATEWAY_SECONDS": PRODUCT_WAIT_SECONDS}


def verify_events(target: TargetSession) -> list[tuple[str, str]]:
    events = AuditEvent.objects.filter(object_type="target", object_id=target.pk, action="verify").order_by("id")
    return [(event.before["status"], event.after["status"]) for event in events]


@REAL_DB
def test_a_target_approved_while_the_gateway_runs_is_verified_by_its_first_check(frozen, start_gateway, product_wait):
    start_gateway()

    target = approved_target()  # approval → provisioning → verification, each on the commit before

    target.refresh_from_db()
    assert target.status == TargetStatus.VERIFIED
    checks = ConnectivityCheck.objects.filter(target=target)
    assert sorted((c.role, c.outcome, c.stage) for c in checks) == [("backup", "ok", None), ("primary", "ok", None)]
    assert verify_events(target) == [("provisioned", "verified")], "verified at the first check, no retry"
    assert ServedAddress.objects.filter(target=target).count() == 2


@REAL_DB
def test_a_reopened_target_waits_for_the_gateway_too(frozen, start_gateway, product_wait, monkeypatch):
    """A failed target provisioned again is back to ``provisioned``: its next check is a first check."""
    monkeypatch.setattr("dropcopy_admin.tasks.verify_targets.delay", lambda _ids: None)
    target = approved_target()
    TargetSession.objects.filter(pk=target.pk).update(status=TargetStatus.FAILED)
    target_provision(actor=ACTOR, target_id=target.pk)
    start_gateway(only=frozenset({"127.0.0.2"}))  # a gateway process runs, serving none of its addresses
    threading.Timer(0.5, start_gateway).start()  # the gateway that serves it comes up while the check waits

    outcome = targets_verify(actor=ACTOR, target_ids=[target.pk])

    assert outcome.statuses == {target.pk: TargetStatus.VERIFIED}
    assert outcome.not_served == []


@REAL_DB
def test_with_no_gateway_running_the_first_check_fails_at_once_saying_so(frozen, product_wait):
    """No gateway process runs at all: nothing will come to serve the target, so nothing waits."""
    started = time.monotonic()

    target = approved_target()

    assert time.monotonic() - started < PRODUCT_WAIT_SECONDS / 2
    target.refresh_from_db()
    assert target.status == TargetStatus.FAILED
    checks = ConnectivityCheck.objects.filter(target=target)
    assert [(c.outcome, c.stage, c.detail) for c in checks] == [
        ("failed", "connect", "No running gateway serves this target")
    ] * 2


@REAL_DB
def test_a_first_check_waits_no_longer_than_its_bound(frozen, start_gateway, settings, monkeypatch):
    """A gateway runs but will never serve the target (another gateway's addresses): the bound ends the wait."""
    monkeypatch.setattr("dropcopy_admin.tasks.verify_targets.delay", lambda _ids: None)
    settings.DROPCOPY = {**settings.DROPCOPY, "VERIFY_WAIT_FOR_GATEWAY_SECONDS": 1.0}
    served = serve_target()
    start_gateway(only=frozenset({"127.0.0.2"}))

    started = time.monotonic()
    outcome = targets_verify(actor=ACTOR, target_ids=[served.target.pk])
    waited = time.monotonic() - started

    assert 1.0 <= waited < 1.0 + PRODUCT_WAIT_SECONDS / 2
    assert outcome.statuses == {served.target.pk: TargetStatus.FAILED}
    assert set(ConnectivityCheck.objects.filter(target=served.target).values_list("stage", flat=True)) == {"connect"}


@REAL_DB
def test_rechecking_a_verified_target_does_not_wait_and_says_no_gateway_serves_it(
    frozen, start_gateway, product_wait, monkeypatch
):
    monkeypatch.setattr("dropcopy_admin.tasks.verify_targets.delay", lambda _ids: None)
    served = serve_target()
    gateway = start_gateway()
    assert targets_verify(actor=ACTOR, target_ids=[served.target.pk]).statuses == {
        served.target.pk: TargetStatus.VERIFIED
    }
    start_gateway(only=frozenset({"127.0.0.2"}))  # a gateway still runs, serving none of the target's addresses
    gateway.stop()

    started = time.monotonic()
    outcome = targets_verify(actor=ACTOR, target_ids=[served.target.pk])

    assert time.monotonic() - started < PRODUCT_WAIT_SECONDS / 2
    assert outcome.statuses == {served.target.pk: TargetStatus.FAILED}
    latest = ConnectivityCheck.objects.filter(target=served.target).order_by("-id")[:2]
    assert {(c.stage, c.detail) for c in latest} == {("connect", "No running gateway serves this target")}

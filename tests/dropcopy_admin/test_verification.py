# ruff: noqa: F811  (fixtures imported from the verification conftest are used as arguments)
"""Connectivity verification (R16): the probe against a real gateway in a thread, the statuses,
the stored checks, the tasks that queue it and the API that asks for it and lists the checks."""

import asyncio
import datetime as dt

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from dropcopy_admin import clock
from dropcopy_admin.choices import AddressRole, Role, TargetStatus
from dropcopy_admin.models import AuditEvent, ConnectivityCheck, GatewayProcess, ServedAddress, TargetSession
from dropcopy_admin.services.audit import SystemActor
from dropcopy_admin.services.targets import target_provision, targets_close
from dropcopy_admin.services.verification import status_from_results, targets_verify
from dropcopy_admin.verification.probe import ProbeAddress, ProbeCredentials, ProbeResult, probe_address
from dropcopy_admin.verification.runner import ProbeJob, probe_jobs
from tests import factories
from tests.dropcopy_admin.test_provisioning import approved_target
from tests.dropcopy_admin.verification.conftest import (  # noqa: F401  (fixtures)
    REAL_DB,
    WEDNESDAY,
    backup_ips,
    frozen,
    serve_target,
    served,
    start_gateway,
)

ACTOR = SystemActor("verify_targets")
PROBE_CREDENTIALS = ProbeCredentials("ABCDEFN", "A" * 20, "s" * 43)


@pytest.fixture(autouse=True)
def no_chained_verification(monkeypatch):
    """Provisioning queues a verification (R17); here each test runs its own, so the eager chain is off."""
    from dropcopy_admin import tasks

    monkeypatch.setattr(tasks.verify_targets, "delay", lambda _ids: None)


def checks_of(target) -> list[ConnectivityCheck]:
    return list(ConnectivityCheck.objects.filter(target=target).order_by("role", "ip"))


# --- against a real gateway -----------------------------------------------------------------


@REAL_DB
def test_every_address_passing_makes_the_target_verified_with_rtt_recorded(served, start_gateway):
    start_gateway()

    outcome = targets_verify(actor=ACTOR, target_ids=[served.target.pk])

    served.target.refresh_from_db()
    assert served.target.status == TargetStatus.VERIFIED
    assert outcome.statuses == {served.target.pk: TargetStatus.VERIFIED}
    checks = checks_of(served.target)
    assert [(c.role, c.outcome, c.stage) for c in checks] == [("backup", "ok", None), ("primary", "ok", None)]
    assert all(c.rtt_ms is not None and 0 <= c.rtt_ms < 5000 for c in checks)
    # Time to logon: from connecting to the Logon answered, so longer than the TestRequest's round trip.
    assert all(c.logon_ms is not None and 0 < c.logon_ms < 5000 for c in checks)
    assert all(c.checked_at == WEDNESDAY for c in checks)
    assert {c.ip for c in checks} == set(served.target.addresses.values_list("ip", flat=True))
    event = AuditEvent.objects.get(object_type="target", object_id=served.target.pk, action="verify")
    assert (event.actor, event.before["status"], event.after["status"]) == (
        "system:verify_targets",
        "provisioned",
        "verified",
    )


@REAL_DB
def test_a_failing_backup_with_every_primary_passing_makes_the_target_degraded(served, start_gateway):
    start_gateway(exclude=backup_ips(served.target))

    targets_verify(actor=ACTOR, target_ids=[served.target.pk])

    served.target.refresh_from_db()
    assert served.target.status == TargetStatus.DEGRADED
    primary, backup = (
        ConnectivityCheck.objects.get(target=served.target, role=role)
        for role in (AddressRole.PRIMARY, AddressRole.BACKUP)
    )
    assert (primary.outcome, primary.stage) == ("ok", None)
    assert (backup.outcome, backup.stage, backup.rtt_ms, backup.logon_ms) == ("failed", "connect", None, None)
    assert backup.detail == "No running gateway serves this target on this address"


@REAL_DB
def test_an_address_a_gateway_claims_but_does_not_listen_on_fails_at_the_connect_stage(served, start_gateway):
    """A gateway that died a moment ago still counts as running: its addresses are probed, and refuse."""
    gateway = start_gateway()
    gateway.wait_refreshed()
    recorded = list(ServedAddress.objects.values("process_id", "address_id", "target_id", "since"))
    process = GatewayProcess.objects.get()
    gateway.stop()
    GatewayProcess.objects.filter(pk=process.pk).update(stopped_at=None)  # died without saying so
    ServedAddress.objects.bulk_create(ServedAddress(**row) for row in recorded)

    targets_verify(actor=ACTOR, target_ids=[served.target.pk])

    served.target.refresh_from_db()
    assert served.target.status == TargetStatus.FAILED
    checks = checks_of(served.target)
    assert [(c.outcome, c.stage) for c in checks] == [("failed", "connect")] * 2
    assert all(c.detail for c in checks)


@REAL_DB
def test_no_running_gateway_fails_the_target_at_the_gateway_stage_saying_so(served, start_gateway):
    gateway = start_gateway()
    gateway.stop()

    outcome = targets_verify(actor=ACTOR, target_ids=[served.target.pk])

    served.target.refresh_from_db()
    assert served.target.status == TargetStatus.FAILED
    checks = checks_of(served.target)
    assert [(c.outcome, c.stage, c.rtt_ms) for c in checks] == [("failed", "connect", None)] * 2
    assert {c.detail for c in checks} == {"No running gateway serves this target"}
    assert outcome.not_served == [served.target.pk]


@REAL_DB
def test_a_wrong_probe_key_fails_at_the_logon_stage_saying_why(served, start_gateway, monkeypatch):
    start_gateway()
    monkeypatch.setattr("dropcopy_admin.services.verification.key_pair_secret", lambda _pair: served.secret)

    targets_verify(actor=ACTOR, target_ids=[served.target.pk])

    served.target.refresh_from_db()
    assert served.target.status == TargetStatus.FAILED
    checks = checks_of(served.target)
    assert [(c.outcome, c.stage) for c in checks] == [("failed", "logon")] * 2
    assert all("signature" in c.detail for c in checks)


@REAL_DB
def test_the_probe_does_not_disturb_a_logged_on_client_session(served, start_gateway):
    start_gateway()
    client = served.logged_on()

    targets_verify(actor=ACTOR, target_ids=[served.target.pk])

    served.target.refresh_from_db()
    assert served.target.status == TargetStatus.VERIFIED
    client.test_request("STILL-THERE")
    answer = client.receive_type("0")
    assert answer.get_str(112) == "STILL-THERE"
    client.close()


@REAL_DB
def test_a_batch_stores_every_check_with_one_copy_and_audits_only_status_changes(frozen, start_gateway):
    first, second = serve_target(), serve_target()
    start_gateway()

    with CaptureQueriesContext(connection) as queries:
        outcome = targets_verify(actor=ACTOR, target_ids=[first.target.pk, second.target.pk])
    writes = [q["sql"] for q in queries if '"dropcopy_admin_connectivitycheck"' in q["sql"]]

    assert len(writes) == 1 and writes[0].startswith('COPY "dropcopy_admin_connectivitycheck"')
    assert outcome.checks == 4
    assert set(outcome.statuses.values()) == {TargetStatus.VERIFIED}
    targets_verify(actor=ACTOR, target_ids=[first.target.pk, second.target.pk])
    assert ConnectivityCheck.objects.count() == 8, "checks are records of their own, kept every time"
    verify_events = AuditEvent.objects.filter(object_type="target", action="verify")
    assert verify_events.count() == 2, "a verification that changes no status writes no audit row"


@REAL_DB
def test_pending_closed_and_not_ready_targets_are_skipped(served, start_gateway):
    start_gateway()
    pending = approved_target()  # provisioned on commit: set back to pending
    TargetSession.objects.filter(pk=pending.pk).update(status=TargetStatus.PENDING)
    not_ready = serve_target()
    TargetSession.objects.filter(pk=not_ready.target.pk).update(ready_at=WEDNESDAY + dt.timedelta(hours=1))
    closed = serve_target()
    with transaction.atomic():
        targets_close(actor=ACTOR, targets=[closed.target], at=WEDNESDAY)

    outcome = targets_verify(actor=ACTOR, target_ids=[pending.pk, not_ready.target.pk, closed.target.pk])

    assert outcome.statuses == {}
    assert outcome.skipped == sorted([pending.pk, not_ready.target.pk, closed.target.pk])
    assert ConnectivityCheck.objects.count() == 0


# --- the probe's stages against scripted acceptors ------------------------------------------


def _result(role: str, ok: bool) -> ProbeResult:
    address = ProbeAddress(ip="127.0.0.1", port=1, role=role, market_segment=None, target_sub_id="G")
    return ProbeResult(address, ok, None if ok else "connect", None, WEDNESDAY, "")


@pytest.mark.parametrize(
    ("outcomes", "status"),
    [
        ([("primary", True), ("backup", True)], TargetStatus.VERIFIED),
        ([("primary", True), ("backup", False)], TargetStatus.DEGRADED),
        ([("primary", True), ("backup", False), ("primary", True), ("backup", False)], TargetStatus.DEGRADED),
        ([("primary", False), ("backup", True)], TargetStatus.FAILED),
        ([("primary", False), ("backup", False)], TargetStatus.FAILED),
        ([("primary", True), ("primary", False), ("backup", True)], TargetStatus.FAILED),
    ],
)
def test_status_follows_the_rule_of_r16(outcomes, status):
    assert status_from_results([_result(role, ok) for role, ok in outcomes]) == status


async def _scripted_acceptor(script: str):
    """An acceptor that answers a Logon and then stops at ``script``: "logon", "test_request", "logout"."""
    from dropcopy_admin.fix.framing import FrameReader
    from dropcopy_admin.fix.messages import Message, SessionHeader, build_heartbeat, build_logon_response, build_logout

    def header(seq: int) -> SessionHeader:
        return SessionHeader(sender_comp_id="CME", target_comp_id="ABCDEFN", seq_num=seq, sending_time=WEDNESDAY)

    async def serve(reader, writer):
        frames = FrameReader()
        seq = 1
        while data := await reader.read(65536):
            for frame in frames.feed(data):
                message = Message.parse(frame)
                if message.msg_type == "A" and script != "logon":
                    writer.write(
                        build_logon_response(
                            header(seq),
                            heartbeat_interval=30,
                            application_system_name=None,
                            trading_system_version=None,
                            application_system_vendor=None,
                        )
                    )
                elif message.msg_type == "1" and script in ("logout", "ok"):
                    writer.write(build_heartbeat(header(seq), test_req_id=message.get_str(112)))
                elif message.msg_type == "5" and script == "ok":
                    writer.write(build_logout(header(seq)))
                    await writer.drain()
                    writer.close()
                    return
                seq += 1
                await writer.drain()

    return await asyncio.start_server(serve, "127.0.0.1", 0)


@pytest.mark.parametrize(
    ("script", "stage"), [("logon", "logon"), ("test_request", "test_request"), ("logout", "logout"), ("ok", None)]
)
def test_each_stage_is_bounded_and_named_when_it_fails(script, stage):
    async def run():
        server = await _scripted_acceptor(script)
        port = server.sockets[0].getsockname()[1]
        address = ProbeAddress(ip="127.0.0.1", port=port, role="primary", market_segment=None, target_sub_id="G")
        credentials = PROBE_CREDENTIALS
        async with server:
            return await probe_address(address, credentials, timeout=0.3)

    result = asyncio.run(run())

    assert (result.ok, result.stage) == (stage is None, stage)
    if stage in ("logout", None):
        assert result.rtt_ms is not None
    else:
        assert result.rtt_ms is None
    if stage is not None:
        assert "0.3 s" in result.detail


def _local_address(server) -> ProbeAddress:
    """The primary address of a test acceptor listening on 127.0.0.1."""
    return ProbeAddress(
        ip="127.0.0.1", port=server.sockets[0].getsockname()[1], role="primary", market_segment=None, target_sub_id="G"
    )


def _probe_against(serve, *, timeout: float = 1.0) -> ProbeResult:
    """Probe an acceptor on 127.0.0.1 whose connections ``serve(reader, writer)`` handles."""

    async def run():
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        address = _local_address(server)
        async with server:
            return await probe_address(address, PROBE_CREDENTIALS, timeout=timeout)

    return asyncio.run(run())


def _gateway_header(seq: int):
    from dropcopy_admin.fix.messages import SessionHeader

    return SessionHeader(sender_comp_id="CME", target_comp_id="ABCDEFN", seq_num=seq, sending_time=WEDNESDAY)


async def _next_message(reader, frames):
    from dropcopy_admin.fix.messages import Message

    while True:
        for frame in frames.feed(await reader.read(65536)):
            return Message.parse(frame)


def test_a_connection_closed_before_the_logon_is_answered_fails_the_logon_stage_saying_so():
    async def serve(reader, writer):
        await reader.read(65536)
        writer.close()

    result = _probe_against(serve)

    assert (result.ok, result.stage, result.detail) == (
        False,
        "logon",
        "connection closed before the Logon was answered",
    )


def test_a_malformed_answer_fails_its_stage_saying_the_frame_is_malformed():
    async def serve(reader, writer):
        await reader.read(65536)
        writer.write(b"8=FIX.4.2\x019=5\x0135=A\x0110=000\x01")  # the checksum is wrong
        await reader.read(65536)

    result = _probe_against(serve)

    assert (result.ok, result.stage) == (False, "logon")
    assert result.detail.startswith("malformed frame from the gateway")


def test_the_probe_answers_the_gateways_own_test_request_while_it_waits_for_its_heartbeat():
    from dropcopy_admin.fix.framing import FrameReader
    from dropcopy_admin.fix.messages import build_heartbeat, build_logout, build_test_request

    heard: list[tuple[str, str | None]] = []

    async def serve(reader, writer):
        frames = FrameReader()
        await _next_message(reader, frames)  # the Logon
        writer.write(build_logon_answer(_gateway_header(1)))
        probe_request = await _next_message(reader, frames)
        writer.write(build_test_request(_gateway_header(2), test_req_id="GW1"))
        answer = await _next_message(reader, frames)
        heard.append((answer.msg_type, answer.get_str(112)))
        writer.write(build_heartbeat(_gateway_header(3), test_req_id=probe_request.get_str(112)))
        await _next_message(reader, frames)  # the Logout
        writer.write(build_logout(_gateway_header(4)))
        writer.close()

    result = _probe_against(serve)

    assert (result.ok, result.stage) == (True, None)
    assert heard == [("0", "GW1")]


def test_a_cancelled_probe_leaves_no_connection_open():
    async def run():
        ended = asyncio.Event()

        async def serve(reader, writer):
            while await reader.read(65536):
                pass  # never answers
            ended.set()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        address = _local_address(server)
        async with server:
            probing = asyncio.create_task(probe_address(address, PROBE_CREDENTIALS, timeout=30))
            await asyncio.sleep(0.2)
            probing.cancel()
            await asyncio.wait_for(ended.wait(), 5)  # the acceptor sees the connection end
        return probing.cancelled()

    assert asyncio.run(run())


def build_logon_answer(header):
    from dropcopy_admin.fix.messages import build_logon_response

    return build_logon_response(
        header,
        heartbeat_interval=30,
        application_system_name=None,
        trading_system_version=None,
        application_system_vendor=None,
    )


def test_the_runner_keeps_at_most_the_bound_in_flight(monkeypatch):
    in_flight = peak = 0

    async def fake_probe(address, credentials, *, timeout):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return ProbeResult(address, True, None, 1.0, WEDNESDAY, "")

    monkeypatch.setattr("dropcopy_admin.verification.runner.probe_address", fake_probe)
    address = ProbeAddress(ip="127.0.0.1", port=1, role="primary", market_segment=None, target_sub_id="G")
    credentials = PROBE_CREDENTIALS
    jobs = [
        ProbeJob(target_id=index, address_id=index, address=address, credentials=credentials) for index in range(50)
    ]

    results = asyncio.run(probe_jobs(jobs, concurrency=7, timeout=1))

    assert len(results) == 50 and peak == 7


def test_probe_credentials_never_show_the_secret():
    assert "s" * 43 not in repr(PROBE_CREDENTIALS)


# --- tasks ----------------------------------------------------------------------------------


def provisioned_target(**changes) -> TargetSession:
    target = approved_target()
    target_provision(actor=ACTOR, target_id=target.pk)
    if changes:
        TargetSession.objects.filter(pk=target.pk).update(**changes)
    target.refresh_from_db()
    return target


@pytest.mark.django_db
def test_provisioning_queues_the_verification_of_the_target(monkeypatch, django_capture_on_commit_callbacks):
    from dropcopy_admin import tasks

    queued = []
    monkeypatch.setattr(tasks.verify_targets, "delay", lambda ids: queued.append(ids))
    target = approved_target()

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.provision_target.apply(args=[target.pk]).successful()

    assert queued == [[target.pk]]


@pytest.mark.django_db
def test_provisioning_a_target_not_ready_leaves_its_verification_to_the_schedule(
    monkeypatch, django_capture_on_commit_callbacks
):
    from dropcopy_admin import tasks

    queued = []
    monkeypatch.setattr(tasks.verify_targets, "delay", lambda ids: queued.append(ids))
    target = approved_target()
    TargetSession.objects.filter(pk=target.pk).update(ready_at=clock.now() + dt.timedelta(hours=48))

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.provision_target.apply(args=[target.pk]).successful()

    assert queued == []


@pytest.mark.django_db
def test_reverification_queues_every_live_ready_target_in_batches(
    monkeypatch, settings, django_capture_on_commit_callbacks
):
    from dropcopy_admin import tasks

    settings.DROPCOPY = {**settings.DROPCOPY, "VERIFY_BATCH_SIZE": 2}
    queued = []
    monkeypatch.setattr(tasks.verify_targets, "delay", lambda ids: queued.append(ids))
    live = [provisioned_target(), provisioned_target(status=TargetStatus.FAILED), provisioned_target()]
    provisioned_target(status=TargetStatus.CLOSED)
    provisioned_target(ready_at=clock.now() + dt.timedelta(hours=1))
    approved_target()  # pending

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.reverify_live_targets.apply().get() == 3

    ids = sorted(t.pk for t in live)
    assert queued == [ids[:2], ids[2:]]


@pytest.mark.django_db
def test_reverification_provisions_again_a_live_target_without_a_probe_key(
    monkeypatch, django_capture_on_commit_callbacks
):
    """A target provisioned before probe keys existed gets one (R17), then its verification."""
    from dropcopy_admin import tasks
    from dropcopy_admin.models import KeyPair

    verified, provisioned = [], []
    monkeypatch.setattr(tasks.verify_targets, "delay", lambda ids: verified.append(ids))
    monkeypatch.setattr(tasks.provision_target, "delay", lambda target_id: provisioned.append(target_id))
    keyed = provisioned_target()
    old = provisioned_target()
    KeyPair.objects.filter(target=old, is_probe=True).delete()

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.reverify_live_targets.apply().get() == 2

    assert verified == [[keyed.pk]]
    assert provisioned == [old.pk]
    target_provision(actor=ACTOR, target_id=old.pk)
    assert KeyPair.objects.filter(target=old, is_probe=True, revoked_at__isnull=True).count() == 1


def test_reverification_is_scheduled(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["reverify-live-targets"]
    assert entry["task"] == "dropcopy_admin.tasks.reverify_live_targets"


# --- API ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_account_manager_verify_answers_202_with_the_target_and_queues_the_task_on_commit(
    am_api, monkeypatch, django_capture_on_commit_callbacks
):
    from dropcopy_admin import tasks

    queued = []
    monkeypatch.setattr(tasks.verify_targets, "delay", lambda ids: queued.append(ids))
    target = provisioned_target()

    with django_capture_on_commit_callbacks(execute=True):
        response = am_api.post(f"/api/v1/targets/{target.pk}/verify/", {}, format="json")

    assert response.status_code == 202, response.content
    assert response.json()["id"] == target.pk
    assert response.json()["status"] == "provisioned"
    assert queued == [[target.pk]]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "phrase"),
    [
        ({"ready_at": WEDNESDAY + dt.timedelta(hours=1)}, "not ready"),
        ({"status": TargetStatus.CLOSED}, "closed"),
        ({"status": TargetStatus.PENDING}, "not provisioned"),
    ],
)
def test_verify_of_a_target_not_ready_closed_or_pending_is_invalid_transition(
    am_api, frozen, changes, phrase, django_capture_on_commit_callbacks
):
    target = provisioned_target(**changes)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = am_api.post(f"/api/v1/targets/{target.pk}/verify/", {}, format="json")

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "invalid_transition"
    assert phrase in response.json()["detail"]
    assert queued == []


@pytest.mark.django_db
def test_verify_is_for_account_managers_and_invisible_targets_are_404(api_for, clearing_api, finance_api):
    target = provisioned_target()
    own_client = factories.UserFactory(role=Role.CLIENT, entity=target.entity)
    other_client = factories.UserFactory(role=Role.CLIENT, entity=factories.EntityFactory())
    url = f"/api/v1/targets/{target.pk}/verify/"

    assert api_for(own_client).post(url, {}, format="json").json()["code"] == "permission_denied"
    assert api_for(own_client).post(url, {}, format="json").status_code == 403
    for api in (api_for(other_client), clearing_api, finance_api):
        response = api.post(url, {}, format="json")
        assert (response.status_code, response.json()["code"]) == (404, "not_found")


def _record_checks(target, count: int) -> None:
    ConnectivityCheck.objects.bulk_create(
        ConnectivityCheck(
            target=target,
            ip="127.10.0.1",
            role=AddressRole.PRIMARY if index % 2 else AddressRole.BACKUP,
            outcome="ok" if index % 3 else "failed",
            stage=None if index % 3 else "logon",
            rtt_ms=None if not index % 3 else 1.5 + index,
            checked_at=WEDNESDAY + dt.timedelta(minutes=index),
            detail="" if index % 3 else "logged out: Bad logon signature (1402)",
        )
        for index in range(count)
    )


@pytest.mark.django_db
def test_checks_are_listed_newest_first_for_the_account_manager_and_the_targets_client(am_api, api_for):
    target = provisioned_target()
    _record_checks(target, 5)
    own_client = factories.UserFactory(role=Role.CLIENT, entity=target.entity)

    for api in (am_api, api_for(own_client)):
        response = api.get(f"/api/v1/targets/{target.pk}/checks/")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["count"] == 5
        times = [row["checked_at"] for row in body["results"]]
        assert times == sorted(times, reverse=True)
        newest = body["results"][0]
        assert set(newest) == {
            "id",
            "ip",
            "role",
            "market_segment",
            "outcome",
            "stage",
            "rtt_ms",
            "checked_at",
            "detail",
        }
        assert newest["checked_at"] == "2026-11-25T15:04:00Z"
        failed = next(row for row in body["results"] if row["outcome"] == "failed")
        assert failed["stage"] == "logon" and failed["rtt_ms"] is None


@pytest.mark.django_db
def test_checks_of_an_invisible_target_are_404(api_for, clearing_api, finance_api):
    target = provisioned_target()
    other_client = factories.UserFactory(role=Role.CLIENT, entity=factories.EntityFactory())
    for api in (api_for(other_client), clearing_api, finance_api):
        response = api.get(f"/api/v1/targets/{target.pk}/checks/")
        assert (response.status_code, response.json()["code"]) == (404, "not_found")


@pytest.mark.django_db
def test_checks_list_costs_constant_queries(am_api, django_assert_max_num_queries):
    target = provisioned_target()
    _record_checks(target, 3)
    with CaptureQueriesContext(connection) as few:
        am_api.get(f"/api/v1/targets/{target.pk}/checks/")
    _record_checks(target, 60)
    with django_assert_max_num_queries(len(few)):
        response = am_api.get(f"/api/v1/targets/{target.pk}/checks/")
    assert response.json()["count"] == 63


# --- admin ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_verify_now_queues_ready_targets_and_says_which_were_refused(
    client, account_manager, monkeypatch, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    from dropcopy_admin import tasks

    queued = []
    monkeypatch.setattr(tasks.verify_targets, "delay", lambda ids: queued.append(ids))
    ready = provisioned_target()
    closed = provisioned_target(status=TargetStatus.CLOSED)
    client.force_login(account_manager)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:dropcopy_admin_targetsession_changelist"),
            {"action": "verify_targets", "_selected_action": [ready.pk, closed.pk]},
            follow=True,
        )

    shown = [str(message) for message in response.context["messages"]]
    assert f"Verification queued for 1 target(s): {ready.target_comp_id}." in shown
    assert any(closed.target_comp_id in message and "closed" in message for message in shown)
    assert queued == [[ready.pk]]


@pytest.mark.django_db
def test_admin_target_page_shows_the_latest_check_per_address(client, account_manager):
    from django.urls import reverse

    target = provisioned_target()
    _record_checks(target, 4)  # all on 127.10.0.1: the newest (minute 3) is shown
    client.force_login(account_manager)

    response = client.get(reverse("admin:dropcopy_admin_targetsession_change", args=[target.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("<tr><td>127.10.0.1</td>") == 1
    assert "<td>failed at Logon</td><td></td>" in page, "the newest of the address: minute 3, a failed logon"

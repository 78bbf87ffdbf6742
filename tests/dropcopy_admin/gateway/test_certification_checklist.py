"""The AutoCert+ certification checklist (R9): on a live AutoCert+ target the gateway records each of
the five checks the client's application shows, once, and nothing that is not shown; probes never
count, a decided certification records nothing, and regular targets are left as they are."""

import datetime as dt

import pytest
from django.core.management import call_command

from dropcopy_admin import clock
from dropcopy_admin.choices import CertificationCheckName as Check
from dropcopy_admin.choices import CertificationStatus, TargetStatus, TemporaryKind
from dropcopy_admin.fix.messages import Message, build_logout
from dropcopy_admin.gateway import store
from dropcopy_admin.models import AuditEvent, SequenceStream, TargetSession
from entitlements.models import Certification, CertificationCheck
from entitlements.services.checklist import certification_check_record

from .certification_support import (
    advance,
    autocert_certification,
    cert_logged_on,
    drain,
    gap_in,
    passed_names,
    serve_certification,
    settle,
    sync,
    wait_passed,
    wait_read,
)
from .conftest import REAL_DB
from .test_feed import collect, wait_picked_up
from .test_resend import seed_sent


@pytest.fixture
def certification(frozen) -> Certification:
    return autocert_certification()


@pytest.fixture
def cert_served(certification):
    return serve_certification(certification)


@pytest.fixture
def cert_gateway(cert_served, start_gateway):
    return start_gateway()


def heartbeats(client, spacings: list[float], gateway=None) -> None:
    """A plain Heartbeat now, then one after each of ``spacings`` seconds of the product clock; each
    read by the gateway (``gateway``: a client session's) before the clock moves on."""

    def read() -> None:
        if gateway is None:
            settle()
        else:
            wait_read(gateway, client)

    client.heartbeat()
    read()
    for spacing in spacings:
        advance(spacing)
        client.heartbeat()
        read()


# --- the service ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_check_is_recorded_once_and_only_while_the_certification_is_requested_and_its_target_live(
    certification,
):
    at = clock.now()
    target_id = certification.target_id

    assert certification_check_record(target_id=target_id, name=Check.HEARTBEATS, at=at, detail="first")
    assert not certification_check_record(
        target_id=target_id, name=Check.HEARTBEATS, at=at + dt.timedelta(minutes=1), detail="again"
    )
    assert not certification_check_record(target_id=target_id, name="unknown", at=at)

    check = CertificationCheck.objects.get(certification=certification, name=Check.HEARTBEATS)
    assert (check.passed_at, check.detail) == (at, "first")
    (event,) = AuditEvent.objects.filter(object_type="certificationcheck", object_id=check.pk, action="pass_check")
    assert (event.actor, event.action, event.before["passed_at"]) == ("system:gateway", "pass_check", None)

    expired = at + dt.timedelta(days=14)
    assert not certification_check_record(target_id=target_id, name=Check.TEST_REQUEST, at=expired)
    TargetSession.objects.filter(pk=target_id).update(status=TargetStatus.CLOSED)
    assert not certification_check_record(target_id=target_id, name=Check.TEST_REQUEST, at=at)
    TargetSession.objects.filter(pk=target_id).update(status=TargetStatus.PROVISIONED, temporary=None)
    assert not certification_check_record(target_id=target_id, name=Check.TEST_REQUEST, at=at)
    TargetSession.objects.filter(pk=target_id).update(temporary=TemporaryKind.AUTOCERT)
    Certification.objects.filter(pk=certification.pk).update(status=CertificationStatus.FAILED, decided_at=at)
    assert not certification_check_record(target_id=target_id, name=Check.TEST_REQUEST, at=at)
    assert passed_names(certification) == {Check.HEARTBEATS}


# --- signed_logon ---------------------------------------------------------------------------


@REAL_DB
def test_a_signed_logon_counts_and_a_refused_one_does_not(certification, cert_served, cert_gateway):
    refused = cert_served.client()
    refused.logon(key=cert_served.key, secret=cert_served.probe_secret)  # a bad signature
    assert refused.wait_closed()[-1].msg_type == "5"
    settle()
    assert passed_names(certification) == set()

    client = cert_logged_on(cert_served)

    times = wait_passed(certification, Check.SIGNED_LOGON)
    assert times[Check.SIGNED_LOGON] == clock.now()
    sync(client)
    assert passed_names(certification) == {Check.SIGNED_LOGON, Check.TEST_REQUEST}


@REAL_DB
def test_probe_logons_never_count(certification, cert_served, cert_gateway):
    probe = cert_served.client()
    probe.sender_sub_id = "PROBE"
    probe.logon(key=cert_served.probe_key, secret=cert_served.probe_secret, heartbeat=10)
    assert probe.receive().msg_type == "A"
    probe.test_request("PROBE-1")
    assert probe.receive().get_str(112) == "PROBE-1"  # no TestRequest of the checklist came first
    heartbeats(probe, [10, 10, 10])
    probe.send(build_logout(probe.header()))
    probe.wait_closed()
    again = cert_served.client()
    again.sender_sub_id = "PROBE"
    again.logon(key=cert_served.probe_key, secret=cert_served.probe_secret, seq=1)
    assert again.receive().msg_type == "A"

    settle()
    assert passed_names(certification) == set()


# --- heartbeats -----------------------------------------------------------------------------


@REAL_DB
def test_three_heartbeats_within_20_percent_of_the_interval_count(certification, cert_served, cert_gateway):
    client = cert_logged_on(cert_served, heartbeat=10)
    heartbeats(client, [9], cert_gateway)
    sync(client)
    assert Check.HEARTBEATS not in passed_names(certification)  # two are not three

    heartbeats(client, [8.5, 11.5], cert_gateway)  # the TestRequest of the sync restarted the count

    times = wait_passed(certification, Check.HEARTBEATS)
    assert times[Check.HEARTBEATS] == clock.now()


@REAL_DB
def test_heartbeats_off_by_30_percent_do_not_count(certification, cert_served, cert_gateway):
    client = cert_logged_on(cert_served, heartbeat=10)

    heartbeats(client, [13, 13, 13, 7, 7, 7, 10], cert_gateway)  # each off by 30%, then a run of two
    client.heartbeat("TEST-ANSWER")  # with 112: not a plain Heartbeat, restarts the count
    wait_read(cert_gateway, client)
    for _ in range(2):
        advance(10)
        client.heartbeat()
        wait_read(cert_gateway, client)

    sync(client)
    assert Check.HEARTBEATS not in passed_names(certification)


# --- test_request ---------------------------------------------------------------------------


@REAL_DB
def test_a_test_request_answered_with_the_wrong_id_does_not_count_and_with_its_id_does(
    certification, cert_served, cert_gateway
):
    client = cert_logged_on(cert_served, heartbeat=5, answer=False)
    client.heartbeat("NOT-THE-ID")
    sync(client)
    assert passed_names(certification) == {Check.SIGNED_LOGON}

    advance(5)  # silent for an interval: the gateway asks again
    test_request = client.receive_type("1")
    client.heartbeat(test_request.get_str(112))

    wait_passed(certification, Check.TEST_REQUEST)


# --- resend_recovery ------------------------------------------------------------------------


def until_gap(client, rounds: int = 8) -> tuple[int, list]:
    """Move the clock a second at a time (the feed sends one envelope a second) until a gap shows."""
    seen: list = []
    for _ in range(rounds):
        advance(1)
        seen += drain(client, 0.4)
        gap = gap_in(seen)
        if gap is not None:
            return gap, seen
    raise AssertionError(f"no gap in {[m.seq_num for m in seen]}")


@REAL_DB
def test_a_gap_after_an_envelope_recovered_by_a_resend_request_counts(certification, cert_served, cert_gateway):
    client = cert_logged_on(cert_served)

    gap, seen = until_gap(client)

    assert [m.msg_type for m in seen if m.seq_num in (gap - 1, gap + 1)] == ["n", "n"]
    [(_, stored_type, stored_raw, _)] = store.stored_messages(
        target_id=cert_served.target.pk, market_segment=None, begin=gap, end=gap
    )
    assert stored_type == "n"
    client.resend_request(gap, gap)
    resent = client.receive_type("n")
    assert (resent.seq_num, resent.get_str(43)) == (gap, "Y")
    assert resent.get(213) == Message.parse(stored_raw).get(213)
    sync(client, "AFTER-RESEND")  # the next message after the resend, in sequence

    times = wait_passed(certification, Check.RESEND_RECOVERY)
    assert times[Check.RESEND_RECOVERY] == clock.now()
    assert f"Gap at {gap}" in CertificationCheck.objects.get(certification=certification, name="resend_recovery").detail


@REAL_DB
def test_a_refused_resend_request_of_2500_messages_does_not_count(certification, cert_served, cert_gateway):
    seed_sent(cert_served, 2600, sent_at=clock.now() - dt.timedelta(hours=1))
    client = cert_logged_on(cert_served)
    gap, _ = until_gap(client)
    assert gap > 2600

    client.resend_request(gap - 2499, gap)
    reject = client.receive_type("3")
    assert "2500 messages" in reject.get_str(58)
    client.resend_request(gap - 5, gap - 4)  # accepted, but the gap is not in it
    assert client.receive_type("j").get_str(43) == "Y"
    client.receive_type("j")
    sync(client)
    assert Check.RESEND_RECOVERY not in passed_names(certification)

    client.resend_request(gap, gap)
    assert client.receive_type("n").seq_num == gap
    client.heartbeat()

    wait_passed(certification, Check.RESEND_RECOVERY)


@REAL_DB
def test_a_client_that_logs_out_after_the_resend_has_not_recovered(certification, cert_served, cert_gateway):
    client = cert_logged_on(cert_served)
    gap, _ = until_gap(client)
    client.resend_request(gap, gap)
    assert client.receive_type("n").seq_num == gap

    client.send(build_logout(client.header()))  # its next message: a Logout
    client.wait_closed()

    settle()
    assert Check.RESEND_RECOVERY not in passed_names(certification)


# --- midweek_logon --------------------------------------------------------------------------


def log_out(client) -> None:
    client.send(build_logout(client.header()))
    client.wait_closed()


@REAL_DB
def test_a_logout_with_789_then_a_logon_with_that_number_counts(certification, cert_served, cert_gateway):
    log_out(cert_logged_on(cert_served))

    low = cert_served.client()
    low.logon(key=cert_served.key, secret=cert_served.secret, seq=1)
    (logout,) = low.wait_closed()
    expected = logout.get_int(789)
    beyond = cert_logged_on(cert_served, seq=expected + 5)  # accepted, but not the number 789 gave
    sync(beyond)
    assert Check.MIDWEEK_LOGON not in passed_names(certification)
    log_out(beyond)

    low = cert_served.client()
    low.logon(key=cert_served.key, secret=cert_served.secret, seq=2)
    (logout,) = low.wait_closed()
    expected = logout.get_int(789)
    cert_logged_on(cert_served, seq=expected)

    wait_passed(certification, Check.MIDWEEK_LOGON)


@REAL_DB
def test_the_789_survives_a_gateway_restart_between_the_logout_and_the_next_logon(
    certification, cert_served, cert_gateway, start_gateway
):
    log_out(cert_logged_on(cert_served))
    low = cert_served.client()
    low.logon(key=cert_served.key, secret=cert_served.secret, seq=1)
    (logout,) = low.wait_closed()
    expected = logout.get_int(789)

    cert_gateway.stop()
    stream = SequenceStream.objects.get(target=cert_served.target)
    assert stream.midweek_expected_seq_num == expected
    start_gateway()
    cert_logged_on(cert_served, seq=expected)

    times = wait_passed(certification, Check.MIDWEEK_LOGON)
    assert times[Check.MIDWEEK_LOGON] == clock.now()
    stream.refresh_from_db()
    assert stream.midweek_expected_seq_num is None  # spent by the logon


# --- what records nothing -------------------------------------------------------------------


@REAL_DB
def test_a_decided_certification_records_nothing_and_gets_no_checklist(certification, cert_served, cert_gateway):
    Certification.objects.filter(pk=certification.pk).update(status=CertificationStatus.FAILED, decided_at=clock.now())
    client = cert_served.client()
    client.logon(key=cert_served.key, secret=cert_served.secret, heartbeat=10)
    assert client.receive().msg_type == "A"
    client.test_request("FIRST")
    assert client.receive().get_str(112) == "FIRST"  # no TestRequest of the checklist
    heartbeats(client, [10, 10], cert_gateway)
    seen = []
    for _ in range(4):
        advance(1)
        seen += drain(client, 0.3)
    assert gap_in(seen) is None
    log_out(client)
    low = cert_served.client()
    low.logon(key=cert_served.key, secret=cert_served.secret, seq=1)
    expected = low.wait_closed()[0].get_int(789)
    sync(cert_logged_on_plain(cert_served, seq=expected))

    assert passed_names(certification) == set()


def cert_logged_on_plain(served, *, seq: int):
    client = served.client()
    client.logon(key=served.key, secret=served.secret, seq=seq)
    assert client.receive().msg_type == "A"
    return client


@REAL_DB
def test_a_regular_target_gets_no_gap_and_no_extra_test_request(served, gateway):
    call_command("feed_synthetic", target=served.target.pk, count=6, seed=3, rate=1)
    client = served.logged_on(heartbeat=30)
    client.test_request("FIRST")
    assert client.receive().get_str(112) == "FIRST"  # the Logon is not followed by a TestRequest
    wait_picked_up(gateway)

    envelopes = collect(client, 6)

    seqs = [m.seq_num for m in envelopes]
    assert seqs == list(range(seqs[0], seqs[0] + 6))
    assert not Certification.objects.exists()

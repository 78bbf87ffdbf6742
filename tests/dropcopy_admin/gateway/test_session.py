"""A logged-on session (R14, R19): heartbeats, TestRequests, order entry refused, bad input survived,
sequence numbers persisted and the mid-week logon flow."""

import datetime as dt
import time

from dropcopy_admin import clock
from dropcopy_admin.fix.messages import build_logout
from dropcopy_admin.models import SentMessage, SequenceStream

from .client import reframe
from .conftest import REAL_DB


def advance(seconds: float) -> None:
    clock.advance(dt.timedelta(seconds=seconds))


@REAL_DB
def test_client_test_request_is_answered_with_a_heartbeat_carrying_its_id(served, gateway):
    client = served.logged_on()

    client.test_request("ABC-1")

    heartbeat = client.receive()
    assert heartbeat.msg_type == "0" and heartbeat.get_str(112) == "ABC-1"


@REAL_DB
def test_gateway_heartbeats_after_an_interval_of_its_own_silence(served, gateway):
    client = served.logged_on(heartbeat=5)
    advance(3)
    client.heartbeat()
    time.sleep(0.3)  # let the gateway read it (real time, not the product clock)

    advance(2)

    heartbeat = client.receive()
    assert heartbeat.msg_type == "0" and heartbeat.get(112) is None


@REAL_DB
def test_silent_client_gets_a_test_request_and_answering_it_keeps_the_session(served, gateway):
    client = served.logged_on(heartbeat=5)

    advance(5)
    test_request = client.receive_type("1")
    client.heartbeat(test_request.get_str(112))
    time.sleep(0.3)
    advance(4)
    client.test_request("AFTER")

    assert client.receive_type("0").get_str(112) == "AFTER"


@REAL_DB
def test_unanswered_test_request_closes_the_session_after_one_more_interval(served, gateway):
    client = served.logged_on(heartbeat=5)
    advance(5)
    assert client.receive_type("1").get_str(112)

    advance(5)

    messages = client.wait_closed()
    assert messages[-1].msg_type == "5"
    assert "TestRequest" in messages[-1].get_str(58)


@REAL_DB
def test_order_entry_is_refused_with_a_business_message_reject_and_the_session_kept(served, gateway):
    client = served.logged_on()
    order = reframe(build_logout(client.header()), b"")  # a valid frame to rewrite as an order
    order = order.replace(b"35=5\x01", b"35=D\x01")
    client.send(reframe(order, b"11=ORDER1\x0155=ES\x0154=1\x0138=1\x01"))

    reject = client.receive()

    assert reject.msg_type == "j"
    assert reject.get_int(380) == 3 and reject.get_str(372) == "D"
    client.test_request("KEPT")
    assert client.receive_type("0").get_str(112) == "KEPT"


@REAL_DB
def test_bad_checksum_non_ascii_and_garbage_get_rejects_and_the_session_stays(served, gateway):
    client = served.logged_on()
    good = reframe(build_logout(client.header()), b"").replace(b"35=5\x01", b"35=0\x01")
    bad_checksum = reframe(good, b"")[:-4] + b"999\x01"
    client.send(bad_checksum)
    non_ascii = reframe(good.replace(b"\x0134=2\x01", b"\x0134=3\x01"), "58=caf\u00e9\x01".encode())
    client.send(non_ascii)
    client.send_raw(b"GARBAGE\x01\xff\xfe")

    rejects = [client.receive(), client.receive(), client.receive()]

    assert [m.msg_type for m in rejects] == ["3", "3", "3"]
    assert "ASCII" in rejects[1].get_str(58)
    client.test_request("ALIVE")
    assert client.receive_type("0").get_str(112) == "ALIVE"


@REAL_DB
def test_every_sent_message_is_stored_and_the_stream_persisted(served, gateway):
    client = served.logged_on()
    client.test_request("T1")
    client.receive_type("0")

    stored = list(
        SentMessage.objects.filter(target=served.target).order_by("seq_num").values_list("seq_num", "msg_type")
    )
    assert stored == [(1, "A"), (2, "0")]
    stream = SequenceStream.objects.get(target=served.target, market_segment=None)
    assert (stream.next_outgoing, stream.next_incoming) == (3, 3)


@REAL_DB
def test_mid_week_logon_with_a_low_seq_num_gets_a_logout_with_789_then_logs_on(served, gateway):
    client = served.logged_on()
    client.heartbeat()
    client.send(build_logout(client.header()))
    client.wait_closed()

    again = served.client()
    again.logon(key=served.key, secret=served.secret, seq=1)
    (logout,) = again.wait_closed()
    assert logout.msg_type == "5" and logout.get_int(789) == 4

    third = served.client()
    third.logon(key=served.key, secret=served.secret, seq=4)
    answer = third.receive()
    assert answer.msg_type == "A"
    assert answer.get_int(34) == logout.get_int(34) + 1


@REAL_DB
def test_sequence_numbers_survive_a_gateway_restart(served, gateway, start_gateway):
    client = served.logged_on()
    client.test_request("BEFORE")
    client.receive_type("0")
    client.close()
    gateway.stop()

    start_gateway()
    again = served.client()
    again.logon(key=served.key, secret=served.secret, seq=1)
    (logout,) = again.wait_closed()
    assert logout.get_int(789) == 3
    third = served.client()
    third.logon(key=served.key, secret=served.secret, seq=3)
    assert third.receive().get_int(34) == logout.get_int(34) + 1


@REAL_DB
def test_streams_reset_at_the_weekly_start_up(served, gateway):
    client = served.logged_on()
    client.heartbeat()
    client.send(build_logout(client.header()))
    client.wait_closed()

    clock.freeze(dt.datetime(2026, 11, 29, 23, 0, 1, tzinfo=dt.UTC))  # Sunday 17:00:01 Chicago
    fresh = served.client()
    fresh.logon(key=served.key, secret=served.secret, seq=1)

    assert fresh.receive().get_int(34) == 1

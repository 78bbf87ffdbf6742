"""Logon checks of the gateway (R16, R19): every refusal is a Logout saying why."""

import datetime as dt
import socket
import struct

import pytest

from dropcopy_admin import clock
from dropcopy_admin.models import TargetSession
from dropcopy_admin.models.keys import KeyPair
from dropcopy_admin.services.keys import key_pair_revoke

from .conftest import ACTOR, REAL_DB


def assert_logged_out(client, phrase: str) -> None:
    messages = client.wait_closed()
    assert [m.msg_type for m in messages] == ["5"], messages
    assert phrase in messages[0].get_str(58)


@REAL_DB
def test_good_logon_is_answered_with_a_logon_echoing_the_clients_fields(served, gateway):
    client = served.client()
    client.logon(key=served.key, secret=served.secret, heartbeat=30)

    answer = client.receive()

    assert answer.msg_type == "A"
    assert answer.get_int(34) == 1
    assert answer.get_str(56) == served.target.target_comp_id
    assert (answer.get_int(108), answer.get_str(1603), answer.get_str(1604), answer.get_str(1605)) == (
        30,
        "TESTCLIENT",
        "1.0",
        "ACME",
    )


@REAL_DB
@pytest.mark.parametrize(
    ("case", "phrase"),
    [
        ("bad_signature", "signature"),
        ("unknown_key", "Access Key ID"),
        ("wrong_sender_comp_id", "SenderCompID (49)"),
        ("wrong_target_sub_id", "TargetSubID (57)"),
        ("heartbeat_too_short", "HeartBtInt (108)"),
        ("heartbeat_too_long", "HeartBtInt (108)"),
        ("orig_sending_time", "OrigSendingTime (122)"),
    ],
)
def test_bad_logon_gets_a_logout_saying_why(served, gateway, case, phrase):
    key, secret, heartbeat, extra = served.key, served.secret, 30, b""
    client = served.client()
    if case == "bad_signature":
        secret = served.probe_secret
    elif case == "unknown_key":
        key = "ZZZZZZZZZZZZZZZZZZZZ"
    elif case == "wrong_sender_comp_id":
        client.sender_comp_id = "WRONG1N"
    elif case == "wrong_target_sub_id":
        client.target_sub_id = "07"
    elif case == "heartbeat_too_short":
        heartbeat = 4
    elif case == "heartbeat_too_long":
        heartbeat = 61
    elif case == "orig_sending_time":
        extra = b"122=20261125-14:00:00.000\x01"

    client.logon(key=key, secret=secret, heartbeat=heartbeat, extra=extra)

    assert_logged_out(client, phrase)


@REAL_DB
def test_revoked_key_cannot_log_on(served, gateway):
    key_pair_revoke(actor=ACTOR, key_pair=KeyPair.objects.get(access_key_id=served.key))
    gateway.wait_refreshed()
    client = served.client()

    client.logon(key=served.key, secret=served.secret)

    assert_logged_out(client, "revoked")


@REAL_DB
def test_logon_before_ready_at_is_refused(served, gateway):
    TargetSession.objects.filter(pk=served.target.pk).update(ready_at=clock.now() + dt.timedelta(hours=1))
    gateway.wait_refreshed()
    gateway.wait_refreshed()
    client = served.client()

    client.logon(key=served.key, secret=served.secret)

    assert_logged_out(client, "not ready")


@REAL_DB
def test_second_logon_while_a_client_session_is_active_is_refused(served, gateway):
    first = served.logged_on()
    second = served.client()

    second.logon(key=served.key, secret=served.secret, seq=1)

    assert_logged_out(second, "already active")
    first.test_request("STILL-UP")
    assert first.receive_type("0").get_str(112) == "STILL-UP"


def close_connection(client, how: str) -> None:
    """Close the client's socket: ``closed`` sends its end of stream, ``reset`` aborts it (RST)."""
    if how == "reset":
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()


@REAL_DB
@pytest.mark.parametrize("how", ["closed", "reset"])
def test_a_client_that_drops_its_connection_right_after_its_logon_can_log_on_again_at_once(served, gateway, how):
    for attempt in range(5):  # the gateway is still busy with the first logon when the second arrives
        first = served.client()
        first.logon(key=served.key, secret=served.secret, seq=1 + attempt * 10)
        close_connection(first, how)
        second = served.client()
        second.logon(key=served.key, secret=served.secret, seq=5 + attempt * 10)

        answer = second.receive()

        assert answer.msg_type == "A", answer.get_str(58)
        second.test_request(f"UP-{attempt}")
        assert second.receive_type("0").get_str(112) == f"UP-{attempt}"
        second.close()


@REAL_DB
@pytest.mark.parametrize("how", ["closed", "reset"])
def test_a_client_that_drops_its_logged_on_session_can_log_on_again_at_once(served, gateway, how):
    first = served.logged_on()
    first.test_request("BUSY")  # the gateway is answering it when the connection goes
    close_connection(first, how)
    second = served.client()

    second.logon(key=served.key, secret=served.secret, seq=10)

    assert second.receive().msg_type == "A"
    second.test_request("SECOND")
    assert second.receive_type("0").get_str(112) == "SECOND"


@REAL_DB
def test_of_two_open_connections_logging_on_at_once_one_is_answered_and_the_other_refused(served, gateway):
    first, second = served.client(), served.client()

    first.logon(key=served.key, secret=served.secret, seq=1)
    second.logon(key=served.key, secret=served.secret, seq=1)

    answers = {}
    for name, client in (("first", first), ("second", second)):
        answer = client.receive()
        answers[name] = answer.msg_type
        if answer.msg_type == "5":
            assert "already active" in answer.get_str(58)
    assert sorted(answers.values()) == ["5", "A"], answers
    (accepted,) = [client for name, client in (("first", first), ("second", second)) if answers[name] == "A"]
    accepted.test_request("KEPT")
    assert accepted.receive_type("0").get_str(112) == "KEPT"


@REAL_DB
def test_probe_logon_is_kept_apart_from_the_client_session(served, gateway):
    client = served.logged_on()
    client.heartbeat()
    probe = served.client(sender_sub_id="PROBE")

    probe.logon(key=served.probe_key, secret=served.probe_secret)
    answer = probe.receive()
    probe.test_request("PING")

    assert answer.msg_type == "A" and answer.get_int(34) == 1
    heartbeat = probe.receive_type("0")
    assert heartbeat.get_str(112) == "PING" and heartbeat.get_int(34) == 2
    client.test_request("CLIENT")
    assert client.receive_type("0").get_int(34) == 2


@REAL_DB
def test_client_key_does_not_authenticate_a_probe_logon(served, gateway):
    probe = served.client(sender_sub_id="PROBE")

    probe.logon(key=served.key, secret=served.secret)

    assert_logged_out(probe, "Access Key ID")


@REAL_DB
def test_revoked_key_logs_its_session_out_within_five_seconds(served, gateway):
    client = served.logged_on()

    key_pair_revoke(actor=ACTOR, key_pair=KeyPair.objects.get(access_key_id=served.key))

    messages = client.wait_closed(timeout=5)
    assert messages[-1].msg_type == "5"
    assert "revoked" in messages[-1].get_str(58)

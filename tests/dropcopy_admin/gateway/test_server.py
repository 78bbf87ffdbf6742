"""The acceptor (R19): follows targets within 2 seconds of their commit, filters addresses,
survives any input and shuts down gracefully."""

import contextlib
import socket
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dropcopy_admin.choices import GatewayType, TargetStatus
from dropcopy_admin.fix.messages import build_heartbeat, build_logon
from dropcopy_admin.models import TargetAddress, TargetSession

from .conftest import REAL_DB, serve_target


def connectable(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=1):
            return True
    except OSError:
        return False


def eventually(condition, seconds: float = 2.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@REAL_DB
def test_listens_on_every_address_of_a_live_target(served, gateway):
    for ip, port in TargetAddress.objects.filter(target=served.target).values_list("ip", "port"):
        assert connectable(ip, port)


@REAL_DB
def test_new_target_is_served_and_closed_target_dropped_within_two_seconds(frozen, start_gateway):
    start_gateway()
    served = serve_target()

    assert eventually(lambda: connectable(served.ip, served.port))
    client = served.logged_on()

    TargetSession.objects.filter(pk=served.target.pk).update(status=TargetStatus.CLOSED)
    TargetAddress.objects.filter(target=served.target).update(released=True)

    assert client.wait_closed(timeout=2)[-1].msg_type == "5"
    assert eventually(lambda: not connectable(served.ip, served.port))


@REAL_DB
def test_msgw_target_listens_per_segment_and_checks_the_segment_sub_id(frozen, start_gateway):
    served = serve_target(GatewayType.MSGW)
    start_gateway()
    assert served.sub_id == f"{TargetAddress.objects.filter(ip=served.ip).get().market_segment:02d}"

    client = served.logged_on()
    client.test_request("SEG")

    assert client.receive_type("0").get_str(112) == "SEG"
    wrong = served.client(sub_id="G")
    wrong.logon(key=served.key, secret=served.secret)
    assert "TargetSubID" in wrong.wait_closed()[-1].get_str(58)


@REAL_DB
def test_only_and_exclude_filter_the_addresses(served, start_gateway):
    backup = TargetAddress.objects.filter(target=served.target).exclude(ip=served.ip).get()
    only = start_gateway(only=frozenset({served.ip}))
    assert connectable(served.ip, served.port) and not connectable(backup.ip, backup.port)
    only.stop()

    start_gateway(exclude=frozenset({served.ip}))

    assert not connectable(served.ip, served.port) and connectable(backup.ip, backup.port)


@REAL_DB
def test_graceful_shutdown_logs_sessions_out(served, gateway):
    client = served.logged_on()

    gateway.stop()

    messages = client.wait_closed()
    assert messages[-1].msg_type == "5" and "shutting down" in messages[-1].get_str(58)
    assert not connectable(served.ip, served.port)


def _mutations():
    """Random bytes, bytes inserted into a valid frame, or one byte of it replaced."""
    return st.one_of(
        st.binary(min_size=1, max_size=300),
        st.tuples(st.integers(0, 200), st.binary(min_size=1, max_size=4)),
        st.tuples(st.integers(0, 200), st.integers(0, 255)),
    )


@REAL_DB
def test_random_and_mutated_frames_never_stop_the_gateway(served, gateway):
    template = build_heartbeat(served.client().header(seq=2))
    logon = build_logon(
        served.client().header(seq=1),
        heartbeat_interval=30,
        access_key_id=served.key,
        secret_key=served.secret,
        application_system_name="FUZZ",
        trading_system_version="1",
        application_system_vendor="X",
    )

    sent = []

    def mutate(mutation) -> bytes:
        if isinstance(mutation, bytes):
            return mutation
        at = mutation[0] % len(template)
        if isinstance(mutation[1], bytes):
            return template[:at] + mutation[1] + template[at:]
        return template[:at] + bytes([mutation[1]]) + template[at + 1 :]

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(mutations=st.lists(_mutations(), min_size=10, max_size=60), logged_on=st.booleans())
    def send_junk(mutations, logged_on):
        frames = [mutate(mutation) for mutation in mutations]
        sent.extend(frames)
        with socket.create_connection((served.ip, served.port), timeout=2) as sock:
            if logged_on:
                sock.sendall(logon)
            with contextlib.suppress(OSError):  # the gateway may log a stranger out and close
                sock.sendall(b"".join(frames))
            sock.settimeout(0.05)
            with contextlib.suppress(OSError):
                sock.recv(65536)

    send_junk()
    assert len(sent) >= 1000  # thousands of random and mutated frames, in batches per connection

    time.sleep(0.3)
    client = served.client()
    client.logon(key=served.key, secret=served.secret, seq=1_000_000)
    assert client.receive().msg_type == "A"

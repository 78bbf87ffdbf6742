"""The gateway's Prometheus figures (issue 16): logons refused by reason, heartbeats missed, messages
and bytes each way — counted by the sessions as they serve, scraped over HTTP from the process."""

import datetime as dt
import socket
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from dropcopy_admin import clock
from dropcopy_admin.metrics import gateway_metrics_serve

from .conftest import REAL_DB


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    """Every sample served on ``port``: (sample name, its labels sorted) → value."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def settled(port: int, expected: dict[tuple[str, tuple], float], timeout: float = 5) -> dict:
    """Scrape until every ``expected`` sample has its value (the gateway counts on its own thread)."""
    deadline = time.monotonic() + timeout
    while True:
        samples = scrape(port)
        if all(samples.get(key) == value for key, value in expected.items()) or time.monotonic() > deadline:
            return samples
        time.sleep(0.05)


@REAL_DB
def test_refused_logons_are_counted_by_reason(served, gateway):
    port = free_port()
    server = gateway_metrics_serve(gateway.gateway, port=port)
    try:
        unknown = served.client()
        unknown.logon(key="UNKNOWNKEY0000000000", secret=served.secret)
        assert unknown.receive().msg_type == "5"
        forged = served.client()
        forged.logon(key=served.key, secret=served.probe_secret)  # signed with another key's secret
        assert forged.receive().msg_type == "5"
        wrong_sub = served.client(sub_id="XX")
        wrong_sub.logon(key=served.key, secret=served.secret)
        assert wrong_sub.receive().msg_type == "5"
        bad_heartbeat = served.client()
        bad_heartbeat.logon(key=served.key, secret=served.secret, heartbeat=2)
        assert bad_heartbeat.receive().msg_type == "5"

        samples = settled(
            port,
            {
                ("dropcopy_gateway_logons_refused_total", (("reason", "unknown_key"),)): 1,
                ("dropcopy_gateway_logons_refused_total", (("reason", "bad_signature"),)): 1,
                ("dropcopy_gateway_logons_refused_total", (("reason", "wrong_target_sub_id"),)): 1,
                ("dropcopy_gateway_logons_refused_total", (("reason", "bad_heartbeat_interval"),)): 1,
            },
        )
    finally:
        server.shutdown()

    refused = {labels[0][1]: value for (name, labels), value in samples.items() if "logons_refused_total" in name}
    assert refused == {"unknown_key": 1, "bad_signature": 1, "wrong_target_sub_id": 1, "bad_heartbeat_interval": 1}
    assert samples[("dropcopy_gateway_refused_logons_today", ())] == 4
    # the refusals were written, unsequenced Logouts
    assert samples[("dropcopy_gateway_messages_sent_total", (("msg_type", "5"),))] == 4


@REAL_DB
def test_messages_bytes_and_missed_heartbeats_are_counted(served, gateway):
    port = free_port()
    server = gateway_metrics_serve(gateway.gateway, port=port)
    try:
        client = served.logged_on(heartbeat=5)
        client.test_request("ONE")
        assert client.receive_type("0").get_str(112) == "ONE"
        time.sleep(0.3)  # the gateway has read everything before the product clock moves
        clock.advance(dt.timedelta(seconds=5))  # the client stays silent a whole interval
        test_request = client.receive_type("1")
        client.heartbeat(test_request.get_str(112))

        samples = settled(
            port,
            {
                ("dropcopy_gateway_heartbeats_missed_total", ()): 1,
                ("dropcopy_gateway_messages_received_total", ()): 3,
            },
        )
    finally:
        server.shutdown()
        client.close()

    assert samples[("dropcopy_gateway_heartbeats_missed_total", ())] == 1
    assert samples[("dropcopy_gateway_sessions_timed_out_total", ())] == 0
    sent = {labels[0][1]: value for (name, labels), value in samples.items() if "messages_sent_total" in name}
    # the Logon answered, the Heartbeat answering "ONE", the TestRequest, and the gateway's own
    # Heartbeat for its silence during the same interval
    assert sent["A"] == 1 and sent["1"] == 1 and sent["0"] >= 1
    assert samples[("dropcopy_gateway_messages_received_total", ())] == 3  # Logon, TestRequest, Heartbeat
    assert samples[("dropcopy_gateway_bytes_received_total", ())] > 3 * 50
    assert samples[("dropcopy_gateway_bytes_sent_total", ())] > sum(sent.values()) * 50
    assert samples[("dropcopy_gateway_sessions_logged_on", ())] == 1

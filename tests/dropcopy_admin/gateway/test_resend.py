"""ResendRequest policy (R15): size limit, the resend window, one resend at a time; answers carry
PossDupFlag and OrigSendingTime, session messages become gap fills."""

import datetime as dt

from dropcopy_admin import clock
from dropcopy_admin.fix.messages import build_resend_request
from dropcopy_admin.fix.messages.encoding import encode_message
from dropcopy_admin.gateway.store import weekly_start_up
from dropcopy_admin.models import SentMessage, SequenceStream

from .conftest import REAL_DB


def seed_sent(served, count: int, *, sent_at: dt.datetime) -> None:
    """``count`` stored business messages (35=j) numbered 1..count, sent at ``sent_at``: stored as the
    gateway stores a burst, several to a row (seven here, so a resend starts and ends inside rows)."""
    frames = [
        encode_message(
            "j",
            [(49, "CME"), (50, "G"), (56, served.target.target_comp_id), (34, seq), (52, sent_at)],
            [(45, seq), (380, 3), (58, f"stored {seq}")],
        )
        for seq in range(1, count + 1)
    ]
    rows = [
        SentMessage(
            target=served.target,
            market_segment=None,
            seq_num=first + 1,
            count=len(frames[first : first + 7]),
            msg_type="j",
            raw=b"".join(frames[first : first + 7]),
            sent_at=sent_at,
        )
        for first in range(0, count, 7)
    ]
    SentMessage.objects.bulk_create(rows, batch_size=1000)
    SequenceStream.objects.create(
        target=served.target,
        market_segment=None,
        next_incoming=1,
        next_outgoing=count + 1,
        reset_at=weekly_start_up(clock.now()),
    )


@REAL_DB
def test_resend_of_2499_messages_is_answered_and_2500_refused(served, gateway):
    seed_sent(served, 2600, sent_at=clock.now() - dt.timedelta(hours=1))
    client = served.logged_on()

    client.resend_request(1, 2499)
    resent = [client.receive() for _ in range(2499)]

    assert [m.get_int(34) for m in resent] == list(range(1, 2500))
    assert all(m.get_str(43) == "Y" and m.get_str(122) and m.msg_type == "j" for m in resent)
    client.resend_request(1, 2500)
    reject = client.receive()
    assert reject.msg_type == "3" and "2500 messages" in reject.get_str(58)
    client.resend_request(103, 0)  # up to the latest sent (2602, the Reject just sent): 2500
    assert "2500 messages" in client.receive().get_str(58)
    client.test_request("KEPT")
    assert client.receive_type("0").get_str(112) == "KEPT"


@REAL_DB
def test_session_messages_are_gap_filled(served, gateway):
    client = served.logged_on()
    client.test_request("A")
    client.receive_type("0")

    client.resend_request(1, 0)

    gap_fill = client.receive()
    assert gap_fill.msg_type == "4"
    assert (gap_fill.get_int(34), gap_fill.get_str(123), gap_fill.get_int(36), gap_fill.get_str(43)) == (1, "Y", 3, "Y")


@REAL_DB
def test_resend_reaching_before_the_window_is_refused(served, gateway):
    seed_sent(served, 10, sent_at=clock.now() - dt.timedelta(hours=1))
    client = served.logged_on()
    client.resend_request(1, 5)
    assert [client.receive().get_int(34) for _ in range(5)] == [1, 2, 3, 4, 5]

    clock.advance(dt.timedelta(hours=47, minutes=30))  # Friday 14:30: message 1 is now 48 h 30 min old
    client.resend_request(1, 5)

    reject = client.receive_type("3")
    assert "resend window" in reject.get_str(58)


@REAL_DB
def test_second_resend_while_one_is_answered_is_refused(served, gateway):
    seed_sent(served, 2000, sent_at=clock.now() - dt.timedelta(hours=1))
    client = served.logged_on()
    first = build_resend_request(client.header(), begin_seq_no=1, end_seq_no=2000)
    second = build_resend_request(client.header(seq=client.seq + 1), begin_seq_no=1, end_seq_no=10)
    client.send_raw(first + second)  # both in one segment: the second arrives while the first is answered
    client.seq += 2

    messages = [client.receive() for _ in range(2001)]

    rejects = [m for m in messages if m.msg_type == "3"]
    assert len(rejects) == 1 and "still being answered" in rejects[0].get_str(58)
    assert [m.get_int(34) for m in messages if m.msg_type == "j"] == list(range(1, 2001))

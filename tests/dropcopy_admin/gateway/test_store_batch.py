"""The gateway's write batch (R15): sent messages copied in, every stream of the batch moved by one
statement — segments told apart, NULL (CGW) included, and a number given as None kept."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dropcopy_admin.fix.messages.encoding import encode_message
from dropcopy_admin.gateway.store import sent_batch_write, stored_messages
from dropcopy_admin.models import SentMessage, SequenceStream

from .conftest import WEDNESDAY


@pytest.mark.django_db
def test_a_batch_stores_its_messages_and_moves_each_stream_alone(served):
    target = served.target
    for segment in (None, 30, 31, 32):
        SequenceStream.objects.create(
            target=target, market_segment=segment, next_incoming=5, next_outgoing=7, reset_at=WEDNESDAY
        )
    sent = [
        (target.pk, None, 7, 1, "n", b"8=FIX.4.2\x01seven", WEDNESDAY),
        (target.pk, 30, 7, 1, "0", b"eight", WEDNESDAY),
    ]

    sent_batch_write(
        sent=sent,
        streams={(target.pk, None): (8, 6), (target.pk, 30): (8, None), (target.pk, 31): (None, 9)},
    )

    numbers = dict(SequenceStream.objects.filter(target=target).values_list("market_segment", "next_outgoing"))
    incoming = dict(SequenceStream.objects.filter(target=target).values_list("market_segment", "next_incoming"))
    assert numbers == {None: 8, 30: 8, 31: 7, 32: 7}
    assert incoming == {None: 6, 30: 5, 31: 9, 32: 5}
    stored = list(
        SentMessage.objects.order_by("market_segment").values_list("market_segment", "seq_num", "msg_type", "raw")
    )
    assert [(segment, seq, kind, bytes(raw)) for segment, seq, kind, raw in stored] == [
        (30, 7, "0", b"eight"),
        (None, 7, "n", b"8=FIX.4.2\x01seven"),
    ]


@pytest.mark.django_db
def test_a_burst_is_stored_as_one_row_and_read_back_one_message_at_a_time(served):
    target = served.target
    SequenceStream.objects.create(
        target=target, market_segment=None, next_incoming=1, next_outgoing=1, reset_at=WEDNESDAY
    )
    frames = [encode_message("j", [(34, seq)], [(58, f"message {seq}")]) for seq in range(1, 13)]
    single = [(target.pk, None, 1, 1, "j", frames[0], WEDNESDAY)]
    burst = [(target.pk, None, 2, 10, "j", b"".join(frames[1:11]), WEDNESDAY)]
    after = [(target.pk, None, 12, 1, "0", frames[11], WEDNESDAY)]

    sent_batch_write(sent=single + burst + after, streams={})

    assert SentMessage.objects.count() == 3
    middle = stored_messages(target_id=target.pk, market_segment=None, begin=4, end=12)
    assert [(seq, kind, raw) for seq, kind, raw, _ in middle] == [
        *((seq, "j", frames[seq - 1]) for seq in range(4, 12)),
        (12, "0", frames[11]),
    ]
    assert [seq for seq, *_ in stored_messages(target_id=target.pk, market_segment=None, begin=1, end=2)] == [1, 2]
    assert stored_messages(target_id=target.pk, market_segment=30, begin=1, end=12) == []


@pytest.mark.django_db
def test_a_stored_row_that_does_not_hold_its_messages_is_refused(served):
    frame = encode_message("j", [(34, 1)], [(58, "one")])
    sent_batch_write(sent=[(served.target.pk, None, 1, 2, "j", frame, WEDNESDAY)], streams={})

    with pytest.raises(ValueError, match="does not hold 2 whole messages"):
        stored_messages(target_id=served.target.pk, market_segment=None, begin=1, end=2)


@pytest.mark.django_db
def test_frames_are_stored_byte_for_byte_through_binary_copy(served):
    awkward = b"8=FIX.4.2\x01\x00\\x00\\\\ \xff\t\n"

    with CaptureQueriesContext(connection) as queries:
        sent_batch_write(sent=[(served.target.pk, None, 1, 1, "n", awkward, WEDNESDAY)], streams={})

    assert any(query["sql"].endswith("(FORMAT BINARY)") for query in queries)
    assert bytes(SentMessage.objects.get().raw) == awkward
    assert SentMessage.objects.get().sent_at == WEDNESDAY


@pytest.mark.django_db
def test_a_batch_of_one_cgw_stream_moving_only_its_incoming_number(served):
    SequenceStream.objects.create(
        target=served.target, market_segment=None, next_incoming=5, next_outgoing=7, reset_at=WEDNESDAY
    )

    sent_batch_write(sent=[], streams={(served.target.pk, None): (None, 9)})  # arrays of NULLs only, but one

    assert SequenceStream.objects.values_list("next_outgoing", "next_incoming").get() == (7, 9)

"""The gateway's write batch (R15): sent messages copied in, every stream of the batch moved by one
statement — segments told apart, NULL (CGW) included, and a number given as None kept."""

import pytest

from dropcopy_admin.gateway.store import sent_batch_write
from dropcopy_admin.models import SentMessage, SequenceStream

from .conftest import WEDNESDAY


@pytest.mark.django_db
def test_a_batch_stores_its_messages_and_moves_each_stream_alone(served):
    target = served.target
    for segment in (None, 30, 31, 32):
        SequenceStream.objects.create(
            target=target, market_segment=segment, next_incoming=5, next_outgoing=7, reset_at=WEDNESDAY
        )
    sent = [(target.pk, None, 7, "n", b"8=FIX.4.2\x01seven", WEDNESDAY), (target.pk, 30, 7, "0", b"eight", WEDNESDAY)]

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

"""The synthetic feed (R19): seeded, rate-limited drop copy messages in 35=n envelopes, on the
target's own stream (stored, resendable), honouring message filters; automatic for temporary
targets, on demand through ``manage.py feed_synthetic``. The product clock paces it: the tests
move the clock, never sleep for the rate."""

import datetime as dt
import time

import pytest
from django.core.management import CommandError, call_command

from dropcopy_admin import clock
from dropcopy_admin.choices import TargetStatus, TemporaryKind
from dropcopy_admin.fix.framing import check_frame
from dropcopy_admin.fix.messages import ExecKind, Message, envelope_payload
from dropcopy_admin.gateway import store
from dropcopy_admin.gateway.feed import RateLimit
from dropcopy_admin.gateway.synthetic import ALL_KINDS, SyntheticFeed, kinds_for
from dropcopy_admin.models import DropCopyGroup, FeedRequest, TargetSession

from .conftest import REAL_DB, WEDNESDAY

ACK_STATUSES = {"0", "4", "5", "C"}
CORRECTION_STATUS = "G"


def inner_of(envelope: Message) -> Message:
    """The inner execution report of a 35=n envelope, checked to be one valid frame of its own."""
    inner = envelope_payload(envelope)
    assert check_frame(inner) is None, inner
    message = Message.parse(inner)
    assert message.msg_type == "8"
    return message


def collect(client, count: int, *, step: dt.timedelta = dt.timedelta(seconds=1), rounds: int = 30) -> list[Message]:
    """Move the clock by ``step`` until ``count`` envelopes arrived (other messages skipped)."""
    received: list[Message] = []
    for _ in range(rounds):
        clock.advance(step)
        deadline = time.monotonic() + 1.0
        while len(received) < count and time.monotonic() < deadline:
            try:
                message = client.receive(timeout=0.3)
            except TimeoutError:
                continue
            if message.msg_type == "n":
                received.append(message)
        if len(received) >= count:
            return received
    raise AssertionError(f"{len(received)} of {count} envelopes arrived")


def envelopes_within(client, seconds: float) -> list[Message]:
    """The envelopes that arrive within ``seconds`` of real time, the clock standing still."""
    received = []
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            message = client.receive(timeout=remaining)
        except TimeoutError:
            break
        if message.msg_type == "n":
            received.append(message)
    return received


def wait_picked_up(gateway) -> None:
    """Two registry reads: the session's feed is attached and pending requests are handed to it."""
    gateway.wait_refreshed()
    gateway.wait_refreshed()


# --- the generator --------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_messages_and_another_seed_others():
    def run(seed: int) -> list[bytes]:
        feed = SyntheticFeed(seed=seed, kinds=ALL_KINDS, sources=("ABC123N", "DEF456N"))
        return [feed.next_message(WEDNESDAY) for _ in range(200)]

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_the_feed_makes_every_kind_and_each_inner_message_is_a_valid_frame():
    feed = SyntheticFeed(seed=1, kinds=ALL_KINDS, sources=("ABC123N",))
    messages = [Message.parse(feed.next_message(WEDNESDAY)) for _ in range(500)]

    assert {m.get_str(39) for m in messages} == {"0", "1", "2", "4", "5", "C", "H", "G"}
    assert [m.seq_num for m in messages] == list(range(1, 501))
    assert all(check_frame(m.raw) is None for m in messages)


def test_corrections_and_busts_refer_to_an_earlier_fill():
    feed = SyntheticFeed(seed=3, kinds=ALL_KINDS, sources=("ABC123N",))
    fills: set[str] = set()
    for _ in range(500):
        message = Message.parse(feed.next_message(WEDNESDAY))
        status = message.get_str(39)
        if status in ("1", "2"):
            fills.add(message.get_str(17))
        elif status in ("H", "G"):
            assert message.get_str(19) in fills
            fills.discard(message.get_str(19))  # a trade is busted or corrected once


def test_filters_without_acks_give_no_acks_and_always_fills_and_busts():
    kinds = kinds_for(message_filters=["fills", "trade_busts"], temporary=False)
    assert kinds == {ExecKind.PARTIAL_FILL, ExecKind.FILL, ExecKind.TRADE_CANCEL}
    assert kinds_for(message_filters=[], temporary=False) == kinds
    assert kinds_for(message_filters=["fills"], temporary=True) == ALL_KINDS
    assert ExecKind.NEW in kinds_for(message_filters=["acks"], temporary=False)


def test_the_rate_limit_allows_rate_per_second_and_bursts_of_one_second():
    limit = RateLimit(rate=5, last=WEDNESDAY)
    assert limit.take(WEDNESDAY, 100) == 0
    assert limit.take(WEDNESDAY + dt.timedelta(seconds=1), 100) == 5
    assert limit.take(WEDNESDAY + dt.timedelta(seconds=1.2), 100) == 1
    assert limit.take(WEDNESDAY + dt.timedelta(seconds=60), 100) == 5  # no backlog beyond one second


# --- the command ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_feed_synthetic_refuses_an_unknown_or_closed_target_and_a_bad_count(served):
    with pytest.raises(CommandError, match="no target"):
        call_command("feed_synthetic", target=served.target.pk + 1000, count=5)
    with pytest.raises(CommandError, match="count"):
        call_command("feed_synthetic", target=served.target.pk, count=0)
    with pytest.raises(CommandError, match="rate"):
        call_command("feed_synthetic", target=served.target.pk, count=1, rate=0)
    TargetSession.objects.filter(pk=served.target.pk).update(status=TargetStatus.CLOSED)
    with pytest.raises(CommandError, match="closed"):
        call_command("feed_synthetic", target=served.target.pk, count=5)
    assert not FeedRequest.objects.exists()


# --- over real sockets ----------------------------------------------------------------------


@REAL_DB
def test_feed_synthetic_delivers_n_envelopes_in_sequence_once_the_target_logs_on(served, gateway):
    call_command("feed_synthetic", target=served.target.pk, count=12, seed=7, rate=4)
    client = served.logged_on()
    wait_picked_up(gateway)

    envelopes = collect(client, 12)

    seqs = [m.seq_num for m in envelopes]
    assert seqs == list(range(seqs[0], seqs[0] + 12))
    for envelope in envelopes:
        assert envelope.get_int(212) == len(envelope.get(213))
        assert envelope.get_str(56) == served.target.target_comp_id
    inner = [inner_of(m) for m in envelopes]
    assert len({m.get_str(17) for m in inner}) == 12  # every ExecID new
    stored = store.stored_messages(target_id=served.target.pk, market_segment=None, begin=seqs[0], end=seqs[-1])
    assert [(seq, kind) for seq, kind, _, _ in stored] == [(seq, "n") for seq in seqs]
    assert [raw for _, _, raw, _ in stored] == [m.raw for m in envelopes]
    gateway.wait_refreshed()
    request = FeedRequest.objects.get()
    assert request.sent == 12 and request.completed_at is not None
    assert envelopes_within(client, 0.5) == []  # nothing beyond N


@REAL_DB
def test_the_same_seed_delivers_the_same_inner_reports(served, gateway):
    client = served.logged_on()
    call_command("feed_synthetic", target=served.target.pk, count=5, seed=42, rate=10)
    wait_picked_up(gateway)
    first = [inner_of(m) for m in collect(client, 5)]
    call_command("feed_synthetic", target=served.target.pk, count=5, seed=42, rate=10)
    wait_picked_up(gateway)
    second = [inner_of(m) for m in collect(client, 5)]

    def business(message: Message) -> list:
        return [(tag, value) for tag, value in message if tag not in (9, 10, 52, 60)]

    assert [business(m) for m in first] == [business(m) for m in second]


@REAL_DB
def test_the_rate_limit_holds_on_the_product_clock(served, gateway):
    client = served.logged_on()
    call_command("feed_synthetic", target=served.target.pk, count=20, seed=1, rate=5)
    wait_picked_up(gateway)

    assert envelopes_within(client, 0.5) == []  # the clock stands still: nothing is due
    clock.advance(dt.timedelta(seconds=1))
    assert len(envelopes_within(client, 0.8)) == 5
    clock.advance(dt.timedelta(seconds=0.4))
    assert len(envelopes_within(client, 0.8)) == 2
    clock.advance(dt.timedelta(seconds=60))  # a jump of the clock sends one second's worth only
    assert len(envelopes_within(client, 0.8)) == 5


@REAL_DB
def test_a_group_with_only_fills_and_busts_gets_no_acks(served, gateway):
    DropCopyGroup.objects.filter(pk=served.target.group_id).update(message_filters=["fills", "trade_busts"])
    client = served.logged_on()
    call_command("feed_synthetic", target=served.target.pk, count=40, seed=5, rate=40)
    wait_picked_up(gateway)

    statuses = {inner_of(m).get_str(39) for m in collect(client, 40)}

    assert statuses <= {"1", "2", "H"}
    assert "1" in statuses or "2" in statuses
    assert not statuses & (ACK_STATUSES | {CORRECTION_STATUS})


@REAL_DB
def test_a_resend_request_returns_fed_messages_with_possdup(served, gateway):
    client = served.logged_on()
    call_command("feed_synthetic", target=served.target.pk, count=6, seed=9, rate=10)
    wait_picked_up(gateway)
    originals = collect(client, 6)
    first, last = originals[0].seq_num, originals[-1].seq_num

    client.resend_request(first, last)
    resent = [client.receive_type("n") for _ in range(6)]

    assert [m.seq_num for m in resent] == [m.seq_num for m in originals]
    for original, again in zip(originals, resent, strict=True):
        assert again.get_str(43) == "Y"
        assert again.get_str(122) == original.get_str(52)
        assert again.get(213) == original.get(213)
        inner_of(again)


@REAL_DB
def test_a_temporary_target_gets_the_automatic_feed_of_every_kind(served, start_gateway, settings):
    settings.DROPCOPY = {**settings.DROPCOPY, "SYNTHETIC_FEED_RATE_PER_SECOND": 20.0}
    DropCopyGroup.objects.filter(pk=served.target.group_id).update(message_filters=["fills", "trade_busts"])
    TargetSession.objects.filter(pk=served.target.pk).update(temporary=TemporaryKind.NEW_RELEASE)
    gateway = start_gateway()
    client = served.logged_on()
    wait_picked_up(gateway)

    assert envelopes_within(client, 0.3) == []
    envelopes = collect(client, 100)

    statuses = {inner_of(m).get_str(39) for m in envelopes}
    assert statuses & ACK_STATUSES  # all kinds for a temporary target, whatever the filters
    assert not FeedRequest.objects.exists()


@REAL_DB
def test_a_target_that_is_not_temporary_gets_no_automatic_feed(served, gateway):
    client = served.logged_on()
    wait_picked_up(gateway)

    clock.advance(dt.timedelta(seconds=5))

    assert envelopes_within(client, 0.6) == []

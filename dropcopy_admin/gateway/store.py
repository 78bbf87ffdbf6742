"""Persistence of the gateway's sequence streams and sent messages (R15, R19).

Every function here is synchronous ORM code; the gateway calls them on its one database thread
(``Database``), so the event loop never blocks on a query and every write happens in order.
"""

import asyncio
import datetime as dt
import functools
import logging
import operator
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import DatabaseError, connection, transaction

from dropcopy_admin.choices import MembershipStatus, TargetStatus
from dropcopy_admin.copying import copy_rows, execute_with_arrays
from dropcopy_admin.fix.framing import FrameReader
from dropcopy_admin.models import FeedRequest, Membership, SentMessage, SequenceStream, TargetSession

from .synthetic import kinds_for

log = logging.getLogger(__name__)

CHICAGO = ZoneInfo("America/Chicago")
RESEND_WINDOW = dt.timedelta(hours=48)


def weekly_start_up(at: dt.datetime) -> dt.datetime:
    """The last weekly start-up at or before ``at``: Sunday 17:00 America/Chicago, as UTC."""
    local = at.astimezone(CHICAGO)
    days_back = (local.weekday() - 6) % 7  # Monday is 0, Sunday 6
    sunday = (local - dt.timedelta(days=days_back)).date()
    start = dt.datetime.combine(sunday, dt.time(17), tzinfo=CHICAGO)
    if start > local:
        start = dt.datetime.combine(sunday - dt.timedelta(days=7), dt.time(17), tzinfo=CHICAGO)
    return start.astimezone(dt.UTC)


def resend_floor(at: dt.datetime) -> dt.datetime:
    """The oldest send time a resend may reach: max(last weekly start-up, ``at`` − 48 h)."""
    return max(weekly_start_up(at), at - RESEND_WINDOW)


@dataclass
class StreamState:
    """A stream's numbers as the gateway holds them while a session uses it."""

    target_id: int
    market_segment: int | None
    next_incoming: int
    next_outgoing: int
    reset_at: dt.datetime
    midweek_expected_seq_num: int | None = None  # the 789 sent on the AutoCert+ mid-week logon (R9)


def stream_load(*, target_id: int, market_segment: int | None, at: dt.datetime) -> StreamState:
    """The stream of a target (and segment), created on first use, reset when a start-up has passed."""
    start_up = weekly_start_up(at)
    with transaction.atomic():
        stream, _ = SequenceStream.objects.select_for_update().get_or_create(
            target_id=target_id,
            market_segment=market_segment,
            defaults={"reset_at": start_up},
        )
        if stream.reset_at < start_up:
            stream.next_incoming = 1
            stream.next_outgoing = 1
            stream.reset_at = start_up
            stream.save(update_fields=["next_incoming", "next_outgoing", "reset_at"])
    return StreamState(
        target_id=target_id,
        market_segment=market_segment,
        next_incoming=stream.next_incoming,
        next_outgoing=stream.next_outgoing,
        reset_at=stream.reset_at,
        midweek_expected_seq_num=stream.midweek_expected_seq_num,
    )


def stream_remember_midweek_expected(*, state: StreamState, seq_num: int) -> None:
    """Keep the 789 sent in a Logout on the stream until its next successful client logon (R9)."""
    SequenceStream.objects.filter(target_id=state.target_id, market_segment=state.market_segment).update(
        midweek_expected_seq_num=seq_num
    )


def stream_forget_midweek_expected(*, state: StreamState) -> None:
    SequenceStream.objects.filter(target_id=state.target_id, market_segment=state.market_segment).update(
        midweek_expected_seq_num=None
    )


def messages_for_resend(*, state: StreamState, begin: int, end: int) -> list[tuple[int, str, bytes, dt.datetime]]:
    """(seq, type, raw, sent_at) of the stream's messages ``begin``..``end`` since its reset, in order."""
    return stored_messages(
        target_id=state.target_id, market_segment=state.market_segment, begin=begin, end=end, since=state.reset_at
    )


def stored_messages(
    *, target_id: int, market_segment: int | None, begin: int, end: int, since: dt.datetime | None = None
) -> list[tuple[int, str, bytes, dt.datetime]]:
    """(seq, type, raw, sent_at) of a stream's stored messages ``begin``..``end`` (sent ``since``, if
    given), one per message, in order: rows of several messages are split into their frames."""
    rows = SentMessage.objects.filter(
        target_id=target_id,
        market_segment=market_segment,
        seq_num__gte=begin - (MESSAGES_PER_ROW - 1),  # a row starting this early can still reach begin
        seq_num__lte=end,
    )
    if since is not None:
        rows = rows.filter(sent_at__gte=since)
    messages = []
    for first, count, kind, raw, sent_at in rows.order_by("seq_num", "id").values_list(
        "seq_num", "count", "msg_type", "raw", "sent_at"
    ):
        for seq, frame in enumerate(_frames(bytes(raw), count), start=first):
            if begin <= seq <= end:
                messages.append((seq, kind, frame, sent_at))
    messages.sort(key=operator.itemgetter(0))  # stable: a number stored twice keeps its rows' order
    return messages


def _frames(raw: bytes, count: int) -> list[bytes]:
    """The ``count`` whole frames stored one after the other in ``raw``."""
    if count == 1:
        return [raw]
    frames = FrameReader().feed(raw)
    if len(frames) != count or not all(isinstance(frame, bytes) for frame in frames):
        raise ValueError(f"a stored row does not hold {count} whole messages")
    return frames


# --- the synthetic feed (R19) -----------------------------------------------------------------

FALLBACK_SOURCE = "SYNTH0N"  # a target with no approved source session yet still gets a feed


@dataclass(frozen=True)
class FeedProfile:
    """What a target's synthetic feed needs: which kinds it receives and its source sessions."""

    target_id: int
    temporary: bool
    kinds: frozenset
    sources: tuple[str, ...]


@dataclass(frozen=True)
class PendingFeedRequest:
    id: int
    target_id: int
    count: int
    sent: int
    seed: int
    rate_per_second: float


def feed_profile_load(*, target_id: int) -> FeedProfile:
    """The target's feed: all kinds when temporary, else its group's message filters (R19)."""
    target = TargetSession.objects.select_related("group").get(pk=target_id)
    filters = target.group.message_filters if target.group is not None else []
    sources = tuple(
        Membership.objects.filter(target_id=target_id, status=MembershipStatus.APPROVED)
        .order_by("source_session__sender_comp_id")
        .values_list("source_session__sender_comp_id", flat=True)
        .distinct()
    )
    temporary = target.temporary is not None
    return FeedProfile(
        target_id=target_id,
        temporary=temporary,
        kinds=kinds_for(message_filters=filters or [], temporary=temporary),
        sources=sources or (FALLBACK_SOURCE,),
    )


def feed_requests_pending(*, target_ids: list[int], exclude_ids: list[int]) -> list[PendingFeedRequest]:
    """The unfinished feed requests of ``target_ids``, oldest first, except those already running."""
    rows = (
        FeedRequest.objects.filter(completed_at__isnull=True)
        .order_by("id")
        .values_list("id", "target_id", "count", "sent", "seed", "rate_per_second")
    )  # few rows are ever pending: filtered here rather than sending every target id each read
    targets, running = set(target_ids), set(exclude_ids)
    return [PendingFeedRequest(*row) for row in rows if row[1] in targets and row[0] not in running]


def feed_request_progress(*, request_id: int, sent: int, completed_at: dt.datetime | None) -> None:
    FeedRequest.objects.filter(pk=request_id).update(sent=sent, completed_at=completed_at)


class FeedRequestRefused(Exception):
    pass


def feed_request_queue(
    *, target_id: int, count: int, seed: int, rate_per_second: float, at: dt.datetime
) -> FeedRequest:
    """Queue ``count`` synthetic messages for the target's logged-on client session (R19)."""
    if count < 1:
        raise FeedRequestRefused("--count must be at least 1")
    if not rate_per_second > 0:
        raise FeedRequestRefused("--rate must be above 0")
    target = TargetSession.objects.filter(pk=target_id).first()
    if target is None:
        raise FeedRequestRefused(f"no target {target_id}")
    if target.status == TargetStatus.CLOSED:
        raise FeedRequestRefused(f"target {target_id} is closed")
    return FeedRequest.objects.create(
        target=target, count=count, seed=seed, rate_per_second=rate_per_second, requested_at=at
    )


# Consecutive sent messages waiting in the write batch, one ``SentMessage`` row, in the order of
# ``SENT_COLUMNS``: (target id, market segment, first seq num, how many, MsgType, their frames, sent at).
SentRow = tuple[int, int | None, int, int, str, bytes, dt.datetime]
SENT_COLUMNS = ("target", "market_segment", "seq_num", "count", "msg_type", "raw", "sent_at")
MESSAGES_PER_ROW = 50
"""At most this many messages in one stored row (a feed burst is 50); bounds the resend's look back."""


def sent_batch_write(
    *, sent: list[SentRow], streams: dict[tuple[int, int | None], tuple[int | None, int | None]]
) -> None:
    """Store a batch of sent messages and move their streams (next outgoing, next incoming), in one transaction.

    ``streams`` maps (target id, market segment) to (next outgoing, next incoming); ``None`` keeps a number.
    """
    with transaction.atomic():
        if sent:
            _copy_sent(sent)
        if streams:
            _move_streams(streams)


def _move_streams(streams: dict[tuple[int, int | None], tuple[int | None, int | None]]) -> None:
    """One UPDATE for every stream of the batch (its rows given as arrays), not one per stream."""
    table = connection.ops.quote_name(SequenceStream._meta.db_table)
    keys, numbers = list(streams), list(streams.values())
    execute_with_arrays(
        f"UPDATE {table} AS stream SET next_outgoing = COALESCE(moved.outgoing, stream.next_outgoing),"
        " next_incoming = COALESCE(moved.incoming, stream.next_incoming)"
        " FROM unnest(%s::bigint[], %s::integer[], %s::integer[], %s::integer[])"
        " AS moved(target_id, market_segment, outgoing, incoming)"
        " WHERE stream.target_id = moved.target_id"
        " AND stream.market_segment IS NOT DISTINCT FROM moved.market_segment",
        [
            [target_id for target_id, _ in keys],
            [segment for _, segment in keys],
            [outgoing for outgoing, _ in numbers],
            [incoming for _, incoming in numbers],
        ],
    )


def _copy_sent(sent: list[SentRow]) -> None:
    """Insert the batch's ``SentMessage`` rows through PostgreSQL's ``COPY`` (psycopg 3), in the
    binary format: their frames are sent as they are, not in hexadecimal."""
    copy_rows(SentMessage, SENT_COLUMNS, sent, binary=True)


class Database:
    """One dedicated thread for every ORM call of the gateway: queries in order, one connection.

    Sent messages and stream numbers are not written one by one: ``record_sent`` and
    ``save_incoming`` add them to a batch that is written in one transaction every
    ``BATCH_SECONDS`` (or at ``BATCH_MESSAGES`` messages), and always before any other call runs, so
    every later read (a resend) sees them and every write stays in order.
    """

    BATCH_SECONDS = 0.05
    BATCH_MESSAGES = 1000

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gateway-db")
        self._sent: list[SentRow] = []
        self._sent_messages = 0  # in the rows of ``_sent``
        self._streams: dict[tuple[int, int | None], tuple[int | None, int | None]] = {}
        self._flush_timer: asyncio.TimerHandle | None = None
        self._committed: asyncio.Future | None = None  # done when the batch being filled is written

    async def run(self, function: Callable, /, **kwargs):
        self._flush_batch()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(self._call, function, kwargs))

    def submit(self, function: Callable, /, **kwargs) -> None:
        """Queue a write without waiting for it (still in order with every other call)."""
        self._flush_batch()
        self._executor.submit(self._call, function, kwargs)

    # --- the write batch (called on the event loop) ---------------------------------------------

    def record_sent(
        self, *, state: StreamState, seq_num: int, msg_type: str, raw: bytes, sent_at: dt.datetime, next_incoming: int
    ) -> asyncio.Future:
        """Add a sent message (and its stream's move past it) to the batch; the future is done once
        the batch is committed (await it before writing the message: stored first, R15)."""
        return self.record_sent_many(
            state=state, msg_type=msg_type, sent=[(seq_num, raw)], sent_at=sent_at, next_incoming=next_incoming
        )

    def record_sent_many(
        self,
        *,
        state: StreamState,
        msg_type: str,
        sent: list[tuple[int, bytes]],
        sent_at: dt.datetime,
        next_incoming: int,
    ) -> asyncio.Future:
        """``record_sent`` for consecutive messages of one stream: ``sent`` is (seq num, raw bytes) in
        order, stored as one row (up to ``MESSAGES_PER_ROW`` messages a row)."""
        target_id, segment = state.target_id, state.market_segment
        for start in range(0, len(sent), MESSAGES_PER_ROW):
            chunk = sent[start : start + MESSAGES_PER_ROW]
            raw = chunk[0][1] if len(chunk) == 1 else b"".join(frame for _, frame in chunk)
            self._sent.append((target_id, segment, chunk[0][0], len(chunk), msg_type, raw, sent_at))
        self._sent_messages += len(sent)
        self._streams[(target_id, segment)] = (sent[-1][0] + 1, next_incoming)
        if self._committed is None:
            self._committed = asyncio.get_running_loop().create_future()
        committed = self._committed
        self._schedule_flush()
        return committed

    def save_incoming(self, *, state: StreamState, next_incoming: int) -> None:
        """Add a stream's next incoming number to the batch."""
        key = (state.target_id, state.market_segment)
        outgoing, _ = self._streams.get(key, (None, None))
        self._streams[key] = (outgoing, next_incoming)
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if self._sent_messages >= self.BATCH_MESSAGES:
            self._flush_batch()
        elif self._flush_timer is None:
            self._flush_timer = asyncio.get_running_loop().call_later(self.BATCH_SECONDS, self._flush_batch)

    def _flush_batch(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        if not self._sent and not self._streams:
            return
        sent, streams, committed = self._sent, self._streams, self._committed
        self._sent, self._streams, self._committed, self._sent_messages = [], {}, None, 0
        written = self._executor.submit(self._call, sent_batch_write, {"sent": sent, "streams": streams})
        written.add_done_callback(_log_failed_batch)
        if committed is not None:
            asyncio.wrap_future(written).add_done_callback(functools.partial(_settle, committed))

    @staticmethod
    def _call(function: Callable, kwargs: dict):
        try:
            return function(**kwargs)
        except DatabaseError:
            connection.close()  # a broken connection is opened again by the next call
            raise

    def close(self) -> None:
        self._flush_batch()
        self._executor.submit(_close_connection).result()
        self._executor.shutdown(wait=True)


def _settle(committed: asyncio.Future, written: asyncio.Future) -> None:
    if committed.done():
        return
    if written.exception() is not None:
        committed.set_exception(written.exception())
    else:
        committed.set_result(None)


def _log_failed_batch(future) -> None:
    if future.exception() is not None:
        log.error("writing a batch of sent messages failed", exc_info=future.exception())


def _close_connection() -> None:
    connection.close()  # looked up here: ``connection`` is the calling thread's

"""Answering a session's ResendRequest (35=2, R15): the policy checks, then the replay.

A request is refused with a Reject (35=3, 372=2) saying why when its range is not numbers, asks
for messages not sent, spans ``MAX_RESEND`` messages or more, reaches before the resend window
(``store.resend_floor``) or arrives while another request of the session is still being answered.
Otherwise it is answered in its own task: stored messages are resent with PossDup
(``fix.messages.mark_as_resent``); session messages, and a probe's messages (never stored), are
covered by SequenceReset-GapFill.
"""

from collections.abc import Callable

from dropcopy_admin import clock
from dropcopy_admin.fix.messages import Message, build_acceptor_message, format_sending_time, mark_as_resent

from . import store
from .connection import Connection, SessionClosed

MAX_RESEND = 2500
GAP_FILLED_TYPES = {"0", "1", "2", "4", "5", "A"}  # session messages are gap-filled, not resent


Answered = Callable[[int, int], None]
"""Told ``begin``, ``end`` once the whole answer to an accepted ResendRequest is written."""


async def resend_request(session: Connection, request: Message, seq: int, *, answered: Answered) -> None:
    """Check the ResendRequest numbered ``seq``; refuse it, or start answering it in a task."""
    begin_text, end_text = request.get_str(7) or "", request.get_str(16) or ""
    if not begin_text.isdigit() or not end_text.isdigit() or int(begin_text) < 1:
        await refuse_resend(session, seq, "BeginSeqNo (7) and EndSeqNo (16) must be numbers, BeginSeqNo at least 1")
        return
    begin, end = int(begin_text), int(end_text)
    last_sent = session.next_outgoing - 1
    end = last_sent if end == 0 else end
    if end < begin or end > last_sent:
        await refuse_resend(session, seq, f"Asks for messages not sent: the last sent is {last_sent}")
        return
    count = end - begin + 1
    if count >= MAX_RESEND:
        await refuse_resend(session, seq, f"Asks for {count} messages; at most {MAX_RESEND - 1} per ResendRequest")
        return
    if session.resending:
        await refuse_resend(session, seq, "Another ResendRequest of this session is still being answered")
        return
    session.resending = True
    session.start_task(answer_resend(session, seq, begin, end, answered=answered))


async def refuse_resend(session: Connection, seq: int, reason: str) -> None:
    await session.send("3", [(45, seq), (372, "2"), (58, reason)])


async def answer_resend(session: Connection, request_seq: int, begin: int, end: int, *, answered: Answered) -> None:
    try:
        if session.state is None:  # a probe's messages are not stored: fill the whole range
            rows = []
        else:
            rows = await session.db.run(store.messages_for_resend, state=session.state, begin=begin, end=end)
        now = clock.now()
        floor = store.resend_floor(now)
        if session.state is not None and (
            len({row[0] for row in rows}) < end - begin + 1 or any(sent_at < floor for *_, sent_at in rows)
        ):
            await refuse_resend(
                session,
                request_seq,
                f"Asks for messages sent before {format_sending_time(floor)}, outside the resend window",
            )
            return
        await replay(session, rows, begin, end, now)
        answered(begin, end)
    except (SessionClosed, ConnectionError):
        pass
    finally:
        session.resending = False


async def replay(session: Connection, rows, begin: int, end: int, now) -> None:
    """Write ``begin``..``end`` again: stored messages marked as resent, gaps filled."""
    by_seq = {seq: (kind, raw) for seq, kind, raw, _ in rows}
    out: list[tuple[str, bytes]] = []  # (MsgType, the bytes written again)
    gap_start = None
    for seq in range(begin, end + 1):
        kind, raw = by_seq.get(seq, ("", b""))
        if not raw or kind in GAP_FILLED_TYPES:
            gap_start = seq if gap_start is None else gap_start
            continue
        if gap_start is not None:
            out.append(("4", gap_fill(session, gap_start, seq, now)))
            gap_start = None
        out.append((kind, mark_as_resent(raw, None, now)))
    if gap_start is not None:
        out.append(("4", gap_fill(session, gap_start, end + 1, now)))
    async with session.send_lock:
        for index, (kind, raw) in enumerate(out):
            session.writer.write(raw)
            session.figures.sent(kind, messages=1, size=len(raw))
            if index % 200 == 199:
                await session.writer.drain()
        await session.writer.drain()
        session.last_sent = clock.now()


def gap_fill(session: Connection, first: int, next_seq: int, now) -> bytes:
    """A SequenceReset-GapFill resent for ``first``..``next_seq`` - 1 (43=Y, 122 the time it is sent)."""
    return build_acceptor_message(
        "4", session.header(first, now), [(122, now), (123, True), (36, next_seq)], poss_dup=True
    )

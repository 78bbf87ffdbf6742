"""The AutoCert+ certification checklist (R9): what the gateway watches for on an AutoCert+ target.

A ``Checklist`` rides along with each client session (never a probe's: SenderSubID ``PROBE``
never counts) that logs on to an AutoCert+ target (``Address.autocert`` from the registry) whose
certification is ``requested``. Other targets get no checklist: no extra TestRequest, no gap. Each
check is recorded once per session at most, through the core's ``ChecklistRecords``
(``dropcopy_admin/certification_checklist.py``, answered by ``entitlements``) on the gateway's
database thread, which keeps the first time only. Times are the product clock as the gateway reads it on receipt.

The five checks, as the gateway decides them:

``signed_logon``
    A client logon that passes every R19 check on the target and is answered with a Logon.

``heartbeats``
    Three consecutive client Heartbeats (35=0 without TestReqID 112) whose two spacings, measured
    on receipt, are each within ±20% of the session's HeartBtInt (108). Any other client message
    in between (a Heartbeat answering a TestRequest included) restarts the count, and so does a
    spacing out of tolerance (that Heartbeat then starts the next run).

``test_request``
    The gateway sends a TestRequest right after the Logon of every client session on the target
    (as CME's AutoCert+ mid-week logon scenario does), and whenever the client is silent for an
    interval; the check passes when the client's next Heartbeat that carries a TestReqID carries
    the one of the gateway's latest TestRequest. A Heartbeat with another TestReqID spends it.

``resend_recovery``
    Once per session while the check has not passed: after the first ``35=n`` envelope the
    session writes, the next envelope is numbered, stored (so it can be resent) and not written,
    which leaves a one-message gap the client sees on the following message. The check passes
    when (1) the client sends a ResendRequest whose range covers the gap and that the gateway
    accepts under R15 (fewer than 2,500 messages, inside the resend window, no other resend being
    answered; a refused one counts for nothing), (2) the gateway has written its whole answer
    (the stored messages with PossDupFlag, session messages as gap fills), and (3) the client has
    *recovered*: its first message after that answer is in sequence (MsgSeqNum exactly the one the
    gateway expects, no PossDupFlag) and is not another ResendRequest, a SequenceReset, a Reject
    or a Logout — the client took the resent messages and carries on with its session. Any other
    first message ends the attempt; another accepted ResendRequest covering the gap starts it again.

``midweek_logon``
    A client logon on the target (its stream, per market segment for MSGW) whose MsgSeqNum is
    lower than expected gets the Logout with 789 (NextExpectedMsgSeqNum); a later client logon on
    the same stream with exactly that MsgSeqNum is answered with a Logon. The gateway keeps the
    789 it sent on the stream's row (``SequenceStream.midweek_expected_seq_num``) until the next
    successful client logon on that stream, so a gateway restarted in between still knows it.
"""

import logging

from django.db import DatabaseError

from dropcopy_admin.certification_checklist import ChecklistState, checklist_records
from dropcopy_admin.choices import CertificationCheckName
from dropcopy_admin.fix.messages import Message

from . import store
from .connection import Connection
from .store import Database

log = logging.getLogger(__name__)

HEARTBEAT_TOLERANCE = 0.2
HEARTBEATS_NEEDED = 3
NOT_RECOVERED_TYPES = {"2", "3", "4", "5"}

Check = CertificationCheckName


def checklist_load(*, target_id: int) -> ChecklistState | None:
    """The target's ``requested`` certification and the checks it has passed; None when there is none."""
    return checklist_records().checklist_load(target_id=target_id)


def _record(*, target_id: int, name: str, at, detail: str) -> None:
    """Record one check on the database thread; a failure is logged (nobody waits for the result)."""
    try:
        checklist_records().check_record(target_id=target_id, name=name, at=at, detail=detail)
    except DatabaseError:
        log.exception("cannot record certification check %s of target %s", name, target_id)
        raise  # the database thread drops the broken connection
    except Exception:
        log.exception("cannot record certification check %s of target %s", name, target_id)


def note_low_logon(session: Connection, expected: int) -> None:
    """A client logon on an AutoCert+ target gets the Logout with 789 ``expected`` (mid-week flow).

    The number is kept on the session's stream row, written on the gateway's database thread before
    the Logout (which is stored on the same thread before it is written).
    """
    if session.address.autocert and not session.probe and session.state is not None:
        session.state.midweek_expected_seq_num = expected
        session.db.submit(store.stream_remember_midweek_expected, state=session.state, seq_num=expected)


async def checklist_start(
    session: Connection, *, access_key_id: str, heartbeat: int, seq: int, at
) -> "Checklist | None":
    """The checklist of a client session that just passed every logon check, or None (not AutoCert+).

    The 789 kept on the session's stream is spent by this logon, whatever its target. The session
    sends the TestRequest CME sends after a Logon on AutoCert+ once it has a checklist.
    """
    if not session.address.autocert or session.probe:
        _midweek_expected_spend(session)
        return None
    state = await session.db.run(checklist_load, target_id=session.address.target_id)
    if session.closed:  # its client went before the Logon was answered: nothing spent, nothing recorded
        return None
    expected = _midweek_expected_spend(session)
    if state is None:
        return None
    checklist = Checklist(session.db, target_id=session.address.target_id, heartbeat=heartbeat, state=state)
    checklist.record(Check.SIGNED_LOGON, at, f"Logon 34={seq}, key {access_key_id}")
    if expected is not None and seq == expected:
        checklist.record(Check.MIDWEEK_LOGON, at, f"Logout with 789={expected}, then Logon 34={seq} accepted")
    return checklist


def _midweek_expected_spend(session: Connection) -> int | None:
    """The 789 kept on the session's stream, forgotten from now on; None when there is none."""
    state = session.state
    if state is None or state.midweek_expected_seq_num is None:
        return None
    expected = state.midweek_expected_seq_num
    state.midweek_expected_seq_num = None
    session.db.submit(store.stream_forget_midweek_expected, state=state)
    return expected


class Checklist:
    """The checks one client session of an AutoCert+ target may still pass (``heartbeat``: its HeartBtInt)."""

    def __init__(self, db: Database, *, target_id: int, heartbeat: int, state: ChecklistState) -> None:
        self.db = db
        self.target_id = target_id
        self.heartbeat = heartbeat
        self.passed = set(state.passed)
        self.heartbeat_run = 0
        self.last_heartbeat_at = None
        self.test_request_id: str | None = None
        self.envelope_written = False
        self.gap_seq: int | None = None
        self.gap_wanted = Check.RESEND_RECOVERY not in self.passed
        self.awaiting_recovery = False
        self.resend_range = (0, 0)

    def record(self, name: str, at, detail: str) -> None:
        if name in self.passed:
            return
        self.passed.add(name)
        self.db.submit(_record, target_id=self.target_id, name=name, at=at, detail=detail)

    # --- the gateway's side -------------------------------------------------------------------

    def test_request_sent(self, test_req_id: str) -> None:
        self.test_request_id = test_req_id

    def write_envelope(self, seq: int) -> bool:
        """Whether envelope ``seq`` goes on the wire; False once: the deliberate gap."""
        if not self.gap_wanted or self.gap_seq is not None:
            return True
        if not self.envelope_written:
            self.envelope_written = True
            return True
        self.gap_seq = seq
        return False

    def resend_answered(self, begin: int, end: int) -> None:
        """The gateway wrote its whole answer to an accepted ResendRequest for ``begin``..``end``."""
        if self.gap_seq is not None and begin <= self.gap_seq <= end:
            self.awaiting_recovery = True
            self.resend_range = (begin, end)

    # --- the client's side --------------------------------------------------------------------

    def on_message(self, message: Message, seq: int, *, in_sequence: bool, at) -> None:
        """A client message, numbered ``seq``, received at ``at`` (before the session handles it)."""
        msg_type = message.msg_type
        if self.awaiting_recovery:
            self.awaiting_recovery = False
            if in_sequence and msg_type not in NOT_RECOVERED_TYPES:
                begin, end = self.resend_range
                self.record(
                    Check.RESEND_RECOVERY,
                    at,
                    f"Gap at {self.gap_seq}; ResendRequest 7={begin} 16={end} answered; next message 34={seq} "
                    "in sequence",
                )
        if msg_type == "0" and 112 not in message:
            self._heartbeat(at)
            return
        self.heartbeat_run = 0
        self.last_heartbeat_at = None
        if msg_type == "0":
            answered = message.get_str(112)
            if self.test_request_id is not None and answered == self.test_request_id:
                self.record(Check.TEST_REQUEST, at, f"TestRequest 112={answered} answered by a Heartbeat")
            self.test_request_id = None

    def _heartbeat(self, at) -> None:
        interval = self.heartbeat
        if self.last_heartbeat_at is not None:
            spacing = (at - self.last_heartbeat_at).total_seconds()
            within = abs(spacing - interval) <= HEARTBEAT_TOLERANCE * interval
            self.heartbeat_run = self.heartbeat_run + 1 if within else 1
        else:
            self.heartbeat_run = 1
        self.last_heartbeat_at = at
        if self.heartbeat_run >= HEARTBEATS_NEEDED:
            self.record(Check.HEARTBEATS, at, f"{HEARTBEATS_NEEDED} Heartbeats within ±20% of HeartBtInt {interval} s")

"""The gateway process's own row and the addresses it serves, kept in the database (R19).

Verification (R16) runs in other processes: it reads these rows to know whether a running
gateway listens on a target's addresses yet. ``Presence`` writes only when something changed — a
listener opened or closed — plus ``last_seen_at`` every ``LAST_SEEN_EVERY``; the ORM functions run
on the gateway's database thread (``store.Database``).

The live figures the dashboard shows (``LiveFigures``) are counted in memory by the sessions — a
counter bumped per message, never a query — and written with ``last_seen_at``, in the same update.
"""

import datetime as dt
import logging
import os
import socket
from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction

from dropcopy_admin import clock
from dropcopy_admin.models.gateway_processes import GONE_AFTER, LAST_SEEN_EVERY, GatewayProcess, ServedAddress

from .store import Database

log = logging.getLogger(__name__)


class RefusalReason:
    """Why a logon was refused, as a stable label for the metrics (the Logout's text says it in words)."""

    NOT_SERVED = "not_served"
    NOT_A_LOGON = "not_a_logon"
    MALFORMED = "malformed"
    BAD_HEARTBEAT_INTERVAL = "bad_heartbeat_interval"
    WRONG_SENDER_COMP_ID = "wrong_sender_comp_id"
    WRONG_TARGET_SUB_ID = "wrong_target_sub_id"
    BAD_SEQ_NUM = "bad_seq_num"
    NOT_READY = "not_ready"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    SESSION_ACTIVE = "session_active"


@dataclass
class LiveFigures:
    """What the gateway counts as it serves, bumped in memory by the sessions (never a query).

    Today's (UTC) ResendRequests and refused logons and the last Heartbeat received are published
    with the process row by ``Presence`` (the dashboard); the running totals since the process
    started (refusals by reason, heartbeats missed, messages and bytes each way) are read by the
    Prometheus collector when it is scraped.
    """

    day: dt.date = field(default_factory=lambda: clock.now().date())
    resend_requests: int = 0
    refused_logons: int = 0
    last_heartbeat_at: dt.datetime | None = None
    resend_requests_total: int = 0
    refused_by_reason: Counter = field(default_factory=Counter)
    heartbeats_missed: int = 0  # a client silent for a whole HeartBtInt: a TestRequest was sent
    sessions_timed_out: int = 0  # ... and that TestRequest went unanswered: the session was closed
    messages_sent: Counter = field(default_factory=Counter)  # by MsgType
    bytes_sent: int = 0
    messages_received: int = 0
    bytes_received: int = 0

    def _today(self, at: dt.datetime) -> None:
        if at.date() != self.day:
            self.day, self.resend_requests, self.refused_logons = at.date(), 0, 0

    def resend_requested(self) -> None:
        self._today(clock.now())
        self.resend_requests += 1
        self.resend_requests_total += 1

    def logon_refused(self, reason: str) -> None:
        self._today(clock.now())
        self.refused_logons += 1
        self.refused_by_reason[reason] += 1

    def heartbeat_received(self, at: dt.datetime) -> None:
        self.last_heartbeat_at = at

    def heartbeat_missed(self) -> None:
        self.heartbeats_missed += 1

    def session_timed_out(self) -> None:
        self.sessions_timed_out += 1

    def sent(self, msg_type: str, *, messages: int, size: int) -> None:
        self.messages_sent[msg_type] += messages
        self.bytes_sent += size

    def received(self, size: int, *, messages: int) -> None:
        self.messages_received += messages
        self.bytes_received += size

    def published(self, *, at: dt.datetime, sessions_logged_on: int) -> dict:
        """The figures as the process row holds them, at ``at``."""
        self._today(at)
        return {
            "sessions_logged_on": sessions_logged_on,
            "last_heartbeat_at": self.last_heartbeat_at,
            "resend_requests_today": self.resend_requests,
            "refused_logons_today": self.refused_logons,
            "published_at": at,
        }


def gateway_process_register(*, name: str, host: str, pid: int, at: dt.datetime) -> int:
    """Record a starting gateway process; rows left by processes that died unannounced go."""
    with transaction.atomic():
        ServedAddress.objects.filter(process__in=GatewayProcess.objects.gone(at=at)).delete()
        process = GatewayProcess.objects.create(name=name, host=host, pid=pid, started_at=at, last_seen_at=at)
    return process.pk


def served_addresses_record(
    *,
    process_id: int,
    started: dict[int, int],
    stopped: set[int],
    at: dt.datetime,
    listening: int,
    replace: bool = False,
    figures: dict | None = None,
) -> None:
    """Record the addresses (id → target id) the process started serving and those it stopped.

    ``replace`` forgets every row of the process first, so ``started`` becomes all it serves
    (after an absence, when another process may have cleared its rows).
    """
    with transaction.atomic():
        served = ServedAddress.objects.filter(process_id=process_id)
        if replace:
            served.delete()
        elif stopped:
            served.filter(address_id__in=stopped).delete()
        ServedAddress.objects.bulk_create(
            [
                ServedAddress(process_id=process_id, address_id=address_id, target_id=target_id, since=at)
                for address_id, target_id in sorted(started.items())
            ],
            batch_size=2000,
        )
        GatewayProcess.objects.filter(pk=process_id).update(
            last_seen_at=at, listening_addresses=listening, stopped_at=None, **(figures or {})
        )


def gateway_process_seen(*, process_id: int, at: dt.datetime, figures: dict | None = None) -> None:
    GatewayProcess.objects.filter(pk=process_id).update(last_seen_at=at, **(figures or {}))


def gateway_process_stop(*, process_id: int, at: dt.datetime) -> None:
    """The process stops serving: its addresses are no longer served, the row says when it stopped."""
    with transaction.atomic():
        ServedAddress.objects.filter(process_id=process_id).delete()
        GatewayProcess.objects.filter(pk=process_id).update(
            last_seen_at=at, stopped_at=at, listening_addresses=0, sessions_logged_on=0, published_at=at
        )


class Presence:
    """What one gateway process has written about itself, to write again only what changes."""

    def __init__(self, db: Database, *, name: str) -> None:
        self.db = db
        self.name = name
        self.process_id: int | None = None
        self.recorded: dict[int, int] = {}  # address id → target id, as the table holds them
        self.written_at: dt.datetime | None = None
        self.figures = LiveFigures()

    async def record(self, serving: dict[int, int], *, sessions_logged_on: int = 0) -> None:
        """Bring the rows up to ``serving`` (address id → target id of every open listener), and
        publish the live figures with ``sessions_logged_on`` whenever the row is written."""
        at = clock.now()
        if self.process_id is None:
            self.process_id = await self.db.run(
                gateway_process_register, name=self.name, host=socket.gethostname(), pid=os.getpid(), at=at
            )
            self.recorded, self.written_at = {}, at
        since_written = abs(at - self.written_at)
        away = since_written >= GONE_AFTER  # counted as gone meanwhile: write everything again
        started = serving if away else {key: value for key, value in serving.items() if key not in self.recorded}
        stopped = set() if away else set(self.recorded) - set(serving)
        figures = self.figures.published(at=at, sessions_logged_on=sessions_logged_on)
        if away or started or stopped:
            await self.db.run(
                served_addresses_record,
                process_id=self.process_id,
                started=started,
                stopped=stopped,
                at=at,
                listening=len(serving),
                replace=away,
                figures=figures,
            )
        elif since_written >= LAST_SEEN_EVERY:
            await self.db.run(gateway_process_seen, process_id=self.process_id, at=at, figures=figures)
        else:
            return
        self.recorded, self.written_at = dict(serving), at

    async def stop(self) -> None:
        if self.process_id is None:
            return
        try:
            await self.db.run(gateway_process_stop, process_id=self.process_id, at=clock.now())
        except Exception:  # the process stops anyway; its row goes stale and counts as not running
            log.exception("could not record that the gateway stopped")

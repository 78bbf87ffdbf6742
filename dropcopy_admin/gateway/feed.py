"""The synthetic drop copy feed (R10, R19): seeded order life cycles sent as ``35=n`` envelopes.

``SyntheticFeed`` is pure: given a seed it always produces the same execution reports (acks of
new, cancelled, replaced and eliminated orders; partial and full fills; trade busts and
corrections), built with ``dropcopy_admin.fix.messages`` as whole inner iLink messages with their
own header and checksum. It simulates every event and emits only the kinds the subscriber selected,
so a group that takes only fills still sees consistent fills.

``FeedManager`` runs the feeds inside the gateway. Each logged-on client session gets a
``SessionFeed`` that sends on the session's own outgoing stream (``Session.send_envelope``: stored,
sequenced, resendable like every other message), paced by a token bucket on the product clock:

* a temporary target (New Release, AutoCert+) gets the automatic feed, every kind, at
  ``DROPCOPY["SYNTHETIC_FEED_RATE_PER_SECOND"]``, for as long as the session is logged on;
* ``manage.py feed_synthetic`` writes a ``FeedRequest`` row (the gateway is another process, so
  the database carries the request); each registry read picks up the pending requests of targets
  with a logged-on client session and runs them at their own rate, honouring the group's message
  filters, recording progress as it sends. A request is served by one session of the target (for
  MSGW, the lowest market segment logged on); if that session ends first, the rest waits for the
  next logon, and the seed replays the run so the rest is the same messages.
"""

import asyncio
import contextlib
import datetime as dt
import itertools
import logging
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.conf import settings

from dropcopy_admin import clock
from dropcopy_admin.choices import MessageFilter
from dropcopy_admin.fix.messages import ExecKind, ExecutionReport, SessionHeader, build_execution_report

from . import store

if TYPE_CHECKING:
    from .server import Gateway
    from .session import Session

log = logging.getLogger(__name__)

TICK = 0.1
CHICAGO = ZoneInfo("America/Chicago")
ACK_KINDS = frozenset({ExecKind.NEW, ExecKind.CANCELED, ExecKind.REPLACED, ExecKind.ELIMINATED})
FILL_KINDS = frozenset({ExecKind.PARTIAL_FILL, ExecKind.FILL})
ALL_KINDS = frozenset(ExecKind)

# Which simulated kinds each message filter selects. ``execution_reports`` is the "Trade Execution
# Reports" family of domain-reference §1.7 (fills, busts, corrections). The feed makes no order mass
# action reports or rejects, and session heartbeats are not feed messages.
FILTER_KINDS: dict[str, frozenset[ExecKind]] = {
    MessageFilter.ACKS: ACK_KINDS,
    MessageFilter.EXECUTION_REPORTS: FILL_KINDS | {ExecKind.TRADE_CANCEL, ExecKind.TRADE_CORRECTION},
    MessageFilter.FILLS: FILL_KINDS,
    MessageFilter.TRADE_BUSTS: frozenset({ExecKind.TRADE_CANCEL}),
    MessageFilter.TRADE_CORRECTIONS: frozenset({ExecKind.TRADE_CORRECTION}),
}


def kinds_for(*, message_filters: Iterable[str], temporary: bool) -> frozenset[ExecKind]:
    """The execution report kinds a target receives: all for a temporary target, else its group's."""
    if temporary:
        return ALL_KINDS
    kinds: frozenset[ExecKind] = FILL_KINDS | {ExecKind.TRADE_CANCEL}  # fills and busts are always on
    for name in message_filters:
        kinds |= FILTER_KINDS.get(name, frozenset())
    return kinds


def trade_date(at: dt.datetime) -> dt.date:
    """The CME trade date of ``at``: the session opening at 17:00 Chicago belongs to the next day."""
    return (at.astimezone(CHICAGO) + dt.timedelta(hours=7)).date()


# --- the pure generator ---------------------------------------------------------------------


@dataclass(frozen=True)
class Instrument:
    symbol: str
    security_desc: str
    security_id: str
    price: Decimal
    tick: Decimal


INSTRUMENTS = (
    Instrument("ES", "ESZ6", "118", Decimal("6000.00"), Decimal("0.25")),
    Instrument("NQ", "NQZ6", "4193", Decimal("21000.00"), Decimal("0.25")),
    Instrument("ZN", "ZNZ6", "20961", Decimal("112.000000"), Decimal("0.015625")),
    Instrument("CL", "CLF7", "81210", Decimal("70.00"), Decimal("0.01")),
    Instrument("GC", "GCG7", "36942", Decimal("2400.0"), Decimal("0.1")),
)
MAX_OPEN_ORDERS = 12
MAX_REMEMBERED_TRADES = 20
AVG_PX_PLACES = Decimal("0.0000001")


@dataclass
class _Order:
    source: str
    order_id: str
    cl_ord_id: str
    account: str
    instrument: Instrument
    side: str
    qty: int
    price: Decimal
    cum_qty: int = 0
    notional: Decimal = Decimal(0)

    @property
    def avg_px(self) -> Decimal:
        return (self.notional / self.cum_qty).quantize(AVG_PX_PLACES) if self.cum_qty else Decimal(0)


@dataclass(frozen=True)
class _Trade:
    order: _Order  # a copy as it was right after the trade
    exec_id: str
    qty: int
    px: Decimal


@dataclass
class SyntheticFeed:
    """A deterministic stream of drop copy execution reports: the same seed, the same reports.

    ``sources`` are the SenderCompIDs of the source sessions whose orders the feed invents (the
    inner messages are addressed to them, each with its own sequence numbers).
    """

    seed: int
    kinds: frozenset[ExecKind]
    sources: Sequence[str]
    rng: random.Random = field(init=False)
    orders: list[_Order] = field(init=False, default_factory=list)
    trades: list[_Trade] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        if not self.kinds or not self.sources:
            raise ValueError("a synthetic feed needs at least one kind and one source session")
        self.rng = random.Random(self.seed)
        self.kinds = frozenset(self.kinds)
        self._ids = itertools.count(1)
        self._prefix = f"{self.seed % 36**4:04d}"[-4:]
        self._inner_seq = dict.fromkeys(self.sources, 1)

    def next_message(self, at: dt.datetime) -> bytes:
        """The next selected report, as one whole inner FIX message (35=8) sent at ``at``."""
        source, report = self.next_report(at)
        seq = self._inner_seq[source]
        self._inner_seq[source] = seq + 1
        header = SessionHeader(
            sender_comp_id="CME", sender_sub_id="G", target_comp_id=source, seq_num=seq, sending_time=at
        )
        return build_execution_report(header, report)

    def next_report(self, at: dt.datetime) -> tuple[str, ExecutionReport]:
        """Simulate events until one of a selected kind happens; (its source, the report)."""
        while True:
            source, report = self._step(at)
            if report.kind in self.kinds:
                return source, report

    def skip(self, count: int, at: dt.datetime) -> None:
        """Advance past ``count`` selected messages (resuming a run)."""
        for _ in range(count):
            self.next_message(at)

    # --- simulation ---------------------------------------------------------------------------

    def _id(self, letter: str) -> str:
        return f"{letter}{self._prefix}{next(self._ids):07d}"

    def _step(self, at: dt.datetime) -> tuple[str, ExecutionReport]:
        actions: list[tuple[str, float]] = []
        if len(self.orders) < MAX_OPEN_ORDERS:
            actions.append(("new", 3))
        if self.orders:
            actions += [("fill", 4), ("replace", 1), ("cancel", 1), ("eliminate", 0.5)]
        if self.trades:
            actions += [("bust", 0.6), ("correct", 0.6)]
        names, weights = zip(*actions, strict=True)
        action = self.rng.choices(names, weights)[0]
        return getattr(self, f"_{action}")(at)

    def _report(self, order: _Order, kind: ExecKind, at: dt.datetime, **extra) -> ExecutionReport:
        return ExecutionReport(
            kind=kind,
            order_id=order.order_id,
            cl_ord_id=order.cl_ord_id,
            exec_id=self._id("X"),
            account=order.account,
            symbol=order.instrument.symbol,
            security_desc=order.instrument.security_desc,
            security_id=order.instrument.security_id,
            side=order.side,
            order_qty=order.qty,
            price=order.price,
            transact_time=at,
            trade_date=trade_date(at),
            cum_qty=order.cum_qty,
            avg_px=order.avg_px,
            correlation_cl_ord_id=order.cl_ord_id,
            **extra,
        )

    def _new(self, at):
        instrument = self.rng.choice(INSTRUMENTS)
        order = _Order(
            source=self.rng.choice(self.sources),
            order_id=self._id("O"),
            cl_ord_id=self._id("C"),
            account=f"ACCT{self.rng.randrange(1, 10)}",
            instrument=instrument,
            side=self.rng.choice("12"),
            qty=self.rng.randint(1, 50),
            price=instrument.price + instrument.tick * self.rng.randint(-40, 40),
        )
        self.orders.append(order)
        return order.source, self._report(order, ExecKind.NEW, at, manual_order=self.rng.random() < 0.1)

    def _fill(self, at):
        order = self.rng.choice(self.orders)
        remaining = order.qty - order.cum_qty
        partial = remaining > 1 and self.rng.random() < 0.6
        last_qty = self.rng.randint(1, remaining - 1) if partial else remaining
        order.cum_qty += last_qty
        order.notional += order.price * last_qty
        kind = ExecKind.PARTIAL_FILL if partial else ExecKind.FILL
        report = self._report(
            order,
            kind,
            at,
            last_qty=last_qty,
            last_px=order.price,
            aggressor=self.rng.random() < 0.5,
            secondary_exec_id=self._id("T"),
        )
        self.trades.append(_Trade(order=replace(order), exec_id=report.exec_id, qty=last_qty, px=order.price))
        del self.trades[:-MAX_REMEMBERED_TRADES]
        if not partial:
            self.orders.remove(order)
        return order.source, report

    def _replace(self, at):
        order = self.rng.choice(self.orders)
        orig = order.cl_ord_id
        order.cl_ord_id = self._id("C")
        order.price += order.instrument.tick * self.rng.choice((-2, -1, 1, 2))
        order.qty = max(order.cum_qty + 1, order.qty + self.rng.randint(-5, 5))
        return order.source, self._report(order, ExecKind.REPLACED, at, orig_cl_ord_id=orig)

    def _cancel(self, at):
        order = self.rng.choice(self.orders)
        self.orders.remove(order)
        orig = order.cl_ord_id
        order.cl_ord_id = self._id("C")
        return order.source, self._report(order, ExecKind.CANCELED, at, orig_cl_ord_id=orig)

    def _eliminate(self, at):
        order = self.rng.choice(self.orders)
        self.orders.remove(order)
        return order.source, self._report(order, ExecKind.ELIMINATED, at)

    def _bust(self, at):
        trade = self.trades.pop(self.rng.randrange(len(self.trades)))
        order = replace(trade.order, cum_qty=trade.order.cum_qty - trade.qty)
        order.notional = trade.order.notional - trade.px * trade.qty
        report = self._report(
            order, ExecKind.TRADE_CANCEL, at, last_qty=trade.qty, last_px=trade.px, exec_ref_id=trade.exec_id
        )
        return order.source, report

    def _correct(self, at):
        trade = self.trades.pop(self.rng.randrange(len(self.trades)))
        new_px = trade.px + trade.order.instrument.tick * self.rng.choice((-1, 1))
        report = self._report(
            trade.order, ExecKind.TRADE_CORRECTION, at, last_qty=trade.qty, last_px=new_px, exec_ref_id=trade.exec_id
        )
        return trade.order.source, report


# --- pacing ---------------------------------------------------------------------------------


@dataclass
class RateLimit:
    """A token bucket on the product clock: ``rate`` messages a second, bursts of one second's worth."""

    rate: float
    last: dt.datetime
    tokens: float = 0.0

    def take(self, now: dt.datetime, wanted: int) -> int:
        elapsed = (now - self.last).total_seconds()
        if elapsed != 0:  # a clock moved backwards restarts the count from there
            self.tokens = min(max(self.rate, 1.0), self.tokens + max(elapsed, 0.0) * self.rate)
            self.last = now
        granted = min(wanted, int(self.tokens + 1e-9))
        self.tokens -= granted
        return granted


# --- running inside the gateway -------------------------------------------------------------


@dataclass
class Run:
    feed: SyntheticFeed
    limit: RateLimit
    remaining: int | None  # None: the endless automatic feed
    request_id: int | None = None
    sent: int = 0


class SessionFeed:
    """The feeds of one logged-on client session, sent on its own stream by one task."""

    def __init__(self, manager: "FeedManager", session: "Session", profile: store.FeedProfile) -> None:
        self.manager = manager
        self.session = session
        self.profile = profile
        self.runs: list[Run] = []
        if profile.temporary:
            rate = float(settings.DROPCOPY["SYNTHETIC_FEED_RATE_PER_SECOND"])
            seed = profile.target_id * 1_000_003 + session.next_outgoing  # a new run on each logon
            feed = SyntheticFeed(seed=seed, kinds=ALL_KINDS, sources=profile.sources)
            self.runs.append(Run(feed=feed, limit=RateLimit(rate=rate, last=clock.now()), remaining=None))
        self._work = asyncio.Event()  # idle sessions (no run) wait on it instead of ticking
        self.task = asyncio.create_task(self._run())

    def add_request(self, request: store.PendingFeedRequest) -> None:
        now = clock.now()
        feed = SyntheticFeed(seed=request.seed, kinds=self.profile.kinds, sources=self.profile.sources)
        feed.skip(request.sent, now)
        self.runs.append(
            Run(
                feed=feed,
                limit=RateLimit(rate=request.rate_per_second, last=now),
                remaining=request.count - request.sent,
                request_id=request.id,
                sent=request.sent,
            )
        )
        self._work.set()

    async def _run(self) -> None:
        from .session import SessionClosed

        try:
            while not self.session.closed:
                if not self.runs:
                    self._work.clear()
                    await self._work.wait()
                await asyncio.sleep(TICK)
                for run in list(self.runs):
                    await self._advance(run, clock.now())
        except (SessionClosed, ConnectionError):
            pass
        except Exception:  # a feed bug must not take the session or the gateway down
            log.exception("synthetic feed of target %s failed", self.profile.target_id)
        finally:
            self.manager.feed_ended(self)

    async def _advance(self, run: Run, now: dt.datetime) -> None:
        wanted = run.remaining if run.remaining is not None else 1_000_000
        granted = run.limit.take(now, wanted)
        try:
            for _ in range(granted):
                await self.session.send_envelope(run.feed.next_message(now))
                run.sent += 1
                if run.remaining is not None:
                    run.remaining -= 1
        finally:
            if run.request_id is not None and granted:
                done = run.remaining == 0
                self.manager.gateway.db.submit(
                    store.feed_request_progress,
                    request_id=run.request_id,
                    sent=run.sent,
                    completed_at=clock.now() if done else None,
                )
                if done:
                    self.runs.remove(run)
                    self.manager.active_requests.discard(run.request_id)


class FeedManager:
    """Starts a ``SessionFeed`` for each logged-on client session and hands it pending requests."""

    def __init__(self, gateway: "Gateway") -> None:
        self.gateway = gateway
        self.feeds: dict[Session, SessionFeed] = {}
        self.active_requests: set[int] = set()
        self.tasks: set[asyncio.Task] = set()

    def session_logged_on(self, session: "Session") -> None:
        if session.probe or session.state is None:
            return
        task = asyncio.create_task(self._attach(session))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _attach(self, session: "Session") -> None:
        try:
            profile = await self.gateway.db.run(store.feed_profile_load, target_id=session.address.target_id)
        except Exception:
            log.exception("cannot load the synthetic feed profile of target %s", session.address.target_id)
            return
        if not session.closed:
            self.feeds[session] = SessionFeed(self, session, profile)

    def session_ended(self, session: "Session") -> None:
        feed = self.feeds.get(session)
        if feed is not None:
            feed.task.cancel()  # its ``finally`` forgets it

    def feed_ended(self, feed: SessionFeed) -> None:
        if self.feeds.get(feed.session) is feed:
            del self.feeds[feed.session]
        for run in feed.runs:
            if run.request_id is not None:
                self.active_requests.discard(run.request_id)

    async def refresh(self) -> None:
        """Pick up pending feed requests of targets with a logged-on client session."""
        by_target: dict[int, SessionFeed] = {}
        for feed in sorted(self.feeds.values(), key=lambda f: f.session.address.market_segment or 0, reverse=True):
            if not feed.session.closed:
                by_target[feed.profile.target_id] = feed  # the lowest segment wins
        if not by_target:
            return
        pending = await self.gateway.db.run(
            store.feed_requests_pending, target_ids=sorted(by_target), exclude_ids=sorted(self.active_requests)
        )
        for request in pending:
            feed = by_target[request.target_id]
            if feed.session.closed or request.id in self.active_requests:
                continue
            self.active_requests.add(request.id)
            feed.add_request(request)

    async def stop(self) -> None:
        tasks = [feed.task for feed in self.feeds.values()] + list(self.tasks)
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*tasks, return_exceptions=True)

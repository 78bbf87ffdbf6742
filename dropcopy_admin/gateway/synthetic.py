"""The synthetic drop copy feed's generator (R10, R19): seeded order life cycles as execution reports.

``SyntheticFeed`` is pure: given a seed it always produces the same execution reports (acks of
new, cancelled, replaced and eliminated orders; partial and full fills; trade busts and
corrections), built with ``dropcopy_admin.fix.messages`` as whole inner iLink messages with their
own header and checksum. It simulates every event and emits only the kinds the subscriber selected,
so a group that takes only fills still sees consistent fills. ``kinds_for`` says which kinds a
target selects. Sending them inside the gateway is ``feed.py``'s.
"""

import bisect
import datetime as dt
import functools
import itertools
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from dropcopy_admin.choices import MessageFilter
from dropcopy_admin.fix.messages import (
    ExecKind,
    ExecutionReport,
    SessionHeader,
    build_execution_report,
    write_execution_report,
)

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
    if at.tzinfo is dt.UTC:
        return _utc_trade_date(at)
    return (at.astimezone(CHICAGO) + dt.timedelta(hours=7)).date()


@functools.lru_cache(maxsize=256)
def _utc_trade_date(at: dt.datetime) -> dt.date:
    # Cached: the feed builds its reports in bursts at one ``at``. Keyed on UTC datetimes only,
    # which compare equal exactly when they are the same instant.
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


@dataclass(eq=False)  # compared by identity: ``list.remove`` would compare every field of the orders before it
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

    def copy(self) -> "_Order":
        """A copy as the order stands (``copy.copy``, without its generic protocol)."""
        clone = object.__new__(_Order)
        clone.__dict__.update(self.__dict__)
        return clone


class _Trade(NamedTuple):
    order: _Order  # a copy as it was right after the trade
    exec_id: str
    qty: int
    px: Decimal


@functools.cache
def _actions(can_open: bool, has_orders: bool, has_trades: bool) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """The simulation steps possible in this state (their methods' names), with cumulative weights.

    ``choices`` with these cumulative weights draws exactly as with the weights themselves.
    """
    actions: list[tuple[str, float]] = []
    if can_open:
        actions.append(("_new", 3))
    if has_orders:
        actions += [("_fill", 4), ("_replace", 1), ("_cancel", 1), ("_eliminate", 0.5)]
    if has_trades:
        actions += [("_bust", 0.6), ("_correct", 0.6)]
    names, weights = zip(*actions, strict=True)
    return names, tuple(itertools.accumulate(weights))


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
        self._getrandbits = self.rng.getrandbits
        self.kinds = frozenset(self.kinds)
        self._ids = itertools.count(1)
        self._prefix = f"{self.seed % 36**4:04d}"[-4:]
        self._inner_seq = dict.fromkeys(self.sources, 1)
        self._headers: dict[str, tuple[dt.datetime, str | None]] = {}

    def next_message(self, at: dt.datetime) -> bytes:
        """The next selected report, as one whole inner FIX message (35=8) sent at ``at``."""
        source, report = self.next_report(at)
        seq = self._inner_seq[source]
        self._inner_seq[source] = seq + 1
        rest = self._header_after_seq_num(source, at)
        if rest is None:  # a value the template does not write as it is: the checked builder
            return build_execution_report(_inner_header(source, seq, at), report)
        # The simulation's reports are consistent and plain by construction: written unchecked.
        return write_execution_report(f"34={seq}\x01{rest}", report)

    def _header_after_seq_num(self, source: str, at: dt.datetime) -> str | None:
        """The inner header's fields after 34 as text (the same for a source's whole burst at ``at``)."""
        cached = self._headers.get(source)
        if cached is None or cached[0] != at:
            head = _inner_header(source, 1, at).fields_text()
            cached = self._headers[source] = (at, None if head is None else head.removeprefix("34=1\x01"))
        return cached[1]

    def next_report(self, at: dt.datetime) -> tuple[str, ExecutionReport]:
        """Simulate events until one of a selected kind happens; (its source, the report)."""
        kind, order, exec_id, extra = self._next_selected_event(at)
        return order.source, self._report(order, kind, exec_id, at, extra)

    def skip(self, count: int, at: dt.datetime) -> None:
        """Advance past ``count`` selected messages (resuming a run): simulated, numbered, not built."""
        for _ in range(count):
            source = self._next_selected_event(at)[1].source
            self._inner_seq[source] += 1

    # --- simulation ---------------------------------------------------------------------------
    #
    # Each step changes the simulated state, draws what it needs in a fixed order and answers its
    # event: (kind, the order as it stands, the report's ExecID, the report's other fields). Only a
    # selected event becomes an ``ExecutionReport``, at once, before the next step changes the order.

    def _next_selected_event(self, at: dt.datetime) -> "_Event":
        kinds, rng = self.kinds, self.rng
        while True:
            names, cum_weights = _actions(len(self.orders) < MAX_OPEN_ORDERS, bool(self.orders), bool(self.trades))
            # What ``rng.choices(names, cum_weights=cum_weights)[0]`` draws, without its set-up.
            action = names[bisect.bisect(cum_weights, rng.random() * cum_weights[-1], 0, len(names) - 1)]
            event = getattr(self, action)(at)
            if event[0] in kinds:
                return event

    def _below(self, n: int) -> int:
        """A random int in [0, n): what ``random.Random`` draws for ``choice``, ``randrange`` and
        ``randint`` (``getrandbits`` of n's bit length, again until below n; the recorded seeds of the
        tests pin it), without their argument checks: the simulation draws millions."""
        k = n.bit_length()
        r = self._getrandbits(k)
        while r >= n:
            r = self._getrandbits(k)
        return r

    def _id(self, letter: str) -> str:
        return letter + self._prefix + str(next(self._ids)).zfill(7)  # f"{n:07d}", cheaper

    def _report(self, order: _Order, kind: ExecKind, exec_id: str, at: dt.datetime, extra: dict) -> ExecutionReport:
        instrument = order.instrument
        return ExecutionReport(  # the leading fields by position, in ``ExecutionReport``'s order: cheaper
            kind,
            order.order_id,
            order.cl_ord_id,
            exec_id,
            order.account,
            instrument.symbol,
            instrument.security_desc,
            instrument.security_id,
            order.side,
            order.qty,
            order.price,
            at,  # transact_time
            trade_date(at),
            cum_qty=order.cum_qty,
            avg_px=order.avg_px,
            correlation_cl_ord_id=order.cl_ord_id,
            **extra,
        )

    def _new(self, at) -> "_Event":
        below = self._below
        instrument = INSTRUMENTS[below(len(INSTRUMENTS))]
        order = _Order(
            source=self.sources[below(len(self.sources))],
            order_id=self._id("O"),
            cl_ord_id=self._id("C"),
            account=f"ACCT{1 + below(9)}",  # randrange(1, 10)
            instrument=instrument,
            side="12"[below(2)],
            qty=1 + below(50),  # randint(1, 50)
            price=instrument.price + instrument.tick * (below(81) - 40),  # randint(-40, 40)
        )
        self.orders.append(order)
        return ExecKind.NEW, order, self._id("X"), {"manual_order": self.rng.random() < 0.1}

    def _fill(self, at) -> "_Event":
        rng = self.rng
        order = self.orders[self._below(len(self.orders))]
        remaining = order.qty - order.cum_qty
        partial = remaining > 1 and rng.random() < 0.6
        last_qty = 1 + self._below(remaining - 1) if partial else remaining  # randint(1, remaining - 1)
        order.cum_qty += last_qty
        order.notional += order.price * last_qty
        kind = ExecKind.PARTIAL_FILL if partial else ExecKind.FILL
        extra = {"last_qty": last_qty, "last_px": order.price, "aggressor": rng.random() < 0.5}
        extra["secondary_exec_id"] = self._id("T")
        exec_id = self._id("X")
        self.trades.append(_Trade(order=order.copy(), exec_id=exec_id, qty=last_qty, px=order.price))
        del self.trades[:-MAX_REMEMBERED_TRADES]
        if not partial:
            self.orders.remove(order)
        return kind, order, exec_id, extra

    def _replace(self, at) -> "_Event":
        order = self.orders[self._below(len(self.orders))]
        orig = order.cl_ord_id
        order.cl_ord_id = self._id("C")
        order.price += order.instrument.tick * (-2, -1, 1, 2)[self._below(4)]
        order.qty = max(order.cum_qty + 1, order.qty + self._below(11) - 5)  # randint(-5, 5)
        return ExecKind.REPLACED, order, self._id("X"), {"orig_cl_ord_id": orig}

    def _cancel(self, at) -> "_Event":
        order = self.orders[self._below(len(self.orders))]
        self.orders.remove(order)
        orig = order.cl_ord_id
        order.cl_ord_id = self._id("C")
        return ExecKind.CANCELED, order, self._id("X"), {"orig_cl_ord_id": orig}

    def _eliminate(self, at) -> "_Event":
        order = self.orders[self._below(len(self.orders))]
        self.orders.remove(order)
        return ExecKind.ELIMINATED, order, self._id("X"), {}

    def _bust(self, at) -> "_Event":
        trade = self.trades.pop(self._below(len(self.trades)))
        order = trade.order.copy()
        order.cum_qty = trade.order.cum_qty - trade.qty
        order.notional = trade.order.notional - trade.px * trade.qty
        extra = {"last_qty": trade.qty, "last_px": trade.px, "exec_ref_id": trade.exec_id}
        return ExecKind.TRADE_CANCEL, order, self._id("X"), extra

    def _correct(self, at) -> "_Event":
        trade = self.trades.pop(self._below(len(self.trades)))
        new_px = trade.px + trade.order.instrument.tick * (-1, 1)[self._below(2)]
        extra = {"last_qty": trade.qty, "last_px": new_px, "exec_ref_id": trade.exec_id}
        return ExecKind.TRADE_CORRECTION, trade.order, self._id("X"), extra


_Event = tuple[ExecKind, _Order, str, dict]


def _inner_header(source: str, seq: int, at: dt.datetime) -> SessionHeader:
    """The header of an inner report: from CME's gateway to the source session that placed the order."""
    return SessionHeader(sender_comp_id="CME", sender_sub_id="G", target_comp_id=source, seq_num=seq, sending_time=at)

"""The drop copy payload: iLink-style Execution Reports (35=8), built to wrap in a 35=n envelope."""

import datetime as dt
import functools
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from .. import tags
from ..tags import MsgType
from .encoding import SessionHeader, Value, build_message, format_sending_time, frame_body, plain_texts


class ExecKind(StrEnum):
    """What an inner iLink-style execution report (35=8) says happened."""

    NEW = "new"  # order creation ack
    CANCELED = "canceled"  # cancel ack
    REPLACED = "replaced"  # modify ack
    ELIMINATED = "eliminated"  # order elimination
    PARTIAL_FILL = "partial_fill"
    FILL = "fill"
    TRADE_CANCEL = "trade_cancel"  # bust
    TRADE_CORRECTION = "trade_correction"


# ExecTransType (20), ExecType (150), OrdStatus (39). Confirmed (domain-reference §1.7): the
# correction's 20=2 and 39=G. Unconfirmed, chosen by FIX 4.2 analogy: 150 on every kind, the
# bust's 20=1 / 39=H, and elimination as 39=C (Expired), as iLink 2 is believed to send.
_EXEC_CODES: dict[ExecKind, tuple[str, str, str]] = {
    ExecKind.NEW: ("0", "0", "0"),
    ExecKind.CANCELED: ("0", "4", "4"),
    ExecKind.REPLACED: ("0", "5", "5"),
    ExecKind.ELIMINATED: ("0", "C", "C"),
    ExecKind.PARTIAL_FILL: ("0", "1", "1"),
    ExecKind.FILL: ("0", "2", "2"),
    ExecKind.TRADE_CANCEL: ("1", "H", "H"),
    ExecKind.TRADE_CORRECTION: ("2", "G", "G"),
}
_TRADE_KINDS = frozenset({ExecKind.PARTIAL_FILL, ExecKind.FILL, ExecKind.TRADE_CANCEL, ExecKind.TRADE_CORRECTION})
_REFERENCING_KINDS = frozenset({ExecKind.TRADE_CANCEL, ExecKind.TRADE_CORRECTION})  # carry 19 ExecRefID
_RESETTING_KINDS = frozenset({ExecKind.NEW, ExecKind.TRADE_CORRECTION})  # state CumQty and AvgPx 0
_OPEN_KINDS = frozenset({ExecKind.NEW, ExecKind.REPLACED, ExecKind.PARTIAL_FILL})  # leave a quantity open
_EXEC_CODES_TEXT = {
    kind: f"20={codes[0]}\x01150={codes[1]}\x0139={codes[2]}\x01" for kind, codes in _EXEC_CODES.items()
}
_ZERO = Decimal(0)


class ExecutionReport(NamedTuple):
    """The business content of one iLink-style execution report (immutable; a named tuple, as the
    synthetic feed builds thousands a second and a frozen dataclass costs three times as much).

    ``last_qty``/``last_px`` describe the trade for fills and busts; for a correction they are the
    new price and the original quantity (§1.7). ``cum_qty``/``avg_px`` are the order's totals
    after this event (a correction resets both to 0, as CME does).
    """

    kind: ExecKind
    order_id: str
    cl_ord_id: str
    exec_id: str
    account: str
    symbol: str  # product group code, e.g. "ES"
    security_desc: str  # instrument, e.g. "ESZ5"
    security_id: str
    side: str  # "1" buy, "2" sell
    order_qty: int
    price: Decimal
    transact_time: dt.datetime
    trade_date: dt.date
    last_qty: int = 0
    last_px: Decimal | None = None
    cum_qty: int = 0
    avg_px: Decimal = Decimal(0)
    exec_ref_id: str | None = None  # the trade busted or corrected
    orig_cl_ord_id: str | None = None  # cancel / modify acks
    secondary_exec_id: str | None = None
    security_type: str = "FUT"
    ord_type: str = "2"  # limit
    time_in_force: str = "0"  # day
    manual_order: bool = False
    aggressor: bool | None = None
    correlation_cl_ord_id: str | None = None


def _check_execution(report: ExecutionReport) -> None:
    if report.side not in ("1", "2"):
        raise ValueError("side must be '1' (buy) or '2' (sell)")
    if report.order_qty < 1 or not 0 <= report.cum_qty <= report.order_qty:
        raise ValueError("quantities are inconsistent")
    kind = report.kind
    if kind in _TRADE_KINDS and (report.last_qty < 1 or report.last_px is None):
        raise ValueError(f"{kind} needs last_qty and last_px")
    if kind == ExecKind.PARTIAL_FILL and not report.last_qty <= report.cum_qty < report.order_qty:
        raise ValueError("a partial fill leaves part of the order open")
    if kind == ExecKind.FILL and report.cum_qty != report.order_qty:
        raise ValueError("a fill completes the order")
    if kind in (ExecKind.TRADE_CANCEL, ExecKind.TRADE_CORRECTION) and not report.exec_ref_id:
        raise ValueError(f"{kind} needs exec_ref_id (19)")


@functools.lru_cache(maxsize=64)
def _local_mkt_date(date: dt.date) -> str:
    # Cached: a trading day's reports all carry the same TradeDate.
    return date.strftime("%Y%m%d")


def build_execution_report(header: SessionHeader, report: ExecutionReport) -> bytes:
    """Build an inner iLink-style Execution Report (35=8) to wrap in a drop copy envelope."""
    _check_execution(report)
    head = header.fields_text()
    if head is not None and _plain_values(report):
        return write_execution_report(head, report)
    kind = report.kind
    exec_trans_type, exec_type, ord_status = _EXEC_CODES[kind]
    cum_qty, avg_px, leaves_qty = _totals(report)
    trade = kind in _TRADE_KINDS
    body: list[tuple[int, Value]] = [
        (tags.ORDER_ID, report.order_id),
        (tags.CL_ORD_ID, report.cl_ord_id),
        (tags.ORIG_CL_ORD_ID, report.orig_cl_ord_id),
        (tags.EXEC_ID, report.exec_id),
        (tags.EXEC_REF_ID, report.exec_ref_id if kind in _REFERENCING_KINDS else None),
        (tags.EXEC_TRANS_TYPE, exec_trans_type),
        (tags.EXEC_TYPE, exec_type),
        (tags.ORD_STATUS, ord_status),
        (tags.ACCOUNT, report.account),
        (tags.SECURITY_ID, report.security_id),
        (tags.SYMBOL, report.symbol),
        (tags.SECURITY_DESC, report.security_desc),
        (tags.SECURITY_TYPE, report.security_type),
        (tags.SIDE, report.side),
        (tags.ORDER_QTY, report.order_qty),
        (tags.ORD_TYPE, report.ord_type),
        (tags.PRICE, report.price),
        (tags.TIME_IN_FORCE, report.time_in_force),
        (tags.LAST_PX, report.last_px if trade else None),
        (tags.LAST_QTY, report.last_qty if trade else None),
        (tags.CUM_QTY, cum_qty),
        (tags.LEAVES_QTY, leaves_qty),
        (tags.AVG_PX, avg_px),
        (tags.TRANSACT_TIME, report.transact_time),
        (tags.TRADE_DATE, _local_mkt_date(report.trade_date)),
        (tags.SECONDARY_EXEC_ID, report.secondary_exec_id),
        (tags.MANUAL_ORDER_INDICATOR, report.manual_order),
        (tags.AGGRESSOR_INDICATOR, report.aggressor if trade else None),
        (tags.CORRELATION_CL_ORD_ID, report.correlation_cl_ord_id),
    ]
    return build_message(MsgType.EXECUTION_REPORT, header, body)


def _totals(report: ExecutionReport) -> tuple[int, Decimal, int]:
    """CumQty, AvgPx and LeavesQty as the report states them: an order ack and a correction reset
    the totals; only an open order leaves a quantity."""
    kind = report.kind
    cum_qty, avg_px = (0, _ZERO) if kind in _RESETTING_KINDS else (report.cum_qty, report.avg_px)
    return cum_qty, avg_px, report.order_qty - cum_qty if kind in _OPEN_KINDS else 0


def _plain_values(r: ExecutionReport) -> bool:
    """Whether every value of ``r`` is a plain one of its type, which :func:`write_execution_report`
    writes as the field-by-field encoder would (else that encoder writes it, or words the refusal)."""
    trade = r.kind in _TRADE_KINDS
    texts = [r.order_id, r.cl_ord_id, r.exec_id, r.account, r.security_id, r.symbol, r.security_desc]
    texts += [r.security_type, r.side, r.ord_type, r.time_in_force]
    reference = r.exec_ref_id if r.kind in _REFERENCING_KINDS else None
    optional = (r.orig_cl_ord_id, reference, r.secondary_exec_id, r.correlation_cl_ord_id)
    texts += [text for text in optional if text is not None]
    decimals = (r.price, r.avg_px, r.last_px) if trade else (r.price, r.avg_px)
    return (
        plain_texts(texts)
        and all(type(number) is Decimal and number.is_finite() for number in decimals)
        and type(r.order_qty) is int
        and type(r.cum_qty) is int
        and (not trade or type(r.last_qty) is int)
        and type(r.manual_order) is bool
        and (not trade or r.aggressor is None or type(r.aggressor) is bool)
        and type(r.transact_time) is dt.datetime
        and r.transact_time.tzinfo is dt.UTC
    )


def write_execution_report(head: str, r: ExecutionReport) -> bytes:
    """The frame :func:`build_execution_report` builds, written from one template, unchecked.

    ``head`` is the standard header as :meth:`SessionHeader.fields_text` writes it. For reports
    whose values are consistent and plain by construction (the synthetic feed's, thousands a
    second); anything else goes through :func:`build_execution_report`, which checks first.
    """
    kind = r.kind
    cum_qty, avg_px, leaves_qty = _totals(r)
    trade = kind in _TRADE_KINDS
    orig, secondary, correlation = r.orig_cl_ord_id, r.secondary_exec_id, r.correlation_cl_ord_id
    parts = [f"35=8\x01{head}37={r.order_id}\x0111={r.cl_ord_id}\x01"]
    if orig is not None:
        parts.append(f"41={orig}\x01")
    parts.append(f"17={r.exec_id}\x01")
    if kind in _REFERENCING_KINDS and r.exec_ref_id is not None:
        parts.append(f"19={r.exec_ref_id}\x01")
    parts.append(_EXEC_CODES_TEXT[kind])
    parts.append(
        f"1={r.account}\x0148={r.security_id}\x0155={r.symbol}\x01107={r.security_desc}\x01"
        f"167={r.security_type}\x0154={r.side}\x0138={r.order_qty}\x0140={r.ord_type}\x0144={r.price:f}\x01"
        f"59={r.time_in_force}\x01"
    )
    if trade:
        parts.append(f"31={r.last_px:f}\x0132={r.last_qty}\x01")
    parts.append(
        f"14={cum_qty}\x01151={leaves_qty}\x016={avg_px:f}\x0160={format_sending_time(r.transact_time)}\x01"
        f"75={_local_mkt_date(r.trade_date)}\x01"
    )
    if secondary is not None:
        parts.append(f"527={secondary}\x01")
    parts.append("1028=Y\x01" if r.manual_order else "1028=N\x01")
    if trade and r.aggressor is not None:
        parts.append("1057=Y\x01" if r.aggressor else "1057=N\x01")
    if correlation is not None:
        parts.append(f"9717={correlation}\x01")
    return frame_body("".join(parts).encode("ascii"))

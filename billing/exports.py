"""Rendering a billing run as CSV, JSON and XLSX (R12).

Closing renders whole documents once (``render_*``: lines in, bytes out; the bytes are stored).
A draft is streamed instead (``draft_stream``): its lines are read in chunks through a server-side
cursor and written out as they come, so memory stays flat however many lines the run has.

Names and notes come from users: every CSV and XLSX cell goes through ``dropcopy_admin.spreadsheets``
(no formula, no control character); amounts are numbers there, not text.
"""

import csv
import datetime as dt
import io
import itertools
import json
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Sum
from django.http import HttpResponse, StreamingHttpResponse

from dropcopy_admin.spreadsheets import SafeWorkbook, safe_csv_row

from .months import BillingMonth

CHICAGO = ZoneInfo("America/Chicago")

CSV_HEADER = [
    "month",
    "bill_to_code",
    "bill_to_name",
    "entity_code",
    "entity_name",
    "group_id",
    "group_name",
    "venue",
    "billable_from",
    "billable_to",
    "amount",
    "reason",
    "corrects_month",
    "note",
]
TOTALS_HEADER = ["bill_to_code", "bill_to_name", "total", "currency"]
_AMOUNT = CSV_HEADER.index("amount")
AMOUNT_FORMAT = "0.00"  # an XLSX amount shows its cents, as the CSV and JSON write it


def _chicago(value: dt.datetime | None) -> str:
    return value.astimezone(CHICAGO).isoformat() if value is not None else ""


def line_rows(run, lines) -> list[dict]:
    """One flat dict per line, keyed by ``CSV_HEADER``; ``lines`` select their entity, bill-to and group."""
    return [
        {
            "month": f"{run.month:%Y-%m}",
            "bill_to_code": line.bill_to.code,
            "bill_to_name": line.bill_to.name,
            "entity_code": line.entity.code,
            "entity_name": line.entity.name,
            "group_id": line.group_id if line.group_id is not None else "",
            "group_name": line.group.name if line.group_id is not None else "",
            "venue": line.group.venue_id if line.group_id is not None else "",
            "billable_from": _chicago(line.billable_from),
            "billable_to": _chicago(line.billable_to),
            "amount": str(line.amount),
            "reason": line.reason,
            "corrects_month": f"{line.corrects_month:%Y-%m}" if line.corrects_month else "",
            "note": line.note,
        }
        for line in lines
    ]


def totals_by_bill_to(rows: list[dict]) -> list[dict]:
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in rows:
        totals[(row["bill_to_code"], row["bill_to_name"])] += Decimal(row["amount"])
    return [
        {"bill_to_code": code, "bill_to_name": name, "total": str(total)}
        for (code, name), total in sorted(totals.items())
    ]


def _typed(values: Iterable) -> list:
    """A line's values in ``CSV_HEADER`` order, the amount (text in the rows) as a ``Decimal``, so
    that a spreadsheet gets it as a number, and a credit's ``-`` is never taken for a formula."""
    typed = list(values)
    typed[_AMOUNT] = Decimal(typed[_AMOUNT])
    return typed


def _csv_line(values: Iterable) -> list[str]:
    return safe_csv_row(_typed(values))


def write_xlsx(target, *, currency: str, rows: Iterable[Iterable], totals: Iterable[dict]) -> None:
    """The workbook of a run — a "lines" sheet in ``CSV_HEADER`` order and a "totals" sheet per
    bill-to party — written to ``target`` (XlsxWriter, constant memory); ``totals`` is iterated
    after the last line. Amounts are numbers showing their cents."""
    with SafeWorkbook(target) as workbook:
        lines = workbook.sheet("lines")
        lines.append(CSV_HEADER)
        amount_format = {_AMOUNT: AMOUNT_FORMAT}
        for row in rows:
            lines.append(_typed(row), amount_format)
        totals_sheet = workbook.sheet("totals")
        totals_sheet.append(TOTALS_HEADER)
        total_format = {TOTALS_HEADER.index("total"): AMOUNT_FORMAT}
        for total in totals:
            totals_sheet.append(
                [total["bill_to_code"], total["bill_to_name"], Decimal(total["total"]), currency], total_format
            )


def render_csv(rows: list[dict]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow(_csv_line(row[column] for column in CSV_HEADER))
    return out.getvalue().encode("utf-8")


def render_json(run, rows: list[dict]) -> bytes:
    document = {
        "month": f"{run.month:%Y-%m}",
        "currency": run.currency,
        "total": str(run.total),
        "lines": rows,
        "totals": totals_by_bill_to(rows),
    }
    return json.dumps(document, indent=2, sort_keys=False).encode("utf-8")


def render_xlsx(run, rows: list[dict]) -> bytes:
    out = io.BytesIO()
    write_xlsx(
        out,
        currency=run.currency,
        rows=((row[column] for column in CSV_HEADER) for row in rows),
        totals=totals_by_bill_to(rows),
    )
    return out.getvalue()


# --- streamed exports of a draft run ----------------------------------------------------------

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
ROWS_PER_FETCH = 2000
BYTES_PER_CHUNK = 64 * 1024

# The values of one line in CSV_HEADER order after "month", joined in the one query.
_LINE_VALUES = (
    "bill_to__code",
    "bill_to__name",
    "entity__code",
    "entity__name",
    "group_id",
    "group__name",
    "group__venue_id",
    "billable_from",
    "billable_to",
    "amount",
    "reason",
    "corrects_month",
    "note",
)


def draft_rows(run, *, chunk_size: int = ROWS_PER_FETCH) -> Iterator[list]:
    """The run's lines in id order as lists in ``CSV_HEADER`` order (the values ``line_rows`` gives),
    fetched ``chunk_size`` at a time through a server-side cursor."""
    month = f"{run.month:%Y-%m}"
    values = run.lines.order_by("id").values_list(*_LINE_VALUES).iterator(chunk_size=chunk_size)
    for (
        bill_to_code,
        bill_to_name,
        entity_code,
        entity_name,
        group_id,
        group_name,
        venue,
        billable_from,
        billable_to,
        amount,
        reason,
        corrects_month,
        note,
    ) in values:
        has_group = group_id is not None
        yield [
            month,
            bill_to_code,
            bill_to_name,
            entity_code,
            entity_name,
            group_id if has_group else "",
            group_name if has_group else "",
            venue if has_group else "",
            _chicago(billable_from),
            _chicago(billable_to),
            str(amount),
            reason,
            f"{corrects_month:%Y-%m}" if corrects_month else "",
            note,
        ]


def draft_totals(run) -> Iterator[dict]:
    """Per bill-to party, the sum of the run's lines, as ``totals_by_bill_to`` gives it; one aggregate
    query, run when first iterated."""
    sums = run.lines.values_list("bill_to__code", "bill_to__name").annotate(total=Sum("amount")).order_by()
    for code, name, total in sorted(sums):
        yield {"bill_to_code": code, "bill_to_name": name, "total": str(total)}


def stream_csv(rows: Iterable[list]) -> Iterator[bytes]:
    """The CSV of ``render_csv`` in chunks of about ``BYTES_PER_CHUNK``."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow(_csv_line(row))
        if buffer.tell() >= BYTES_PER_CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _json_array(key: str, items: Iterable[dict], *, last: bool) -> Iterator[str]:
    """``"key": [ ... ]`` as ``json.dumps(..., indent=2)`` lays it out one level down, item by item."""
    yield f'  "{key}": ['
    separator = "\n    "
    empty = True
    for item in items:
        yield separator + json.dumps(item, indent=2).replace("\n", "\n    ")
        separator = ",\n    "
        empty = False
    yield ("]" if empty else "\n  ]") + ("\n" if last else ",\n")


def stream_json(run, rows: Iterable[list], totals: Iterable[dict]) -> Iterator[bytes]:
    """The document of ``render_json``, byte for byte, written line by line; ``totals`` is iterated
    after the last line."""
    head = json.dumps({"month": f"{run.month:%Y-%m}", "currency": run.currency, "total": str(run.total)}, indent=2)
    lines = (dict(zip(CSV_HEADER, row, strict=True)) for row in rows)
    pieces = [head.removesuffix("\n}") + ",\n"]
    size = 0
    for piece in itertools.chain(_json_array("lines", lines, last=False), _json_array("totals", totals, last=True)):
        pieces.append(piece)
        size += len(piece)
        if size >= BYTES_PER_CHUNK:
            yield "".join(pieces).encode("utf-8")
            pieces, size = [], 0
    pieces.append("}")
    yield "".join(pieces).encode("utf-8")


def stream_xlsx(run, rows: Iterable[list], totals: Iterable[dict]) -> Iterator[bytes]:
    """The workbook of ``render_xlsx``, byte for byte, written row by row into an anonymous
    temporary file (constant memory), then read back in chunks."""
    with tempfile.TemporaryFile() as spool:
        write_xlsx(spool, currency=run.currency, rows=rows, totals=totals)
        spool.seek(0)
        while block := spool.read(BYTES_PER_CHUNK):
            yield block


def draft_stream(run, fmt: str, *, rows: Iterable[list] | None = None) -> Iterator[bytes]:
    """A draft run's export in ``fmt`` (csv, json or xlsx) as byte chunks, produced as they are read.

    ``rows`` defaults to ``draft_rows(run)``; a caller may wrap it (to count progress, say).
    """
    rows = draft_rows(run) if rows is None else rows
    if fmt == "csv":
        return stream_csv(rows)
    if fmt == "json":
        return stream_json(run, rows, draft_totals(run))
    if fmt == "xlsx":
        return stream_xlsx(run, rows, draft_totals(run))
    raise ValueError(f"Unknown export format {fmt!r}.")


class StreamedDownload(StreamingHttpResponse):
    """A file download streamed chunk by chunk; read it through ``streaming_content``."""

    def __init__(self, chunks: Iterable[bytes], *, content_type: str, filename: str):
        super().__init__(chunks, content_type=content_type)
        self["Content-Disposition"] = f'attachment; filename="{filename}"'


def download_filename(run, fmt: str) -> str:
    """``billing-2026-11.csv``: the name a run's export is saved under."""
    return f"billing-{BillingMonth.of(run.month)}.{fmt}"


def run_download(run, fmt: str) -> HttpResponse | StreamedDownload:
    """A run's export in ``fmt`` (csv, json or xlsx) as an HTTP download, for the API and the admin.

    A closed run answers the bytes stored when it closed; a draft is streamed from its lines as they
    are read, so memory stays flat however many lines it has.
    """
    if fmt not in CONTENT_TYPES:
        raise ValueError(f"Unknown export format {fmt!r}.")
    content_type, filename = CONTENT_TYPES[fmt], download_filename(run, fmt)
    if not run.is_closed:
        return StreamedDownload(draft_stream(run, fmt), content_type=content_type, filename=filename)
    # The admin's runs leave their stored bytes deferred: reading the attribute fetches that one.
    response = HttpResponse(bytes(getattr(run, f"{fmt}_bytes")), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response

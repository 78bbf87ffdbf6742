"""Rendering a billing run as CSV, JSON and XLSX (R12). Pure: lines in, bytes out."""

import csv
import datetime as dt
import io
import json
from collections import defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

from openpyxl import Workbook

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


def render_csv(rows: list[dict]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=CSV_HEADER, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
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
    workbook = Workbook()
    lines_sheet = workbook.active
    lines_sheet.title = "lines"
    lines_sheet.append(CSV_HEADER)
    for row in rows:
        lines_sheet.append([row[column] for column in CSV_HEADER])
    totals_sheet = workbook.create_sheet("totals")
    totals_sheet.append(["bill_to_code", "bill_to_name", "total", "currency"])
    for total in totals_by_bill_to(rows):
        totals_sheet.append([total["bill_to_code"], total["bill_to_name"], total["total"], run.currency])
    # Fixed document properties keep the bytes a function of the run alone.
    fixed = dt.datetime(2000, 1, 1)
    workbook.properties.created = fixed
    workbook.properties.modified = fixed
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()

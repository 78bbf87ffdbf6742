"""Write a billing run's export (R12): the stored bytes of a closed run, rendered for a draft."""

import datetime as dt
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from billing import exports
from billing.models import BillingRun

FORMATS = ("csv", "json", "xlsx")
CHUNK = 64 * 1024


def parse_month(value: str) -> dt.date:
    try:
        parsed = dt.datetime.strptime(value, "%Y-%m")
    except ValueError:
        raise CommandError(f"Bad --month {value!r}: give YYYY-MM, e.g. 2026-02.") from None
    return parsed.date().replace(day=1)


def _counted(items, progress: tqdm):
    for item in items:
        progress.update(1)
        yield item


def render(run: BillingRun, fmt: str, progress: tqdm) -> bytes:
    """The run's file in ``fmt``: the frozen bytes of a closed run, else rendered from its lines."""
    if run.is_closed:
        stored = getattr(run, f"{fmt}_bytes")
        if stored is not None:
            progress.update(run.line_count)
            return bytes(stored)
    lines = run.lines.select_related("entity", "bill_to", "group").order_by("id")
    rows = exports.line_rows(run, _counted(lines.iterator(chunk_size=2000), progress))
    if fmt == "csv":
        return exports.render_csv(rows)
    if fmt == "json":
        return exports.render_json(run, rows)
    return exports.render_xlsx(run, rows)


class Command(BaseCommand):
    help = "Write a month's billing run as CSV, JSON or XLSX (R12)."

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="The month billed, YYYY-MM")
        parser.add_argument("--format", required=True, choices=FORMATS, dest="fmt")
        parser.add_argument("--output", help="The file to write (default: billing-YYYY-MM.<format>)")

    def handle(self, *args, month: str, fmt: str, output: str | None, **options):
        month_date = parse_month(month)
        run = BillingRun.objects.filter(month=month_date).first()
        if run is None:
            raise CommandError(f"There is no billing run for {month_date:%Y-%m}.")
        path = Path(output or f"billing-{month_date:%Y-%m}.{fmt}")
        with tqdm(total=run.line_count, desc=f"{month_date:%Y-%m} lines", unit="line", file=sys.stderr) as bar:
            data = render(run, fmt, bar)
        try:
            with (
                path.open("wb") as out,
                tqdm(total=len(data), desc=f"writing {path.name}", unit="B", unit_scale=True, file=sys.stderr) as bar,
            ):
                for start in range(0, len(data), CHUNK):
                    out.write(data[start : start + CHUNK])
                    bar.update(len(data[start : start + CHUNK]))
        except OSError as error:
            raise CommandError(f"Cannot write {path}: {error}") from error
        state = "closed" if run.is_closed else "draft"
        self.stdout.write(f"Wrote {path} ({len(data)} bytes, {run.line_count} lines, {state} run).")

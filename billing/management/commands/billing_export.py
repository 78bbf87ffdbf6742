"""Write a billing run's export (R12): the stored bytes of a closed run, streamed from a draft's lines.

A draft is written as it is read (``exports.draft_stream``), so memory stays flat however many
lines the run has; a progress bar on stderr counts the lines done out of the run's total.
"""

import sys
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from billing import exports
from billing.models import BillingRun
from billing.months import BillingMonth, NotAMonth

FORMATS = ("csv", "json", "xlsx")
CHUNK = 64 * 1024
STDOUT = "-"


def _counted(rows: Iterable[list], progress: tqdm) -> Iterator[list]:
    for row in rows:
        progress.update(1)
        yield row


def chunks(run: BillingRun, fmt: str, progress: tqdm) -> Iterator[bytes]:
    """The run's file in ``fmt``: the frozen bytes of a closed run, else streamed from its lines."""
    stored = getattr(run, f"{fmt}_bytes") if run.is_closed else None
    if stored is not None:
        data = bytes(stored)
        progress.update(run.line_count)
        for start in range(0, len(data), CHUNK):
            yield data[start : start + CHUNK]
        return
    yield from exports.draft_stream(run, fmt, rows=_counted(exports.draft_rows(run), progress))


class Command(BaseCommand):
    help = "Write a month's billing run as CSV, JSON or XLSX (R12), with a progress bar on stderr."

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="The month billed, YYYY-MM")
        parser.add_argument("--format", required=True, choices=FORMATS, dest="fmt")
        parser.add_argument(
            "--output", help="The file to write, or - for standard output (default: billing-YYYY-MM.<format>)"
        )

    def handle(self, *args, month: str, fmt: str, output: str | None, **options):
        try:
            billed = BillingMonth.parse(month)
        except NotAMonth:
            raise CommandError(f"Bad --month {month!r}: give YYYY-MM, e.g. 2026-02.") from None
        run = BillingRun.objects.filter(month=billed.first_day).first()
        if run is None:
            raise CommandError(f"There is no billing run for {billed}.")
        to_stdout = output == STDOUT
        path = None if to_stdout else Path(output or exports.download_filename(run, fmt))
        written = 0
        try:
            with (
                nullcontext(sys.stdout.buffer) if to_stdout else path.open("wb") as out,
                tqdm(total=run.line_count, desc=f"{billed} lines", unit="line", file=sys.stderr) as bar,
            ):
                for chunk in chunks(run, fmt, bar):
                    out.write(chunk)
                    written += len(chunk)
                out.flush()
        except OSError as error:
            raise CommandError(f"Cannot write {output or path}: {error}") from error
        state = "closed" if run.is_closed else "draft"
        summary = (
            f"Wrote {'standard output' if to_stdout else path} ({written} bytes, {run.line_count} lines, {state} run)."
        )
        # With the file on standard output, the summary goes to stderr with the progress bar.
        (self.stderr if to_stdout else self.stdout).write(summary)

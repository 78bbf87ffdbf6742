"""Compute a month's billing run for 10,000 entities and 50,000 production groups, and render its CSV.

Goal: at most 10 s and under 300 MB peak memory for the billing process, and at most 3 times the
baseline.

Each run creates a fresh benchmark database (``dropcopy_bench`` on the server of ``DATABASE_URL``,
or ``BENCH_DATABASE_URL``) and migrates it. A child process then creates 10,000 entities (a tenth
billed to another entity) and 50,000 CME PRODUCTION groups with a year of history: ``opened_at``
spread over the past twelve months, about 30 % closed at a random later time, all on one vendor
front-end system. Another child computes the previous full America/Chicago month with
``billing_run_compute`` and streams the CSV export of its lines to a file (the draft path of the API,
the admin and ``billing_export``), and reports its own wall time and peak RSS (its VmHWM,
Django's start-up included).

Memory flatness of the streamed draft exports: a fresh child per format (CSV, XLSX) only streams the
draft run's export to a file and reports its time, its peak RSS (``billing_export_draft_peak_memory``
for the CSV) and how far that peak rose above the process's RSS just before the export (``…_memory_growth``:
a few MB when the export streams, tens of MB per 50,000 lines when it is built in memory).

The baseline, on the same database, is one SQL ``INSERT … SELECT`` computing the same lines (the
oldest billable group of each entity free by ``row_number()``, the tariff's fee for the rest) into a
scratch run, plus ``COPY (SELECT …) TO STDOUT`` writing them to a file as CSV. Both must give the same
number of lines and the same total.

Run alone: ``python -m bench.run billing``.
"""

import datetime as dt
import json
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import psycopg

from bench.common import base36, bench_database_url, child_env, django_setup, memory_kb, recreate_database, run_child

ENTITIES = 10_000
GROUPS = 50_000
CLOSED_SHARE = 0.30
BILLED_ELSEWHERE_SHARE = 0.10
SEED = 20260412
SCRATCH_MONTH = dt.date(1999, 1, 1)

BASELINE_LINES = """
INSERT INTO billing_billingline
    (run_id, entity_id, bill_to_id, group_id, amount, reason, corrects_month, note, billable_from, billable_to)
SELECT %(run)s, g.entity_id, coalesce(e.bill_to_id, e.id), g.id,
       CASE WHEN g.rank_in_entity <= %(free)s THEN 0 ELSE %(fee)s END,
       CASE WHEN g.rank_in_entity <= %(free)s THEN 'free' ELSE 'additional' END,
       NULL, '', greatest(g.opened_at, %(start)s), least(coalesce(g.closed_at, %(end)s), %(end)s)
FROM (
    SELECT id, entity_id, opened_at, closed_at,
           row_number() OVER (PARTITION BY entity_id ORDER BY opened_at, id) AS rank_in_entity
    FROM dropcopy_admin_dropcopygroup
    WHERE environment = 'PRODUCTION' AND opened_at < %(end)s AND (closed_at IS NULL OR closed_at > %(start)s)
) AS g
JOIN dropcopy_admin_entity AS e ON e.id = g.entity_id
"""

BASELINE_EXPORT = """
COPY (
    SELECT to_char(r.month, 'YYYY-MM'), bt.code, bt.name, e.code, e.name, l.group_id, g.name, g.venue_id,
           l.billable_from AT TIME ZONE 'America/Chicago', l.billable_to AT TIME ZONE 'America/Chicago',
           l.amount, l.reason, to_char(l.corrects_month, 'YYYY-MM'), l.note
    FROM billing_billingline AS l
    JOIN billing_billingrun AS r ON r.id = l.run_id
    JOIN dropcopy_admin_entity AS e ON e.id = l.entity_id
    JOIN dropcopy_admin_entity AS bt ON bt.id = l.bill_to_id
    LEFT JOIN dropcopy_admin_dropcopygroup AS g ON g.id = l.group_id
    WHERE l.run_id = {run}
    ORDER BY l.id
) TO STDOUT WITH (FORMAT csv, HEADER)
"""


def previous_month(now: dt.datetime) -> dt.date:
    """The first day of the last full America/Chicago month before ``now``."""
    from zoneinfo import ZoneInfo

    first = now.astimezone(ZoneInfo("America/Chicago")).date().replace(day=1)
    return (first - dt.timedelta(days=1)).replace(day=1)


# --- the child processes ---------------------------------------------------------------------


def child_setup() -> None:
    """Entities, one shared vendor front-end system, and a year of production groups."""
    django_setup()
    from dropcopy_admin import clock
    from dropcopy_admin.choices import Environment, GroupStatus
    from dropcopy_admin.models import DropCopyGroup, Entity, FrontEndSystem

    rng = random.Random(SEED)
    now = clock.now()
    entities = Entity.objects.bulk_create(
        (Entity(code="B" + base36(n, 5), name=f"Bench Billing {n}") for n in range(ENTITIES)), batch_size=5000
    )
    billed = [entity for entity in entities if rng.random() < BILLED_ELSEWHERE_SHARE]
    for entity in billed:
        entity.bill_to = entities[(entity.pk - entities[0].pk + 1) % ENTITIES]
    Entity.objects.bulk_update(billed, ["bill_to"], batch_size=5000)
    front_end = FrontEndSystem.objects.create(name="BenchVendor", version="1.0", vendor="BENCH", created_at=now)
    year = 365 * 24 * 3600

    def group(n: int) -> DropCopyGroup:
        opened_at = now - dt.timedelta(seconds=rng.uniform(0, year))
        closed_at = None
        if rng.random() < CLOSED_SHARE:
            closed_at = opened_at + dt.timedelta(seconds=rng.uniform(0, (now - opened_at).total_seconds()))
        return DropCopyGroup(
            entity=entities[rng.randrange(ENTITIES)],
            name=f"Bench group {n}",
            venue_id="CME",
            environment=Environment.PRODUCTION,
            front_end_system=front_end,
            message_filters={},
            status=GroupStatus.CLOSED if closed_at else GroupStatus.ACTIVE,
            opened_at=opened_at,
            closed_at=closed_at,
        )

    DropCopyGroup.objects.bulk_create((group(n) for n in range(GROUPS)), batch_size=5000)


def child_compute(path: str) -> None:
    """Compute the previous month's run and render its CSV to ``path``; print what it took."""
    django_setup()
    from billing import exports
    from billing.services import billing_run_compute
    from dropcopy_admin import clock
    from dropcopy_admin.services.audit import SystemActor

    month = previous_month(clock.now())
    started = time.perf_counter()
    run = billing_run_compute(actor=SystemActor("bench"), month=month)
    with Path(path).open("wb") as out:
        for chunk in exports.draft_stream(run, "csv"):
            out.write(chunk)
    seconds = time.perf_counter() - started
    peak_kb = memory_kb("VmHWM")
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_kb": peak_kb,
                "month": month.isoformat(),
                "lines": run.line_count,
                "total": str(run.total),
            }
        )
    )


def child_export(fmt: str, path: str) -> None:
    """Stream the draft run's export in ``fmt`` to ``path`` alone; print the peak memory it took
    above the process's size once Django is set up, which stays flat when the export streams."""
    django_setup()
    from billing import exports
    from billing.models import BillingRun
    from dropcopy_admin import clock

    run = BillingRun.objects.get(month=previous_month(clock.now()))
    before_kb = memory_kb("VmRSS")
    started = time.perf_counter()
    with Path(path).open("wb") as out:
        for chunk in exports.draft_stream(run, fmt):
            out.write(chunk)
    seconds = time.perf_counter() - started
    peak_kb = memory_kb("VmHWM")
    print(json.dumps({"seconds": seconds, "peak_kb": peak_kb, "before_kb": before_kb, "lines": run.line_count}))


# --- the baseline ----------------------------------------------------------------------------


def sql_baseline(url: str, month: dt.date, path: Path) -> tuple[float, int, Decimal]:
    """Time one INSERT … SELECT of the month's lines into a scratch run and COPY of them to a file."""
    from zoneinfo import ZoneInfo

    chicago = ZoneInfo("America/Chicago")
    following = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    start = dt.datetime(month.year, month.month, 1, tzinfo=chicago).astimezone(dt.UTC)
    end = dt.datetime(following.year, following.month, 1, tzinfo=chicago).astimezone(dt.UTC)
    with psycopg.connect(url) as conn:
        run_id = conn.execute(
            "INSERT INTO billing_billingrun (month, status, currency, total, line_count,"
            " csv_sha256, json_sha256, xlsx_sha256) VALUES (%s, 'draft', 'USD', 0, 0, '', '', '') RETURNING id",
            (SCRATCH_MONTH,),
        ).fetchone()[0]
        conn.commit()
        started = time.perf_counter()
        free, fee = conn.execute(
            "SELECT free_groups, monthly_fee FROM billing_tariff WHERE effective_month <= %s"
            " ORDER BY effective_month DESC LIMIT 1",
            (month,),
        ).fetchone()
        conn.execute(BASELINE_LINES, {"run": run_id, "free": free, "fee": fee, "start": start, "end": end})
        conn.commit()
        statement = BASELINE_EXPORT.format(run=int(run_id))
        with conn.cursor() as cursor, cursor.copy(statement) as copy, path.open("wb") as out:
            for block in copy:
                out.write(block)
        seconds = time.perf_counter() - started
        count, total = conn.execute(
            "SELECT count(*), coalesce(sum(amount), 0) FROM billing_billingline WHERE run_id = %s", (run_id,)
        ).fetchone()
    return seconds, count, total


def run() -> list[str]:
    url = bench_database_url()
    recreate_database(url)
    run_child_on(["manage.py", "migrate", "--noinput", "-v", "0"], url)
    run_child_on(["-m", "bench.bench_billing", "setup"], url)
    with tempfile.TemporaryDirectory(prefix="dropcopy-bench-") as folder:
        measured = json.loads(
            run_child_on(["-m", "bench.bench_billing", "compute", str(Path(folder) / "run.csv")], url)
            .strip()
            .splitlines()[-1]
        )
        exported = {
            fmt: json.loads(
                run_child_on(["-m", "bench.bench_billing", "export", fmt, str(Path(folder) / f"draft.{fmt}")], url)
                .strip()
                .splitlines()[-1]
            )
            for fmt in ("csv", "xlsx")
        }
        month = dt.date.fromisoformat(measured["month"])
        baseline, count, total = sql_baseline(url, month, Path(folder) / "baseline.csv")
    if count != measured["lines"] or total != Decimal(measured["total"]):
        raise RuntimeError(
            f"the run has {measured['lines']} lines totalling {measured['total']}, "
            f"the SQL baseline {count} lines totalling {total}"
        )
    if count == 0:
        raise RuntimeError("the run has no lines")
    seconds = measured["seconds"]
    name = "billing_10k_entities_50k_groups"
    return [
        f"bench: {name} {seconds:.2f} s baseline {baseline:.3f} s ratio {seconds / baseline:.1f}",
        f"bench: {name}_peak_memory {measured['peak_kb'] / 1024:.1f} MB",
        *(line for fmt, figures in exported.items() for line in export_figures(fmt, figures)),
        # The workbook beside the CSV of the same lines, in the same run (goal: at most 3x).
        xlsx_beside_csv(exported["xlsx"]["seconds"], exported["csv"]["seconds"]),
    ]


def xlsx_beside_csv(xlsx_seconds: float, csv_seconds: float) -> str:
    return (
        f"bench: billing_export_draft_xlsx_vs_csv {xlsx_seconds:.2f} s "
        f"baseline {csv_seconds:.2f} s ratio {xlsx_seconds / csv_seconds:.1f}"
    )


def export_figures(fmt: str, figures: dict) -> list[str]:
    """The draft export's figures: its time, its peak memory (the CSV one named
    ``billing_export_draft_peak_memory``) and how far that peak rose above the process before it."""
    memory_name = "billing_export_draft_peak_memory" if fmt == "csv" else f"billing_export_draft_{fmt}_peak_memory"
    growth_mb = (figures["peak_kb"] - figures["before_kb"]) / 1024
    return [
        f"bench: billing_export_draft_{fmt}_seconds {figures['seconds']:.2f} s",
        f"bench: {memory_name} {figures['peak_kb'] / 1024:.1f} MB",
        f"bench: billing_export_draft_{fmt}_memory_growth {growth_mb:.1f} MB",
    ]


def run_child_on(args: list[str], url: str) -> str:
    return run_child(args, child_env(url))


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "setup":
        child_setup()
    elif command == "compute":
        child_compute(sys.argv[2])
    elif command == "export":
        child_export(sys.argv[2], sys.argv[3])
    else:
        sys.exit(
            "usage: python -m bench.bench_billing setup | compute FILE | export csv|json|xlsx FILE"
            " (or run it with python -m bench.run billing)"
        )

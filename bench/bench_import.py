"""Import 10,000 source sessions from CSV into PostgreSQL through the real service.

Goal: at most 10 s and under 300 MB peak memory for the importing process.

Each run creates a fresh benchmark database (``dropcopy_bench`` on the server of ``DATABASE_URL``,
or ``BENCH_DATABASE_URL``) and migrates it. A child process then creates the reference parties
(entities, clearing firms, GFIDs and an account manager); another child imports the file with
``source_sessions_import`` and reports its own wall time and peak RSS (its VmHWM: Django's
start-up included, since that is what an importing process weighs). The baseline is PostgreSQL
``COPY`` of the very same rows into the source session table, after the imported ones are deleted.

The file is a realistic mix: CME CGW across the four CME CGW gateways and CME MSGW, BrokerTec
MSGW (9-character SenderCompIDs, 5-character GFIDs), EBS CGW and MSGW, in PRODUCTION and
NEW_RELEASE; some rows name their clearing firm, the rest take the GFID's.

Run alone: ``python -m bench.run import``.
"""

import csv
import io
import json
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from bench.common import base36, bench_database_url, child_env, django_setup, memory_kb, recreate_database, run_child

SESSIONS = 10_000
SEED = 20260301
ACCOUNT_MANAGER = "bench-am"

# venue, gateway type, share of the file, CGW gateway codes (empty for MSGW)
MIX = [
    ("CME", "CGW", 0.40, ("CGW1", "CGW2", "CGW3", "CGW4")),
    ("CME", "MSGW", 0.25, ()),
    ("BROKERTEC", "MSGW", 0.15, ()),
    ("EBS", "CGW", 0.10, ("CGW1", "CGW2")),
    ("EBS", "MSGW", 0.10, ()),
]
ENVIRONMENTS = (("PRODUCTION", 0.7), ("NEW_RELEASE", 0.3))
GFID_COUNTS = {"CME": 200, "BROKERTEC": 60, "EBS": 60}
GFID_LENGTHS = {"CME": 3, "BROKERTEC": 5, "EBS": 3}
GFID_PREFIXES = {"CME": "C", "BROKERTEC": "B", "EBS": "E"}
CLEARING_FIRMS = 20
ENTITIES = 100
COPY_COLUMNS = (
    "sender_comp_id",
    "venue_id",
    "environment",
    "gateway_type",
    "cgw_gateway_id",
    "gfid_id",
    "clearing_firm_id",
    "created_at",
)


# --- what the file holds ---------------------------------------------------------------------


@dataclass(frozen=True)
class GfidPlan:
    code: str
    venue: str
    entity: str
    clearing_firm: str | None


def clearing_firm_codes() -> list[str]:
    return [f"F{n:02d}" for n in range(CLEARING_FIRMS)]


def entity_codes() -> list[str]:
    return [f"BENCH{n:03d}" for n in range(ENTITIES)]


def gfid_plan() -> list[GfidPlan]:
    """CME GFIDs always have a clearing firm; a third of BrokerTec's and EBS's have none."""
    firms, entities = clearing_firm_codes(), entity_codes()
    plan = []
    for venue, count in GFID_COUNTS.items():
        width = GFID_LENGTHS[venue] - 1
        for n in range(count):
            firm = firms[n % len(firms)] if venue == "CME" or n % 3 else None
            plan.append(GfidPlan(GFID_PREFIXES[venue] + base36(n, width), venue, entities[n % len(entities)], firm))
    return plan


def csv_bytes(count: int = SESSIONS) -> bytes:
    """The import file: ``count`` valid rows of the mix, deterministic for a given count."""
    rng = random.Random(SEED)
    gfids_by_venue: dict[str, list[GfidPlan]] = {}
    for gfid in gfid_plan():
        gfids_by_venue.setdefault(gfid.venue, []).append(gfid)
    firms = clearing_firm_codes()
    next_session_id: dict[tuple[str, str], int] = {}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("sender_comp_id", "venue", "environment", "gateway_type", "cgw_gateway", "gfid", "clearing_firm"))
    shares = [share for _venue, _gateway_type, share, _gateways in MIX]
    environments, weights = zip(*ENVIRONMENTS, strict=True)
    for _ in range(count):
        venue, gateway_type, _share, gateways = rng.choices(MIX, weights=shares)[0]
        environment = rng.choices(environments, weights=weights)[0]
        gfid = rng.choice(gfids_by_venue[venue])
        number = next_session_id.get((environment, gfid.code), 0)
        next_session_id[(environment, gfid.code)] = number + 1
        sender_comp_id = base36(number, 3) + gfid.code + rng.choice("NU")
        cgw_gateway = rng.choice(gateways) if gateways else ""
        firm = rng.choice(firms) if rng.random() < 0.1 else ""
        writer.writerow((sender_comp_id, venue, environment, gateway_type, cgw_gateway, gfid.code, firm))
    return out.getvalue().encode()


# --- the database ----------------------------------------------------------------------------


# --- the child processes ---------------------------------------------------------------------


def child_setup() -> None:
    """Create the parties the file names, and the account manager who imports it."""
    django_setup()
    from dropcopy_admin.choices import Role
    from dropcopy_admin.models import ClearingFirm, Entity, Gfid, User

    firms = {
        firm.code: firm
        for firm in ClearingFirm.objects.bulk_create(
            ClearingFirm(code=code, name=f"Bench Clearing {code}") for code in clearing_firm_codes()
        )
    }
    entities = {
        entity.code: entity
        for entity in Entity.objects.bulk_create(
            Entity(code=code, name=f"Bench Trading {code}", self_service=True) for code in entity_codes()
        )
    }
    Gfid.objects.bulk_create(
        Gfid(
            code=gfid.code,
            venue_id=gfid.venue,
            entity=entities[gfid.entity],
            clearing_firm=firms.get(gfid.clearing_firm),
        )
        for gfid in gfid_plan()
    )
    User.objects.create_superuser(ACCOUNT_MANAGER, f"{ACCOUNT_MANAGER}@example.com", "bench", role=Role.ACCOUNT_MANAGER)


def child_import(path: str) -> None:
    """Import the file once and print what it took; the process's peak RSS is its whole weight."""
    django_setup()
    from dropcopy_admin.models import SourceSession, User
    from dropcopy_admin.services.source_sessions import source_sessions_import

    data = Path(path).read_bytes()
    actor = User.objects.get(username=ACCOUNT_MANAGER)
    started = time.perf_counter()
    result = source_sessions_import(actor=actor, data=data)
    seconds = time.perf_counter() - started
    peak_kb = memory_kb("VmHWM")
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_kb": peak_kb,
                "created": result.created,
                "errors": result.errors[:5],
                "table": SourceSession._meta.db_table,
            }
        )
    )


# --- the baseline ----------------------------------------------------------------------------


def copy_baseline(url: str, table: str) -> float:
    """Take the imported rows out, then time COPY putting the same rows back."""
    columns = sql.SQL(", ").join(map(sql.Identifier, COPY_COLUMNS))
    with psycopg.connect(url) as conn:
        rows = conn.execute(sql.SQL("SELECT {} FROM {} ORDER BY id").format(columns, sql.Identifier(table))).fetchall()
        conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cursor:
            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table), columns)
            with cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        conn.commit()
        seconds = time.perf_counter() - started
        copied = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]
    if copied != len(rows):
        raise RuntimeError(f"COPY stored {copied} rows, expected {len(rows)}")
    return seconds


def run() -> list[str]:
    url = bench_database_url()
    recreate_database(url)
    run_child_on(["manage.py", "migrate", "--noinput", "-v", "0"], url)
    run_child_on(["-m", "bench.bench_import", "setup"], url)
    with tempfile.TemporaryDirectory(prefix="dropcopy-bench-") as folder:
        path = Path(folder) / "sessions.csv"
        path.write_bytes(csv_bytes())
        measured = json.loads(
            run_child_on(["-m", "bench.bench_import", "import", str(path)], url).strip().splitlines()[-1]
        )
    if measured["created"] != SESSIONS or measured["errors"]:
        raise RuntimeError(f"the import stored {measured['created']} of {SESSIONS}: {measured['errors']}")
    baseline = copy_baseline(url, measured["table"])
    seconds = measured["seconds"]
    return [
        f"bench: import_10k_sessions {seconds:.2f} s baseline {baseline:.3f} s ratio {seconds / baseline:.1f}",
        f"bench: import_10k_sessions_peak_memory {measured['peak_kb'] / 1024:.1f} MB",
    ]


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "setup":
        child_setup()
    elif command == "import":
        child_import(sys.argv[2])
    else:
        sys.exit("usage: python -m bench.bench_import setup | import FILE (or run it with python -m bench.run import)")


def run_child_on(args: list[str], url: str) -> str:
    return run_child(args, child_env(url))

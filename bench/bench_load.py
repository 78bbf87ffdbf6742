"""Load: the roles' mix of API calls (``bench/locustfile.py``) against the production web process
on the scale world, with the same server's ``/healthz`` as the floor.

Each run copies the scale world (``seed_scale``, database ``LOAD_SCALE_TEMPLATE``, default
``dropcopy_scale``, built once by ``migrate`` and ``seed_scale`` when missing, never written)
into a fresh database (``LOAD_DATABASE``, default
``dropcopy_load``) with ``CREATE DATABASE … TEMPLATE``; a child adds the three users (an account
manager, a client of the entity with the most targets, the clearing firm with the most pending
memberships) and writes the fixtures (ids to read, pending memberships to approve, groups and
sessions to preview, targets to key, the last closed billing month). The Procfile's ``web``
command (gunicorn, ``WEB_CONCURRENCY`` workers, production settings) serves it on a free port of
127.0.0.1, its tasks queued on Redis (``LOAD_BROKER_URL``, database 5 by default, emptied after)
with no worker, as a web process of a larger deployment queues them. locust runs headless,
bounded: ``LOAD_USERS`` users (20), ``LOAD_SECONDS`` seconds (60), ``LOAD_MAX_REQUESTS`` requests.

First one user per role for ``LOAD_SERIAL_SECONDS`` (20): each endpoint's own cost with no queue before
it. Then the load, printed per endpoint: p95 beside ``/healthz``'s p95 under the same load (the
ratio), then throughput, p50/p95/p99 and errors; ``/healthz`` idle, the database's busy backends
and connections opened (``pg_stat_database``). Run alone: ``python -m bench.run load``.
"""

import csv
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from bench.common import child_env, django_setup, recreate_database, run_child

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TEMPLATE = os.environ.get("LOAD_SCALE_TEMPLATE", "dropcopy_scale")
DATABASE = os.environ.get("LOAD_DATABASE", "dropcopy_load")
BROKER_URL = os.environ.get("LOAD_BROKER_URL", "redis://127.0.0.1:6379/5")
USERS = int(os.environ.get("LOAD_USERS", "20"))
SECONDS = int(os.environ.get("LOAD_SECONDS", "60"))
SERIAL_SECONDS = int(os.environ.get("LOAD_SERIAL_SECONDS", "20"))
MAX_REQUESTS = int(os.environ.get("LOAD_MAX_REQUESTS", "100000"))
WEB_WORKERS = int(os.environ.get("WEB_CONCURRENCY", "3"))
WEB_DATABASE_OPTIONS = os.environ.get("LOAD_WEB_DATABASE_OPTIONS", "")
"""Appended to the web's ``DATABASE_URL`` as its query, e.g. ``conn_max_age=60`` (django-environ)."""
PASSWORD = "load-" + "bench-password-1"
USERNAMES = {"account_manager": "load.am", "client": "load.client", "clearing_firm": "load.firm"}


# --- the database ----------------------------------------------------------------------------


def load_database_url() -> str:
    parts = urlsplit(os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres")
    return urlunsplit(parts._replace(path="/" + DATABASE))


def build_scale_world(url: str) -> None:
    """The template itself, built once (``migrate`` and ``seed_scale``, about 2.5 minutes) and kept
    for the next runs."""
    template_url = urlunsplit(urlsplit(url)._replace(path="/" + TEMPLATE))
    recreate_database(template_url)
    run_child(["manage.py", "migrate", "--noinput", "-v", "0"], child_env(template_url))
    run_child(["manage.py", "seed_scale"], child_env(template_url))


def copy_scale_world(url: str) -> None:
    """A fresh copy of the template (built first when missing), retried while another session is
    connected to it."""
    if DATABASE == TEMPLATE:
        raise SystemExit("LOAD_DATABASE must not be the scale template: the load writes")
    maintenance = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [TEMPLATE]).fetchone():
            build_scale_world(url)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DATABASE)))
        for attempt in range(30):
            try:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(DATABASE), sql.Identifier(TEMPLATE))
                )
                return
            except psycopg.errors.ObjectInUse:
                if attempt == 29:
                    raise
                time.sleep(2)


def child_setup(path: str) -> None:
    """Add the load's users and write the fixtures the locustfile reads."""
    django_setup()
    from django.db import connection

    from billing.models import BillingRun
    from dropcopy_admin.choices import Role
    from dropcopy_admin.models import User

    def column(query: str, *params) -> list:
        with connection.cursor() as cursor:
            cursor.execute(query, params)
            return [row[0] for row in cursor.fetchall()]

    client_entity = column(
        "SELECT g.entity_id FROM dropcopy_admin_targetsession t"
        " JOIN dropcopy_admin_dropcopygroup g ON g.id = t.group_id GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    )[0]
    firm = column(
        "SELECT s.clearing_firm_id FROM dropcopy_admin_membership m"
        " JOIN dropcopy_admin_sourcesession s ON s.id = m.source_session_id"
        " WHERE m.status = 'pending' AND s.clearing_firm_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    )[0]
    User.objects.create_superuser(USERNAMES["account_manager"], "", PASSWORD, role=Role.ACCOUNT_MANAGER)
    User.objects.create_user(USERNAMES["client"], password=PASSWORD, role=Role.CLIENT, entity_id=client_entity)
    User.objects.create_user(
        USERNAMES["clearing_firm"], password=PASSWORD, role=Role.CLEARING_FIRM, clearing_firm_id=firm
    )
    pending = column("SELECT id FROM dropcopy_admin_membership WHERE status = 'pending'")
    random.Random(16).shuffle(pending)
    previews = [
        [group, sessions]
        for group, sessions in _rows(
            connection,
            "SELECT g.id, (SELECT array_agg(s.id) FROM (SELECT s.id FROM dropcopy_admin_sourcesession s"
            "   JOIN dropcopy_admin_gfid f ON f.id = s.gfid_id WHERE f.entity_id = g.entity_id"
            "   AND s.venue_id = g.venue_id AND s.environment = g.environment ORDER BY s.id LIMIT 5) s)"
            " FROM dropcopy_admin_dropcopygroup g WHERE g.status = 'active' ORDER BY md5(g.id::text) LIMIT 300",
        )
        if sessions
    ]
    closed = BillingRun.objects.filter(status="closed").order_by("-month").first()
    fixtures = {
        "entities": column(
            "SELECT DISTINCT entity_id FROM dropcopy_admin_dropcopygroup WHERE status = 'active'"
            " ORDER BY entity_id LIMIT 500"
        ),
        "groups": column("SELECT id FROM dropcopy_admin_dropcopygroup ORDER BY md5(id::text) LIMIT 1000"),
        "targets": column("SELECT id FROM dropcopy_admin_targetsession ORDER BY md5(id::text) LIMIT 1000"),
        "key_targets": column(
            "SELECT id FROM dropcopy_admin_targetsession WHERE status = 'verified' ORDER BY md5(id::text) LIMIT 500"
        ),
        "memberships": column("SELECT id FROM dropcopy_admin_membership ORDER BY md5(id::text) LIMIT 1000"),
        # Separate halves: an approval is made once, and the serial pass runs before the load.
        "pending_memberships_serial": pending[: len(pending) // 4],
        "pending_memberships": pending[len(pending) // 4 :],
        "previews": previews,
        "closed_month": closed.month.strftime("%Y-%m"),
    }
    Path(path).write_text(json.dumps(fixtures))


def _rows(connection, query: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query)
        return cursor.fetchall()


# --- the web process -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def web_env(url: str, port: int, prometheus_dir: str) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = dict(os.environ)
    env.update(
        PATH=f"{BIN}:{env.get('PATH', '')}",
        DATABASE_URL=f"{url}?{WEB_DATABASE_OPTIONS}" if WEB_DATABASE_OPTIONS else url,
        DJANGO_SETTINGS_MODULE="dropcopy_admin.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_LOG_LEVEL="WARNING",
        DROPCOPY_KEY_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        CELERY_BROKER_URL=BROKER_URL,
        WEB_PORT=str(port),
        WEB_CONCURRENCY=str(WEB_WORKERS),
        PROMETHEUS_DIR=prometheus_dir,
    )
    return env


def start_web(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """The Procfile's ``web`` process under honcho, in its own process group."""
    return subprocess.Popen(
        [str(BIN / "honcho"), "-f", str(ROOT / "Procfile"), "start", "web"],
        cwd=ROOT,
        env=env,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_healthy(port: int, web: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if web.poll() is not None:
            raise RuntimeError(f"the web process ended with {web.returncode}: {log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("the web process did not answer /healthz")


def api_tokens(port: int, fixtures: Path) -> float:
    """Each role's token from ``auth/token/``, added to the fixtures; answer the slowest logon's
    seconds (a password hash: it stays out of the mix, or the first seconds measure only logons)."""
    data = json.loads(fixtures.read_text())
    data["tokens"], slowest = {}, 0.0
    for role, username in USERNAMES.items():
        started = time.perf_counter()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/auth/token/",
            data=json.dumps({"username": username, "password": PASSWORD}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            data["tokens"][role] = json.loads(answer.read())["token"]
        slowest = max(slowest, time.perf_counter() - started)
    fixtures.write_text(json.dumps(data))
    return slowest


def idle_floor(port: int, count: int = 200) -> float:
    """``/healthz``'s p95 in milliseconds on the idle server, asked one at a time."""
    times = []
    for _ in range(count):
        started = time.perf_counter()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            answer.read()
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)[int(0.95 * count) - 1]


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def empty_broker() -> None:
    import redis

    redis.Redis.from_url(BROKER_URL).flushdb()


# --- locust and its figures ------------------------------------------------------------------


def run_locust(port: int, fixtures: Path, folder: Path, *, users: int, seconds: int, label: str) -> Path:
    """locust headless; the serial pass (``label`` ``serial``) runs one user of each role."""
    env = dict(os.environ, LOAD_FIXTURES=str(fixtures), LOAD_MAX_REQUESTS=str(MAX_REQUESTS))
    if label == "serial":
        env["LOAD_ONE_USER_PER_ROLE"] = "1"
    prefix = folder / label
    subprocess.run(
        [
            str(BIN / "locust"),
            "-f",
            str(ROOT / "bench" / "locustfile.py"),
            "--headless",
            "--users",
            str(users),
            "--spawn-rate",
            str(users),
            "--run-time",
            f"{seconds}s",
            "--stop-timeout",
            "10",
            "--host",
            f"http://127.0.0.1:{port}",
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        check=False,  # locust exits 1 when any request failed: the figures say which
        stdout=subprocess.DEVNULL,
        stderr=(folder / "locust.log").open("ab"),
        timeout=seconds + 120,
    )
    stats = Path(f"{prefix}_stats.csv")
    if not stats.exists():
        raise RuntimeError("locust wrote no statistics: " + (folder / "locust.log").read_text()[-2000:])
    return stats


def _endpoint_rows(stats_path: Path) -> dict[str, dict]:
    with stats_path.open() as stats_file:
        return {row["Name"]: row for row in csv.DictReader(stats_file)}


def serial_figures(stats_path: Path) -> list[str]:
    """One user per role (3 users, 3 workers): each endpoint's own cost, with no queue before it."""
    rows = _endpoint_rows(stats_path)
    return [
        f"bench: load_serial_{name}_p50 {float(row['50%']):.0f} ms (p95 {float(row['95%']):.0f} ms,"
        f" requests {row['Request Count']}, errors {row['Failure Count']})"
        for name, row in sorted(rows.items())
        if name != "Aggregated"
    ]


def database_activity(url: str) -> tuple[int, float, int]:
    """(connections opened, milliseconds its backends were active, transactions) so far."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT sessions, active_time, xact_commit + xact_rollback FROM pg_stat_database"
            " WHERE datname = current_database()"
        ).fetchone()


def figures(stats_path: Path, failures_path: Path) -> list[str]:
    rows = _endpoint_rows(stats_path)
    total = rows.pop("Aggregated")
    floor = float(rows["healthz"]["95%"])
    lines = []
    for name in sorted(rows):
        row = rows[name]
        p50, p95, p99 = (float(row[key]) for key in ("50%", "95%", "99%"))
        requests, failures = int(row["Request Count"]), int(row["Failure Count"])
        lines.append(f"bench: load_{name}_p95 {p95:.0f} ms baseline {floor:.0f} ms ratio {p95 / floor:.1f}")
        lines.append(
            f"bench: load_{name}_throughput {float(row['Requests/s']):.1f} req/s"
            f" (requests {requests}, p50 {p50:.0f} ms, p99 {p99:.0f} ms, errors {failures})"
        )
    if failures_path.exists():
        with failures_path.open() as failures_file:
            for failure in csv.DictReader(failures_file):
                lines.append(f"# errors: {failure['Name']} ×{failure['Occurrences']}: {failure['Error'][:200]}")
    lines.append(
        f"bench: load_all_throughput {float(total['Requests/s']):.1f} req/s (requests {total['Request Count']},"
        f" p50 {float(total['50%']):.0f} ms, p95 {float(total['95%']):.0f} ms, p99 {float(total['99%']):.0f} ms,"
        f" errors {total['Failure Count']})"
    )
    return lines


def run() -> list[str]:
    url = load_database_url()
    copy_scale_world(url)
    with tempfile.TemporaryDirectory(prefix="dropcopy-load-") as name:
        folder = Path(name)
        fixtures = folder / "fixtures.json"
        run_child(["-m", "bench.bench_load", "setup", str(fixtures)], child_env(url))
        port = free_port()
        web = start_web(web_env(url, port, str(folder / "prometheus")), folder / "web.log")
        try:
            wait_healthy(port, web, folder / "web.log")
            logon_seconds = api_tokens(port, fixtures)
            idle_p95 = idle_floor(port)
            serial = run_locust(port, fixtures, folder, users=3, seconds=SERIAL_SECONDS, label="serial")
            connections_before, active_before, transactions_before = database_activity(url)
            started = time.perf_counter()
            stats = run_locust(port, fixtures, folder, users=USERS, seconds=SECONDS, label="load")
            elapsed = time.perf_counter() - started
            connections, active, transactions = database_activity(url)
        finally:
            stop(web)
            empty_broker()
        database_share = (active - active_before) / 1000 / elapsed
        return [
            f"# load: {USERS} users, {SECONDS} s, gunicorn {WEB_WORKERS} workers (Procfile web, production settings"
            f"{', database ' + WEB_DATABASE_OPTIONS if WEB_DATABASE_OPTIONS else ''})",
            f"bench: load_healthz_idle_p95 {idle_p95:.1f} ms (one request at a time, before the load)",
            f"bench: load_auth_token_slowest {logon_seconds * 1000:.0f} ms (a password hash; outside the mix)",
            *serial_figures(serial),
            *figures(stats, Path(str(stats).replace("_stats.csv", "_failures.csv"))),
            f"bench: load_database_active {database_share:.2f} backends busy on average"
            f" ({connections - connections_before} connections opened, {transactions - transactions_before}"
            f" transactions in {elapsed:.0f} s)",
        ]


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "setup":
        child_setup(sys.argv[2])
    else:
        sys.exit("usage: python -m bench.bench_load setup FILE (or run it with python -m bench.run load)")

"""The dashboards' server time on the ``seed_scale`` world, beside the admin's plain group list.

Goal: each dashboard under 300 ms and at most 3 times the baseline.

The world is ``manage.py seed_scale`` at full size (10,000 entities, 200,000 sessions, 50,000
groups, 100,000 memberships, 2,000 targets, a year of checks, twelve closed billing runs) in a
database of its own (``dropcopy_bench_dashboard`` on the server of ``DATABASE_URL``, or
``BENCH_DASHBOARD_DATABASE_URL``), built afresh — about 150 s — or, when
``BENCH_DASHBOARD_TEMPLATE`` names a database already holding that world, copied from it
(``CREATE DATABASE … TEMPLATE``, seconds) and migrated.

A child process (no DEBUG) logs in an account manager and a finance user with Django's test
client, so each request goes through the whole middleware stack, and asks in turn, round after
round: the baseline — the admin's ``DropCopyGroup`` changelist (its first page of 50,000 groups
and its count) — the account managers' dashboard (``/admin/dashboard/``) and finance's
(``/admin/billing/dashboard/``). Each figure is the median of the rounds after two warm-up ones;
the queries of one request of each page are counted too.

Run alone: ``python -m bench.run dashboard``.
"""

import json
import os
import statistics
import sys
import time
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from bench.common import child_env, django_setup, recreate_database, run_child

DATABASE = "dropcopy_bench_dashboard"
ROUNDS = 11
WARM_UP = 2
PAGES = {
    "group_changelist": "/admin/dropcopy_admin/dropcopygroup/",
    "dashboard_account_managers": "/admin/dashboard/",
    "dashboard_finance": "/admin/billing/dashboard/",
}


def database_url() -> str:
    explicit = os.environ.get("BENCH_DASHBOARD_DATABASE_URL")
    if explicit:
        return explicit
    parts = urlsplit(os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/dropcopy")
    return urlunsplit(parts._replace(path="/" + DATABASE))


def copy_database(url: str, template: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))


def run_child_on(args: list[str], url: str) -> str:
    return run_child(args, child_env(url))


# --- the child process ----------------------------------------------------------------------------


def child_measure() -> None:
    django_setup()
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from dropcopy_admin.choices import Role
    from dropcopy_admin.models import DropCopyGroup, User
    from dropcopy_admin.services.users import FINANCE_GROUP

    manager, _ = User.objects.update_or_create(
        username="bench-am", defaults={"role": Role.ACCOUNT_MANAGER, "is_superuser": True, "is_staff": True}
    )
    finance, _ = User.objects.update_or_create(
        username="bench-finance", defaults={"role": Role.FINANCE, "is_superuser": False, "is_staff": True}
    )
    finance.groups.add(Group.objects.get(name=FINANCE_GROUP))
    clients = {"account_manager": Client(), "finance": Client()}
    clients["account_manager"].force_login(manager)
    clients["finance"].force_login(finance)
    who = {"group_changelist": "account_manager", "dashboard_account_managers": "account_manager"}

    def ask(page: str) -> float:
        client = clients[who.get(page, "finance")]
        started = time.perf_counter()
        response = client.get(PAGES[page])
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"{PAGES[page]} answered {response.status_code}")
        return elapsed

    times: dict[str, list[float]] = {page: [] for page in PAGES}
    for round_number in range(WARM_UP + ROUNDS):
        for page in PAGES:
            elapsed = ask(page)
            if round_number >= WARM_UP:
                times[page].append(elapsed)
    queries = {}
    for page in PAGES:
        with CaptureQueriesContext(connection) as captured:
            ask(page)
        queries[page] = len(captured.captured_queries)
    print(
        json.dumps(
            {
                "ms": {page: statistics.median(values) * 1000 for page, values in times.items()},
                "queries": queries,
                "groups": DropCopyGroup.objects.count(),
            }
        )
    )


def run() -> list[str]:
    url = database_url()
    template = os.environ.get("BENCH_DASHBOARD_TEMPLATE")
    if template:
        copy_database(url, template)
        run_child_on(["manage.py", "migrate", "--noinput", "-v", "0"], url)
    else:
        recreate_database(url)
        run_child_on(["manage.py", "migrate", "--noinput", "-v", "0"], url)
        run_child_on(["manage.py", "seed_scale"], url)
    measured = json.loads(run_child_on(["-m", "bench.bench_dashboard", "measure"], url).strip().splitlines()[-1])
    if measured["groups"] < 50_000:
        raise RuntimeError(f"the world holds {measured['groups']} groups, not seed_scale's 50,000")
    ms, queries = measured["ms"], measured["queries"]
    baseline = ms["group_changelist"]
    lines = [f"bench: dashboard_baseline_group_changelist {baseline:.1f} ms"]
    for page in ("dashboard_account_managers", "dashboard_finance"):
        lines.append(f"bench: {page} {ms[page]:.1f} ms baseline {baseline:.1f} ms ratio {ms[page] / baseline:.2f}")
    lines += [f"bench: {page}_queries {count} queries" for page, count in queries.items()]
    return lines


if __name__ == "__main__":
    if sys.argv[1:] == ["measure"]:
        child_measure()
    else:
        sys.exit("usage: python -m bench.bench_dashboard measure (or run it with python -m bench.run dashboard)")

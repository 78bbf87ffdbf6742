"""A real Celery worker on a real Redis broker for the integration tests (no eager tasks).

The worker runs as a subprocess on the pytest test database (``test_…``) and consumes a queue of
its own on a dedicated Redis database, which is flushed before it starts; the test process sends
its tasks there. It is a prefork worker with one child, as in production, so a test can kill the
child mid-task; ``worker_hooks`` (loaded into the worker only) lets a test pause provisioning and
points the worker's mail at a port where the test's mail server is down until it starts.
Tests using it need ``django_db(transaction=True, serialized_rollback=True)``:
the worker only sees committed rows.
"""

import contextlib
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import kombu.pools
import pytest
import redis
from django.conf import settings

from dropcopy_admin.celery import app

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")
REDIS_DB = int(os.environ.get("DROPCOPY_TEST_REDIS_DB", "13"))
BROKER_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
QUEUE = f"dropcopy-integration-{os.getpid()}"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


@dataclass(frozen=True)
class Worker:
    process: subprocess.Popen
    log_path: Path
    queue: str
    smtp_port: int

    def log(self) -> str:
        return self.log_path.read_text()

    def broker(self) -> redis.Redis:
        """The worker's Redis database (its broker), where ``worker_hooks`` reads its switches."""
        return redis.Redis.from_url(BROKER_URL)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_url() -> str:
    """The URL of the test database this pytest process uses (its NAME is ``test_…`` by now).

    The embedded server listens on a Unix socket only: its directory travels as ``?host=``.
    """
    db = settings.DATABASES["default"]
    credentials = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    socket_dir = db.get("OPTIONS", {}).get("host")
    if socket_dir:
        return f"postgres://{credentials}@/{db['NAME']}?host={socket_dir}"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{db['NAME']}"


def _wait_until_ready(process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Celery worker exited with {process.returncode}:\n{log_path.read_text()}")
        replies = app.control.ping(timeout=0.5)
        if replies:
            return
    raise RuntimeError(f"the Celery worker was not ready within {READY_TIMEOUT:.0f} s:\n{log_path.read_text()}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


def _use_broker(**changes) -> dict:
    """Point the app at another broker and routing; returns what it was, for the restore."""
    previous = {key: app.conf[key] for key in changes}
    app.conf.update(**changes)
    # Connections, producers and routes are cached from the configuration: drop them. The pools
    # are kombu's, shared per broker address: a pool closed here would be found again, closed,
    # when the app comes back to that address, so kombu's registry of pools is emptied too.
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    kombu.pools.reset()
    amqp = app.amqp
    amqp._producer_pool = None
    amqp.__dict__.pop("router", None)
    amqp.flush_routes()
    return previous


@pytest.fixture(scope="session")
def _worker_process(django_db_setup, django_db_blocker, tmp_path_factory):
    """A ``celery worker`` subprocess (one prefork child) on the test database, for the whole session.

    The app's broker and routing point at it from the first test that needs it to the end of the
    session; whether tasks go there or run eagerly is ``celery_worker``'s choice, per test.
    """
    redis.Redis.from_url(BROKER_URL).flushdb()
    smtp_port = _free_port()
    log_path = tmp_path_factory.mktemp("celery") / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dropcopy_admin.settings.test",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": BROKER_URL,
        # Tasks the worker itself queues (verification after provisioning) stay on its queue.
        "CELERY_TASK_DEFAULT_QUEUE": QUEUE,
        "DROPCOPY_TEST_SMTP_PORT": str(smtp_port),
        "PYTHONUNBUFFERED": "1",
    }
    previous = _use_broker(broker_url=BROKER_URL, task_routes={"*": {"queue": QUEUE}})
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                str(CELERY),
                "-A",
                "dropcopy_admin",
                "worker",
                "--pool=prefork",
                "--concurrency=1",
                "--include=tests.integration.worker_hooks",
                "--loglevel=INFO",
                "-Q",
                QUEUE,
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_ready(process, log_path)
        yield Worker(process, log_path, QUEUE, smtp_port)
    finally:
        _stop(process)
        _use_broker(**previous)


@pytest.fixture
def celery_worker(_worker_process):
    """The worker, with this test's tasks sent to it; tasks run eagerly again after the test, so
    the tests that run later in the session do not depend on the order they run in."""
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield _worker_process
    finally:
        app.conf.task_always_eager = eager


@pytest.fixture
def broker_down(celery_worker):
    """``with broker_down():`` — within the block the app sends its tasks to a port where nothing
    listens, as when the broker is down; the worker's broker is back after it."""

    @contextlib.contextmanager
    def down():
        previous = _use_broker(broker_url=f"redis://127.0.0.1:{_free_port()}/{REDIS_DB}")
        try:
            yield
        finally:
            _use_broker(**previous)

    return down

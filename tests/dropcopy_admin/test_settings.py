"""Deployment settings, the embedded default, and the product's one clock.

Settings are read at import time, so each configuration is loaded in a child process with an
environment of its own.
"""

import datetime as dt
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone

from dropcopy_admin import clock

ROOT = Path(__file__).resolve().parents[2]


def _clean_env(**values: str) -> dict[str, str]:
    """Only what a process needs to start, plus ``values``: no DATABASE_URL, no broker, no secrets."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}
    env.update(values)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _production_env(**overrides: str) -> dict[str, str]:
    values = {
        "DJANGO_SETTINGS_MODULE": "dropcopy_admin.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "example.com",
        "DATABASE_URL": "postgres://dropcopy:unused@db.example.com:5432/dropcopy",
        "DROPCOPY_KEY_ENCRYPTION_KEY": "gZTBE8bGFs8mtgCIsjqO0jELeYk8BiTfCwmZM0AtuTE=",
    }
    values.update(overrides)
    return _clean_env(**values)


_PRINT_SETTINGS = """
import json, django
django.setup()
from django.conf import settings
from django.db import connection
database = settings.DATABASES["default"]
print(json.dumps({
    "engine": database["ENGINE"],
    "name": str(database["NAME"]),
    "options": database.get("OPTIONS", {}),
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "debug": settings.DEBUG,
    "atomic_requests": database["ATOMIC_REQUESTS"],
    "journal_mode": connection.cursor().execute("PRAGMA journal_mode").fetchone()[0] if CONNECT else None,
}))
"""


def _local_settings(connect: bool = False, **env_values: str) -> dict:
    env = _clean_env(DJANGO_SETTINGS_MODULE="dropcopy_admin.settings.local", **env_values)
    result = _run(["-c", f"CONNECT = {connect}\n{_PRINT_SETTINGS}"], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- production ------------------------------------------------------------------------------


def test_production_settings_pass_the_deployment_checks():
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], _production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = _production_env()
    del env["DJANGO_SECRET_KEY"]
    result = _run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_settings_refuse_to_start_without_allowed_hosts():
    env = _production_env()
    del env["DJANGO_ALLOWED_HOSTS"]
    result = _run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS" in result.stderr


# --- the embedded default ----------------------------------------------------------------------


def test_embedded_default_uses_sqlite_with_immediate_transactions_and_eager_tasks():
    loaded = _local_settings()
    assert loaded["engine"] == "django.db.backends.sqlite3"
    assert loaded["name"].endswith(str(Path("var") / "dropcopy.sqlite3"))
    assert loaded["options"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in loaded["options"]["init_command"]
    assert loaded["eager"] is True
    assert loaded["atomic_requests"] is False


def test_embedded_database_runs_in_wal_mode(tmp_path):
    loaded = _local_settings(connect=True, DROPCOPY_SQLITE_PATH=str(tmp_path / "db" / "dropcopy.sqlite3"))
    assert loaded["journal_mode"] == "wal"
    assert (tmp_path / "db" / "dropcopy.sqlite3").exists()


def test_database_url_and_broker_select_postgresql_and_a_real_worker():
    loaded = _local_settings(
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/unused",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
    )
    assert loaded["engine"] == "django.db.backends.postgresql"
    assert loaded["eager"] is False


def test_test_settings_always_use_postgresql(settings):
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


# --- the clock -------------------------------------------------------------------------------

MIDNIGHT = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def test_clock_runs_in_real_time_by_default():
    before = timezone.now()
    now = clock.now()
    assert before <= now <= timezone.now()
    assert now.tzinfo is not None


def test_frozen_clock_stands_still():
    clock.freeze(MIDNIGHT)
    assert clock.now() == MIDNIGHT
    assert clock.now() == MIDNIGHT


def test_freeze_answers_in_utc():
    chicago = dt.timezone(dt.timedelta(hours=-6))
    clock.freeze(dt.datetime(2026, 2, 28, 18, 0, tzinfo=chicago))
    assert clock.now() == MIDNIGHT
    assert clock.now().utcoffset() == dt.timedelta(0)


def test_freeze_refuses_naive_times():
    with pytest.raises(ValueError):
        clock.freeze(dt.datetime(2026, 3, 1))


def test_advance_moves_a_frozen_clock():
    clock.freeze(MIDNIGHT)
    clock.advance(dt.timedelta(days=30, hours=1))
    assert clock.now() == MIDNIGHT + dt.timedelta(days=30, hours=1)


def test_advance_moves_a_running_clock():
    clock.advance(dt.timedelta(days=2))
    assert clock.now() - timezone.now() > dt.timedelta(days=1, hours=23)


def test_reset_returns_to_real_time():
    clock.freeze(MIDNIGHT)
    clock.advance(dt.timedelta(days=400))
    clock.reset()
    assert abs(clock.now() - timezone.now()) < dt.timedelta(seconds=5)

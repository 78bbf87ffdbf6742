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
    "server_version": connection.cursor().execute("SHOW server_version").fetchone()[0] if CONNECT else None,
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


def test_production_settings_refuse_to_start_without_a_database_url():
    env = _production_env()
    del env["DATABASE_URL"]
    result = _run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


# --- which settings each entry point chooses ---------------------------------------------------

_SETTINGS_CHOSEN = """
import os, sys
import {module}
from django.conf import settings
print(os.environ["DJANGO_SETTINGS_MODULE"], settings.DEBUG)
"""


def _without_settings_module(env: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in env.items() if name != "DJANGO_SETTINGS_MODULE"}


@pytest.mark.parametrize("module", ["dropcopy_admin.wsgi", "dropcopy_admin.asgi", "dropcopy_admin.celery"])
def test_servers_and_workers_default_to_the_production_settings(module):
    result = _run(["-c", _SETTINGS_CHOSEN.format(module=module)], _without_settings_module(_production_env()))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["dropcopy_admin.settings.production", "False"]


@pytest.mark.parametrize("module", ["dropcopy_admin.wsgi", "dropcopy_admin.asgi", "dropcopy_admin.celery"])
@pytest.mark.parametrize(
    "missing", ["DJANGO_SECRET_KEY", "DROPCOPY_KEY_ENCRYPTION_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL"]
)
def test_servers_and_workers_without_configuration_refuse_to_start(module, missing):
    env = _without_settings_module(_production_env())
    del env[missing]
    result = _run(["-c", _SETTINGS_CHOSEN.format(module=module)], env)
    assert result.returncode != 0
    assert f"Set the {missing} environment variable" in result.stderr


def test_a_celery_worker_started_without_configuration_refuses_to_start():
    celery = Path(sys.executable).with_name("celery")
    result = subprocess.run(
        [str(celery), "-A", "dropcopy_admin", "worker", "--pool=solo"],
        cwd=ROOT,
        env=_clean_env(CELERY_BROKER_URL="redis://127.0.0.1:6379/15"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "Set the DATABASE_URL environment variable" in result.stderr


def test_manage_py_defaults_to_the_local_settings(tmp_path):
    env = _clean_env(DATABASE_URL="postgres://postgres@127.0.0.1:5432/unused", DROPCOPY_VAR_DIR=str(tmp_path / "var"))
    script = "import os; from django.conf import settings; print(os.environ['DJANGO_SETTINGS_MODULE'], settings.DEBUG)"
    result = _run(["manage.py", "shell", "--no-imports", "-c", script], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["dropcopy_admin.settings.local", "True"]


# --- the embedded default ----------------------------------------------------------------------


@pytest.fixture
def var_dir(tmp_path):
    """A var/ of its own for a local-settings process; its embedded PostgreSQL stopped afterwards."""
    from dropcopy_admin import embedded_postgres

    yield tmp_path / "var"
    embedded_postgres.stop(tmp_path / "var" / "postgres")


def test_embedded_default_is_postgresql_18_under_var_with_eager_tasks(var_dir):
    loaded = _local_settings(connect=True, DROPCOPY_VAR_DIR=str(var_dir))
    assert loaded["engine"] == "django.db.backends.postgresql"
    assert loaded["options"]["host"] == str(var_dir / "postgres")
    assert loaded["server_version"].startswith("18.")
    assert loaded["eager"] is True
    assert loaded["atomic_requests"] is False


def test_embedded_server_keeps_its_data_between_runs(var_dir):
    _local_settings(connect=True, DROPCOPY_VAR_DIR=str(var_dir))
    from dropcopy_admin import embedded_postgres

    assert embedded_postgres.stop(var_dir / "postgres")
    again = _local_settings(connect=True, DROPCOPY_VAR_DIR=str(var_dir))
    assert again["server_version"].startswith("18.")
    assert (var_dir / "postgres" / "PG_VERSION").exists()


def test_local_keys_are_generated_once_under_var_and_private(var_dir):
    env = _clean_env(DJANGO_SETTINGS_MODULE="dropcopy_admin.settings.local", DROPCOPY_VAR_DIR=str(var_dir))
    script = (
        "import django; django.setup(); from django.conf import settings; print(settings.DROPCOPY_KEY_ENCRYPTION_KEY)"
    )
    first = _run(["-c", script], env)
    second = _run(["-c", script], env)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    key_file = var_dir / "key-encryption-key"
    assert key_file.read_text().strip() == first.stdout.strip()
    assert key_file.stat().st_mode & 0o077 == 0
    assert (var_dir / "secret-key").stat().st_mode & 0o077 == 0


def test_local_start_up_prints_no_warning(var_dir):
    env = _clean_env(DJANGO_SETTINGS_MODULE="dropcopy_admin.settings.local", DROPCOPY_VAR_DIR=str(var_dir))
    result = _run(["-W", "default", "manage.py", "check"], env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "no issues" in result.stdout


def test_database_url_must_name_postgresql():
    env = _clean_env(DJANGO_SETTINGS_MODULE="dropcopy_admin.settings.local", DATABASE_URL="sqlite:///x.sqlite3")
    result = _run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "must name a PostgreSQL server" in result.stderr


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

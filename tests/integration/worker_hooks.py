"""Loaded into the integration tests' Celery worker only (``celery worker --include``), never by
the product: the test's ways of making a part fail inside the worker.

- The worker's mail goes by SMTP to ``127.0.0.1:$DROPCOPY_TEST_SMTP_PORT``, where nothing listens
  until a test starts its mail server there (the mail server down, then back).
- Provisioning pauses right after its probe-key step when the test sets the Redis key
  :func:`pause_key`; the worker child first writes its pid under :func:`paused_pid_key`, so the
  test can kill it there with SIGKILL. The pause is taken once: the task run again goes through.
"""

import os
import time

import redis
from celery.signals import worker_init
from django.conf import settings

from dropcopy_admin.services import targets as target_services

PAUSE_SECONDS = 120.0


def pause_key(queue: str) -> str:
    return f"{queue}:pause-provisioning-after-probe-key"


def paused_pid_key(queue: str) -> str:
    return f"{queue}:paused-provisioning-pid"


def _use_the_test_mail_server() -> None:
    port = os.environ.get("DROPCOPY_TEST_SMTP_PORT")
    if port:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = int(port)
        settings.EMAIL_TIMEOUT = 5


def _pausing_after_the_probe_key_step() -> None:
    queue = os.environ["CELERY_TASK_DEFAULT_QUEUE"]
    ensure_probe_key = target_services.probe_key_pair_ensure

    def probe_key_step(**kwargs):
        key_pair = ensure_probe_key(**kwargs)
        broker = redis.Redis.from_url(os.environ["CELERY_BROKER_URL"])
        if broker.getdel(pause_key(queue)) is not None:
            broker.set(paused_pid_key(queue), os.getpid())
            time.sleep(PAUSE_SECONDS)
        return key_pair

    target_services.probe_key_pair_ensure = probe_key_step


@worker_init.connect
def _in_the_worker_only(**_kwargs) -> None:
    """Before the pool forks its children: they inherit both changes; the test process never has them."""
    _use_the_test_mail_server()
    _pausing_after_the_probe_key_step()

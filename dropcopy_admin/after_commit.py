"""What a service leaves for after its transaction commits: Celery tasks and plain callbacks.

Every service queues its side effects here, one way: never ``.delay`` inside an open transaction,
so a task never looks for rows that are not committed yet, and nothing is sent for a transaction
that rolls back. Outside a transaction (a scheduled task fetching ids) the work runs at once.

- :func:`queue_task` names a Celery task and its arguments; at the commit the task is looked up
  by name in the Celery application's registry and queued with ``.delay`` (run in-process when
  tasks run eagerly). Services therefore never import ``tasks.py``, which imports the services.
- :func:`call` runs a plain function with keyword arguments at the commit (the e-mails).
- :func:`discarded` is a block in which nothing is queued: data built through the services
  (the demo world) without provisioning, verifying or e-mailing anything.

A failure after the commit is logged here and does not undo the committed writes: the request
that committed still gets its answer (Django's own ``robust`` logging fails on a
``functools.partial``, so the callbacks log their failures themselves). So
that nothing is lost when the broker or the mail server is down at the commit, the work asked
for is recorded with the writes themselves and a scheduled task does it later: a target's
``provisioning_requested_at`` and ``verification_requested_at`` (``targets_queue_unfinished``,
every minute), the outgoing e-mails (``outgoing_emails_send``, every minute, with back-off);
scheduled work queued here is simply queued again by its next run.
"""

import contextlib
import functools
import logging
from collections.abc import Callable, Iterator
from contextvars import ContextVar

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)

_discarding: ContextVar[bool] = ContextVar("after_commit_discarding", default=False)


def queue_task(task_name: str, *args) -> None:
    """Queue the Celery task named ``task_name`` with ``args`` once the current transaction commits."""
    if _discarding.get():
        return
    transaction.on_commit(functools.partial(_delay, task_name, args), robust=True)


def call(function: Callable[..., object], **kwargs) -> None:
    """Call ``function(**kwargs)`` once the current transaction commits."""
    if _discarding.get():
        return
    transaction.on_commit(functools.partial(_call, function, kwargs), robust=True)


@contextlib.contextmanager
def discarded() -> Iterator[None]:
    """Within this block nothing is queued for after the commit: no task, no callback."""
    token = _discarding.set(True)
    try:
        yield
    finally:
        _discarding.reset(token)


def _delay(task_name: str, args: tuple) -> None:
    try:
        registry = current_app.tasks
        if task_name not in registry:
            # A process that has not imported the tasks modules yet (a web request): find them as
            # the worker does, in every installed app.
            current_app.autodiscover_tasks(force=True)
        registry[task_name].delay(*args)
    except Exception:
        logger.exception("Could not queue %s%r after the commit (is the broker down?)", task_name, args)


def _call(function: Callable[..., object], kwargs: dict) -> None:
    try:
        function(**kwargs)
    except Exception:
        logger.exception("%s failed after the commit", getattr(function, "__qualname__", function))

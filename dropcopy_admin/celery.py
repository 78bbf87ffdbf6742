"""The Celery application, configured from Django settings under the ``CELERY_`` namespace.

A worker or beat started without DJANGO_SETTINGS_MODULE runs on the production settings (and
refuses to start without their secrets); ``make run`` and the test suite choose theirs.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dropcopy_admin.settings.production")

app = Celery("dropcopy_admin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Task metrics for Prometheus (issue 16), counted from Celery's signals in every worker process;
# and the request id of the request that queued a task carried into the task (R18).
import dropcopy_admin.metrics  # noqa: E402
import dropcopy_admin.request_id  # noqa: E402, F401

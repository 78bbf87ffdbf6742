"""Health answers for load balancers and orchestrators (issue 16).

``/healthz``: the process is up and answers (no database, no broker): a liveness probe.
``/readyz``: the database answers, the Celery broker accepts a connection, and at least one
gateway process has written its heartbeat (``last_seen_at``) recently; otherwise 503 with what
failed, in words, so an operator reads the cause from the probe itself.
"""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from dropcopy_admin import clock
from dropcopy_admin.models.gateway_processes import GatewayProcess


@never_cache
@require_GET
def healthz(request) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def database_answers() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure is the answer
        return f"the database does not answer: {type(exc).__name__}"
    return None


def broker_answers() -> str | None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return None  # no broker configured: tasks run in the web process
    from dropcopy_admin.celery import app

    try:
        with app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"the task broker does not answer: {type(exc).__name__}"
    return None


def gateways_running() -> tuple[str | None, list[str]]:
    """At least one gateway heartbeat, and as many as ``DROPCOPY_EXPECTED_GATEWAYS`` (production
    names how many it runs, so losing one of them is reported)."""
    expected = max(1, getattr(settings, "DROPCOPY_EXPECTED_GATEWAYS", 1))
    try:
        names = sorted(GatewayProcess.objects.running(at=clock.now()).values_list("name", flat=True))
    except Exception as exc:
        return f"the gateway processes could not be read: {type(exc).__name__}", []
    if not names:
        return "no gateway process has sent its heartbeat recently", []
    if len(names) < expected:
        return f"{len(names)} of {expected} gateway processes sent their heartbeat recently", names
    return None, names


@never_cache
@require_GET
def readyz(request) -> JsonResponse:
    database_failure = database_answers()
    failures = [failure for failure in (database_failure, broker_answers()) if failure]
    gateways: list[str] = []
    if database_failure is None:
        gateway_failure, gateways = gateways_running()
        if gateway_failure:
            failures.append(gateway_failure)
    body = {"status": "ok" if not failures else "failing", "failures": failures, "gateways": gateways}
    return JsonResponse(body, status=503 if failures else 200)

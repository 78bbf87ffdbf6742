"""Prometheus metrics of the processes that are not the web (issue 16).

The web's metrics come from ``django-prometheus`` (``/metrics`` when ``DROPCOPY_WEB_METRICS`` is
on). Here:

- the Celery workers: tasks run, failed and retried, and their durations, counted from Celery's
  signals in each prefork child and summed by ``prometheus_client``'s multiprocess mode
  (``PROMETHEUS_MULTIPROC_DIR``, one directory for the worker pool); the worker's main process
  serves them on ``DROPCOPY_WORKER_METRICS_PORT`` (e.g. 9101).
- each gateway process (``run_gateway --metrics-port``): its live figures, read at scrape time
  from what the sessions already count (``presence.LiveFigures``), never counted a second time.
"""

import os
import time

from celery.signals import task_failure, task_postrun, task_prerun, task_retry, worker_init
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

WORKER_METRICS_PORT_ENV = "DROPCOPY_WORKER_METRICS_PORT"

TASKS_RUN = Counter(
    "dropcopy_celery_tasks_run_total", "Celery tasks that finished, by task and state", ["task", "state"]
)
TASKS_FAILED = Counter("dropcopy_celery_tasks_failed_total", "Celery tasks that raised", ["task"])
TASKS_RETRIED = Counter("dropcopy_celery_tasks_retried_total", "Celery tasks that asked to be retried", ["task"])
TASK_SECONDS = Histogram(
    "dropcopy_celery_task_duration_seconds",
    "How long Celery tasks ran",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)

_started: dict[str, float] = {}


@task_prerun.connect
def _task_started(task_id=None, **_kwargs) -> None:
    if task_id:
        _started[task_id] = time.monotonic()


@task_postrun.connect
def _task_finished(task_id=None, task=None, state=None, **_kwargs) -> None:
    started = _started.pop(task_id, None)
    name = getattr(task, "name", "unknown")
    TASKS_RUN.labels(task=name, state=state or "UNKNOWN").inc()
    if started is not None:
        TASK_SECONDS.labels(task=name).observe(time.monotonic() - started)


@task_failure.connect
def _task_failed(sender=None, **_kwargs) -> None:
    TASKS_FAILED.labels(task=getattr(sender, "name", "unknown")).inc()


@task_retry.connect
def _task_retried(sender=None, **_kwargs) -> None:
    TASKS_RETRIED.labels(task=getattr(sender, "name", "unknown")).inc()


@worker_init.connect
def _serve_worker_metrics(**_kwargs) -> None:
    """In the worker's main process: serve the pool's summed metrics when a port is named."""
    port = os.environ.get(WORKER_METRICS_PORT_ENV)
    if not port:
        return
    registry = REGISTRY  # a solo or threaded pool: one process holds every count
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    start_http_server(int(port), addr=os.environ.get("DROPCOPY_METRICS_ADDRESS", "127.0.0.1"), registry=registry)


class GatewayCollector:
    """The live figures of one gateway process, read when Prometheus scrapes: gauges of what is now,
    counters (``…_total``) of what happened since the process started."""

    def __init__(self, gateway) -> None:
        self.gateway = gateway

    def collect(self):
        gateway = self.gateway
        figures = gateway.figures
        sessions = list(gateway.sessions)
        logged_on = sum(1 for session in sessions if session.logged_on and not session.probe)
        for name, documentation, value in (
            ("dropcopy_gateway_sessions_logged_on", "FIX sessions logged on now", logged_on),
            ("dropcopy_gateway_connections", "TCP connections open now", len(sessions)),
            ("dropcopy_gateway_listening_addresses", "Addresses this process listens on", len(gateway.listeners)),
            ("dropcopy_gateway_refused_logons_today", "Logons refused today (UTC)", figures.refused_logons),
            ("dropcopy_gateway_resend_requests_today", "ResendRequests received today (UTC)", figures.resend_requests),
            (
                "dropcopy_gateway_last_heartbeat_received_timestamp_seconds",
                "When the last Heartbeat was received",
                figures.last_heartbeat_at.timestamp() if figures.last_heartbeat_at else 0,
            ),
        ):
            family = GaugeMetricFamily(name, documentation)
            family.add_metric([], value)
            yield family
        refused = CounterMetricFamily("dropcopy_gateway_logons_refused", "Logons refused, by reason", labels=["reason"])
        for reason, count in sorted(figures.refused_by_reason.items()):
            refused.add_metric([reason], count)
        yield refused
        sent = CounterMetricFamily(
            "dropcopy_gateway_messages_sent", "FIX messages written, by MsgType", labels=["msg_type"]
        )
        for msg_type, count in sorted(figures.messages_sent.items()):
            sent.add_metric([msg_type], count)
        yield sent
        for name, documentation, value in (
            (
                "dropcopy_gateway_heartbeats_missed",
                "Clients silent for a whole heartbeat interval (a TestRequest was sent)",
                figures.heartbeats_missed,
            ),
            (
                "dropcopy_gateway_sessions_timed_out",
                "Sessions closed because a TestRequest went unanswered",
                figures.sessions_timed_out,
            ),
            ("dropcopy_gateway_resend_requests", "ResendRequests received", figures.resend_requests_total),
            ("dropcopy_gateway_bytes_sent", "Bytes written to FIX connections", figures.bytes_sent),
            ("dropcopy_gateway_messages_received", "FIX messages read", figures.messages_received),
            ("dropcopy_gateway_bytes_received", "Bytes read from FIX connections", figures.bytes_received),
        ):
            family = CounterMetricFamily(name, documentation)
            family.add_metric([], value)
            yield family


def gateway_metrics_serve(gateway, *, port: int, address: str | None = None):
    """Serve ``gateway``'s figures on ``address:port`` (a daemon thread); returns the server."""
    address = address or os.environ.get("DROPCOPY_METRICS_ADDRESS", "127.0.0.1")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(GatewayCollector(gateway))
    server, _thread = start_http_server(port, addr=address, registry=registry)
    return server

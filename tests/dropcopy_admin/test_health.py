"""/healthz and /readyz (issue 16): the process is up; the database, the broker and the gateway
heartbeats answer, or a 503 that says which did not."""

import datetime as dt
import socket

import pytest
from django.test import override_settings

from dropcopy_admin import clock
from dropcopy_admin.celery import app
from dropcopy_admin.models.gateway_processes import GatewayProcess


def gateway_seen(name: str, *, seconds_ago: float) -> GatewayProcess:
    at = clock.now() - dt.timedelta(seconds=seconds_ago)
    return GatewayProcess.objects.create(name=name, host="here", pid=1, started_at=at, last_seen_at=at)


def test_healthz_answers_without_the_database(client):
    # No django_db mark: a query would fail this test.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_is_ready_with_a_recent_gateway_heartbeat(client):
    gateway_seen("gateway for 127.10.1.1", seconds_ago=1)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "failures": [], "gateways": ["gateway for 127.10.1.1"]}


@pytest.mark.django_db
def test_readyz_without_a_recent_gateway_heartbeat_is_503_and_says_so(client):
    gateway_seen("gateway", seconds_ago=60)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failures"] == ["no gateway process has sent its heartbeat recently"]


@pytest.mark.django_db
@override_settings(DROPCOPY_EXPECTED_GATEWAYS=2)
def test_readyz_reports_a_lost_gateway_of_the_expected_two(client):
    gateway_seen("gateway for 127.10.1.1", seconds_ago=1)
    gateway_seen("gateway except 127.10.1.1", seconds_ago=60)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failures"] == ["1 of 2 gateway processes sent their heartbeat recently"]
    assert response.json()["gateways"] == ["gateway for 127.10.1.1"]


@pytest.mark.django_db
@override_settings(CELERY_TASK_ALWAYS_EAGER=False)
def test_readyz_reports_a_broker_that_does_not_answer(client):
    gateway_seen("gateway", seconds_ago=1)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once closed
    previous = app.conf.broker_url
    app.conf.broker_url = f"redis://127.0.0.1:{port}/0"
    try:
        response = client.get("/readyz")
    finally:
        app.conf.broker_url = previous
    assert response.status_code == 503
    (failure,) = response.json()["failures"]
    assert failure.startswith("the task broker does not answer")

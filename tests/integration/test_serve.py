"""``make serve``'s process list, run for real (issue 16): the Procfile under honcho on the
production settings, on the test database, a Redis database of its own and free ports.

A clearing firm approves through gunicorn; the prefork worker provisions the target and verifies
it against the two gateways (gateway a: the gateways' primary IPs, gateway b: every other
address); an account manager asks for a re-verification through the API. Each metrics endpoint
is scraped. One gateway is killed: the other's addresses are still served and ``/readyz`` reports
the loss. Everything stops, no process left.

The gateways run under a second honcho (``honcho start gateway_a``), as on a machine of their
own: honcho stops every process it runs when one of them dies, so the killed gateway takes only
its own supervisor with it.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import kombu
import pytest
import redis
from django.conf import settings

from dropcopy_admin.choices import AddressRole, Role, TargetStatus
from dropcopy_admin.models import ConnectivityCheck, TargetSession
from dropcopy_admin.models.reference import CgwGateway, PortRange, SegmentGateway
from dropcopy_admin.services.users import api_token_issue
from tests import factories

from .conftest import _database_url, _free_port
from .test_celery_provisioning import pending_membership, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ROOT = Path(__file__).resolve().parents[2]
HONCHO = Path(sys.executable).with_name("honcho")
REDIS_DB = int(os.environ.get("DROPCOPY_TEST_REDIS_DB", "13"))
SERVE_PORTS = (43000, 43999)  # this test's targets' ports, apart from other tests' gateways
START_TIMEOUT = 45.0
STOP_TIMEOUT = 20.0


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return 0, ""


def call_api(base: str, method: str, path: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        base + path,
        data=b"{}",
        method=method,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json", "Host": "127.0.0.1"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def metric(text: str, name: str, **labels) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    total, found = 0.0, False
    for line in text.splitlines():
        match = re.match(rf"^{re.escape(name)}(\{{(?P<labels>[^}}]*)\}})? (?P<value>\S+)$", line)
        if not match:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"] or ""))
        if all(have.get(key) == value for key, value in labels.items()):
            total, found = total + float(match["value"]), True
    assert found, f"no sample of {name} {labels}"
    return total


def connects(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=1):
            return True
    except OSError:
        return False


def honcho(processes: list[str], env: dict, log_path: Path) -> subprocess.Popen:
    with log_path.open("w") as log:
        return subprocess.Popen(
            [str(HONCHO), "start", "-f", "Procfile", *processes],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: what is left of it can be seen
        )


def group_alive(process: subprocess.Popen) -> bool:
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return False
    return True


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT)
    deadline = time.monotonic() + STOP_TIMEOUT
    while group_alive(process) and time.monotonic() < deadline:
        time.sleep(0.2)


BROKERS = {
    "redis": f"redis://127.0.0.1:6379/{REDIS_DB}",
    "rabbitmq": "amqp://guest:guest@127.0.0.1:5672//",  # the machine's RabbitMQ
}


@pytest.fixture(params=sorted(BROKERS))
def serve_env(request, tmp_path):
    PortRange.objects.update(first_port=SERVE_PORTS[0], last_port=SERVE_PORTS[1])
    redis.Redis.from_url(f"redis://127.0.0.1:6379/{REDIS_DB}").flushdb()
    primaries = sorted(
        {
            *CgwGateway.objects.values_list("primary_ip", flat=True),
            *SegmentGateway.objects.values_list("primary_ip", flat=True),
        }
    )
    ports = {name: _free_port() for name in ("WEB_PORT", "WORKER_METRICS_PORT", "GATEWAY_A", "GATEWAY_B")}
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "DJANGO_SETTINGS_MODULE": "dropcopy_admin.settings.production",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": BROKERS[request.param],
        "CELERY_TASK_DEFAULT_QUEUE": f"dropcopy-serve-{os.getpid()}",  # apart from other workers
        "DJANGO_SECRET_KEY": "serve-test-" + "x" * 50,
        "DROPCOPY_KEY_ENCRYPTION_KEY": settings.DROPCOPY_KEY_ENCRYPTION_KEY,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DROPCOPY_EXPECTED_GATEWAYS": "2",
        "PROMETHEUS_DIR": str(tmp_path / "prometheus"),
        "WEB_CONCURRENCY": "2",
        "WEB_PORT": str(ports["WEB_PORT"]),
        "WORKER_METRICS_PORT": str(ports["WORKER_METRICS_PORT"]),
        "GATEWAY_A_METRICS_PORT": str(ports["GATEWAY_A"]),
        "GATEWAY_B_METRICS_PORT": str(ports["GATEWAY_B"]),
        "GATEWAY_A_IPS": ",".join(primaries),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DROPCOPY_TEST_SMTP_PORT", None)
    yield env
    with kombu.Connection(env["CELERY_BROKER_URL"]) as broker:  # the test's queue, not left behind
        broker.default_channel.queue_delete(env["CELERY_TASK_DEFAULT_QUEUE"])


def test_make_serve_runs_web_worker_beat_and_two_gateways(serve_env, tmp_path):
    membership, firm_admin = pending_membership()
    firm_token = api_token_issue(user=firm_admin, name="serve test").token
    manager_token = api_token_issue(user=factories.UserFactory(role=Role.ACCOUNT_MANAGER), name="serve test").token
    web = f"http://127.0.0.1:{serve_env['WEB_PORT']}"
    main = honcho(["web", "worker", "beat", "gateway_b"], serve_env, tmp_path / "main.log")
    gateway_a = honcho(["gateway_a"], serve_env, tmp_path / "gateway_a.log")

    def logs() -> str:
        return "\n".join(path.read_text()[-6000:] for path in (tmp_path / "main.log", tmp_path / "gateway_a.log"))

    try:
        assert wait_for(lambda: get(web + "/healthz")[0] == 200, timeout=START_TIMEOUT, what="/healthz"), logs()
        ready = wait_for(
            lambda: (answer := get(web + "/readyz"))[0] == 200 and json.loads(answer[1]),
            timeout=START_TIMEOUT,
            what="/readyz",
        )
        assert ready["failures"] == [] and len(ready["gateways"]) == 2

        # web → worker → gateway: approved through gunicorn, provisioned and verified by the worker.
        status, body = call_api(web, "POST", f"/api/v1/memberships/{membership.pk}/approve/", firm_token)
        assert status == 200, body
        membership.refresh_from_db()
        target_id = membership.target_id

        def verified(checks: int):
            def check():
                target = TargetSession.objects.get(pk=target_id)
                done = ConnectivityCheck.objects.filter(target_id=target_id).count() >= checks
                return target if done and target.status == TargetStatus.VERIFIED else None

            return check

        status, body = call_api(web, "POST", f"/api/v1/targets/{target_id}/verify/", manager_token)
        if status != 202:  # not provisioned yet: wait for the worker, then ask again
            wait_for(lambda: TargetSession.objects.get(pk=target_id).status != TargetStatus.PENDING, what="provision")
            status, body = call_api(web, "POST", f"/api/v1/targets/{target_id}/verify/", manager_token)
        assert status == 202, body
        target = wait_for(verified(checks=2), timeout=40, what="provisioned → verified")
        primary = target.addresses.get(role=AddressRole.PRIMARY, released=False)
        backup = target.addresses.get(role=AddressRole.BACKUP, released=False)
        assert primary.ip in serve_env["GATEWAY_A_IPS"].split(",")
        assert backup.ip not in serve_env["GATEWAY_A_IPS"].split(",")

        # Metrics: the web's, the worker pool's and each gateway's, with real values.
        status, text = get(web + "/metrics")
        assert status == 200
        assert metric(text, "django_http_requests_total_by_view_transport_method_total") >= 3
        worker_text = get(f"http://127.0.0.1:{serve_env['WORKER_METRICS_PORT']}/metrics")[1]
        assert metric(worker_text, "dropcopy_celery_tasks_run_total", task="dropcopy_admin.tasks.verify_targets") >= 1
        assert metric(worker_text, "dropcopy_celery_task_duration_seconds_count") >= 2
        for port, address in (
            (serve_env["GATEWAY_A_METRICS_PORT"], primary),
            (serve_env["GATEWAY_B_METRICS_PORT"], backup),
        ):
            gateway_text = get(f"http://127.0.0.1:{port}/metrics")[1]
            assert metric(gateway_text, "dropcopy_gateway_listening_addresses") >= 1, address
            assert metric(gateway_text, "dropcopy_gateway_sessions_logged_on") == 0  # only probes logged on
            assert metric(gateway_text, "dropcopy_gateway_refused_logons_today") == 0
            # the probe's Logon, Heartbeat and Logout answered on this gateway's address
            assert metric(gateway_text, "dropcopy_gateway_messages_sent_total", msg_type="A") >= 1, address
            assert metric(gateway_text, "dropcopy_gateway_messages_received_total") >= 3, address
            assert metric(gateway_text, "dropcopy_gateway_bytes_sent_total") > 0, address
            assert metric(gateway_text, "dropcopy_gateway_heartbeats_missed_total") == 0, address

        # One gateway lost: the other's addresses are still served, /readyz says what is missing.
        gateway_a_pid = int(re.search(r"gateway_a\.1 started \(pid=(\d+)\)", logs())[1])
        os.kill(gateway_a_pid, signal.SIGKILL)
        gateway_a.wait(timeout=STOP_TIMEOUT)
        assert connects(backup.ip, backup.port)
        lost = wait_for(
            lambda: (answer := get(web + "/readyz"))[0] == 503 and json.loads(answer[1]), timeout=30, what="the loss"
        )
        assert lost["failures"] == ["1 of 2 gateway processes sent their heartbeat recently"]
        assert len(lost["gateways"]) == 1 and lost["gateways"][0].startswith("gateway except")
        assert connects(backup.ip, backup.port)
        assert main.poll() is None, logs()
    finally:
        stop(gateway_a)
        stop(main)
    assert not group_alive(main) and not group_alive(gateway_a), "processes left after honcho stopped"
    assert main.returncode is not None

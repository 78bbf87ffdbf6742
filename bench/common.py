"""What the benchmarks share: a fresh benchmark database, and child processes that run on it."""

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "dropcopy_bench"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/dropcopy"


def base36(n: int, width: int) -> str:
    """``n`` in ``width`` uppercase base-36 digits (codes and SenderCompIDs)."""
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    for _ in range(width):
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out


def bench_database_url() -> str:
    explicit = os.environ.get("BENCH_DATABASE_URL")
    if explicit:
        return explicit
    parts = urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    return urlunsplit(parts._replace(path="/" + BENCH_DATABASE))


def recreate_database(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def child_env(url: str, **extra: str) -> dict[str, str]:
    """The environment of a child: the benchmark database, no DEBUG (it keeps every query's SQL),
    quiet logs, and tasks in-process (they run inside the measured call)."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="dropcopy_admin.settings.local",
        DJANGO_DEBUG="false",
        DJANGO_LOG_LEVEL="WARNING",
        **extra,
    )
    env.pop("CELERY_BROKER_URL", None)
    return env


def run_child(args: list[str], env: dict[str, str]) -> str:
    """Run ``python <args>`` from the project root; its standard output, or an error with both outputs."""
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def memory_kb(field: str, pid: int | str = "self") -> int:
    """A memory figure of ``pid`` from /proc/<pid>/status, in kB: ``"VmHWM"`` its peak resident size,
    ``"VmRSS"`` its resident size now.

    Peaks are read here rather than from ``getrusage``'s ``ru_maxrss``: Linux carries ``ru_maxrss``
    over ``fork`` and ``exec``, so a child started by a process that had grown reports the
    parent's size; VmHWM belongs to the child's own memory from its ``exec`` on.
    """
    prefix = field + ":"
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(prefix):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def django_setup() -> None:
    import django

    django.setup()


def create_provisioned_cgw_targets(*, count: int, entity_code: str, id_prefix: str, port_offset: int) -> list:
    """``count`` provisioned CME PRODUCTION CGW targets on CGW1's addresses, one port each from
    ``port_offset`` above the range start (clear of the ports tests and other benchmarks use)."""
    from django.utils import timezone

    from dropcopy_admin.choices import AddressRole, Environment, GatewayType, TargetStatus
    from dropcopy_admin.models import CgwGateway, Entity, PortRange, TargetAddress, TargetSession

    now = timezone.now()
    entity = Entity.objects.create(code=entity_code, name=f"Bench {entity_code.title()} Trading", self_service=True)
    gateway = CgwGateway.objects.filter(venue_id="CME", environment=Environment.PRODUCTION).order_by("code").first()
    first_port = PortRange.objects.get(environment=Environment.PRODUCTION).first_port + port_offset
    targets = TargetSession.objects.bulk_create(
        TargetSession(
            entity=entity,
            venue_id="CME",
            environment=Environment.PRODUCTION,
            gateway_type=GatewayType.CGW,
            cgw_gateway=gateway,
            target_comp_id=id_prefix + base36(n, 5) + "N",
            port=first_port + n,
            status=TargetStatus.PROVISIONED,
            capacity=1000,
            used=0,
            created_at=now,
        )
        for n in range(count)
    )
    TargetAddress.objects.bulk_create(
        TargetAddress(target=target, ip=ip, port=target.port, role=role, target_sub_id="G")
        for target in targets
        for ip, role in ((gateway.primary_ip, AddressRole.PRIMARY), (gateway.backup_ip, AddressRole.BACKUP))
    )
    return targets


def _wait_listening(addresses: Iterable[tuple[str, int]], gateway: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = set(addresses)
    while pending:
        if gateway.poll() is not None:
            raise RuntimeError(f"run_gateway exited with {gateway.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the gateway is not listening on {sorted(pending)}")
        for address in sorted(pending):
            try:
                socket.create_connection(address, timeout=0.5).close()
                pending.discard(address)
            except OSError:
                time.sleep(0.2)


@contextlib.contextmanager
def running_gateway(
    env: dict[str, str], addresses: Iterable[tuple[str, int]], timeout: float, *, only: str = ""
) -> Iterator[int]:
    """``manage.py run_gateway`` on the benchmark database, once it listens on ``addresses``; its pid.
    ``only``: the IP addresses it serves (``--only``), as each of a split gateway's processes."""
    gateway = subprocess.Popen(
        [sys.executable, "manage.py", "run_gateway", *(["--only", only] if only else [])],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_listening(addresses, gateway, timeout)
        yield gateway.pid
    finally:
        gateway.terminate()
        try:
            gateway.wait(timeout=15)
        except subprocess.TimeoutExpired:
            gateway.kill()
            gateway.wait(timeout=15)

"""Fixtures of the gateway tests: a provisioned target with a client key and its probe key, and the
gateway running on its own event loop in a background thread (so the product clock moves it)."""

import datetime as dt
from dataclasses import dataclass

import pytest

from dropcopy_admin import clock
from dropcopy_admin.choices import GatewayType
from dropcopy_admin.gateway.server import GatewayThread
from dropcopy_admin.models import TargetSession
from dropcopy_admin.services.audit import SystemActor
from dropcopy_admin.services.keys import key_pair_create, key_pair_secret, probe_key_pair_ensure
from dropcopy_admin.services.targets import target_provision
from tests.dropcopy_admin.test_provisioning import approved_target

from .client import FixClient

ACTOR = SystemActor("gateway_test")
# A Wednesday afternoon: the week started on Sunday at 17:00 Chicago (23:00 UTC).
WEDNESDAY = dt.datetime(2026, 11, 25, 15, 0, tzinfo=dt.UTC)

REAL_DB = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@dataclass
class Served:
    target: TargetSession
    ip: str
    port: int
    sub_id: str
    key: str
    secret: str
    probe_key: str
    probe_secret: str

    def client(self, *, ip: str | None = None, sender_sub_id: str = "MSG", sub_id: str | None = None) -> FixClient:
        return FixClient(
            ip or self.ip,
            self.port,
            sender_comp_id=self.target.target_comp_id,
            target_sub_id=sub_id or self.sub_id,
            sender_sub_id=sender_sub_id,
        )

    def logged_on(self, **logon) -> FixClient:
        client = self.client()
        client.logon(key=self.key, secret=self.secret, **logon)
        answer = client.receive()
        assert answer.msg_type == "A", answer
        return client


def serve_target(gateway_type: str = GatewayType.CGW) -> Served:
    target = approved_target(gateway_type)
    target_provision(actor=ACTOR, target_id=target.pk)
    target.refresh_from_db()
    created = key_pair_create(actor=ACTOR, target=target)
    probe = probe_key_pair_ensure(actor=ACTOR, target_id=target.pk)
    address = target.addresses.filter(released=False).order_by("id").first()
    return Served(
        target=target,
        ip=address.ip,
        port=address.port,
        sub_id=address.target_sub_id,
        key=created.key_pair.access_key_id,
        secret=created.secret_key,
        probe_key=probe.access_key_id,
        probe_secret=key_pair_secret(probe),
    )


@pytest.fixture
def frozen():
    clock.freeze(WEDNESDAY)
    return WEDNESDAY


@pytest.fixture
def served(frozen) -> Served:
    return serve_target()


@pytest.fixture
def start_gateway():
    """``start_gateway(**options)`` → a running ``GatewayThread``; every one is stopped afterwards."""
    running: list[GatewayThread] = []

    def start(**options) -> GatewayThread:
        thread = GatewayThread(**options).start()
        running.append(thread)
        return thread

    yield start
    for thread in running:
        thread.stop()


@pytest.fixture
def gateway(served, start_gateway) -> GatewayThread:
    return start_gateway()

"""The gateway records itself and the addresses it serves (R19), for verification to wait on (R16):
rows when it starts serving, gone when a target closes or the gateway stops; ``last_seen_at``
refreshed every few seconds, and a process not seen for a while counts as not running."""

import datetime as dt
import os
import socket

from django.db import transaction
from django.urls import reverse

from dropcopy_admin import clock
from dropcopy_admin.models import GatewayProcess, ServedAddress, TargetAddress
from dropcopy_admin.models.gateway_processes import GONE_AFTER, LAST_SEEN_EVERY
from dropcopy_admin.services.targets import targets_close
from tests.dropcopy_admin.test_provisioning import approved_target

from .conftest import ACTOR, REAL_DB, WEDNESDAY, serve_target


def served_rows() -> set[tuple[int, int, int]]:
    return set(ServedAddress.objects.values_list("process_id", "target_id", "address_id"))


def live_address_ids(target) -> set[int]:
    return set(TargetAddress.objects.filter(target=target, released=False).values_list("pk", flat=True))


@REAL_DB
def test_a_running_gateway_records_itself_and_every_address_it_serves(served, gateway):
    process = GatewayProcess.objects.get()

    assert (process.name, process.host, process.pid) == ("gateway", socket.gethostname(), os.getpid())
    assert (process.started_at, process.last_seen_at, process.stopped_at) == (WEDNESDAY, WEDNESDAY, None)
    assert process.listening_addresses == 2
    assert served_rows() == {(process.pk, served.target.pk, address) for address in live_address_ids(served.target)}
    assert set(ServedAddress.objects.values_list("since", flat=True)) == {WEDNESDAY}
    assert list(GatewayProcess.objects.running(at=clock.now())) == [process]


@REAL_DB
def test_a_new_target_is_recorded_once_served_and_a_closed_one_goes(served, gateway):
    process = GatewayProcess.objects.get()
    clock.advance(dt.timedelta(minutes=1))
    second = serve_target()

    gateway.wait_refreshed()
    gateway.wait_refreshed()  # the read that began before the commit may not have seen it

    rows = ServedAddress.objects.filter(target=second.target)
    assert set(rows.values_list("address_id", flat=True)) == live_address_ids(second.target)
    assert set(rows.values_list("since", flat=True)) == {WEDNESDAY + dt.timedelta(minutes=1)}
    with transaction.atomic():
        targets_close(actor=ACTOR, targets=[second.target], at=clock.now())

    gateway.wait_refreshed()
    gateway.wait_refreshed()

    assert not ServedAddress.objects.filter(target=second.target).exists()
    assert set(ServedAddress.objects.values_list("target_id", flat=True)) == {served.target.pk}
    process.refresh_from_db()
    assert process.listening_addresses == 2


@REAL_DB
def test_a_gateway_that_stops_marks_itself_stopped_and_serves_nothing(served, gateway):
    gateway.stop()

    process = GatewayProcess.objects.get()
    assert process.stopped_at == WEDNESDAY
    assert process.listening_addresses == 0
    assert not ServedAddress.objects.exists()
    assert not GatewayProcess.objects.running(at=clock.now()).exists()


@REAL_DB
def test_last_seen_is_written_every_few_seconds_not_on_every_registry_read(served, gateway):
    process = GatewayProcess.objects.get()
    clock.advance(LAST_SEEN_EVERY / 2)
    gateway.wait_refreshed()
    process.refresh_from_db()
    assert process.last_seen_at == WEDNESDAY, "nothing changed and it was seen a moment ago"

    clock.advance(LAST_SEEN_EVERY)
    gateway.wait_refreshed()
    gateway.wait_refreshed()  # the read under way may have begun before the clock moved

    process.refresh_from_db()
    assert process.last_seen_at == WEDNESDAY + LAST_SEEN_EVERY * 3 / 2


def test_a_process_not_seen_for_a_while_counts_as_not_running(db):
    process = GatewayProcess.objects.create(
        name="gateway", host="elsewhere", pid=1, started_at=WEDNESDAY, last_seen_at=WEDNESDAY
    )

    assert GatewayProcess.objects.running(at=WEDNESDAY + GONE_AFTER).get() == process
    assert not GatewayProcess.objects.running(at=WEDNESDAY + GONE_AFTER + dt.timedelta(seconds=1)).exists()
    assert GatewayProcess.objects.gone(at=WEDNESDAY + GONE_AFTER + dt.timedelta(seconds=1)).get() == process


@REAL_DB
def test_a_starting_gateway_clears_what_a_dead_one_left_and_serves_on(served, start_gateway):
    dead = GatewayProcess.objects.create(
        name="gateway", host="elsewhere", pid=1, started_at=WEDNESDAY, last_seen_at=WEDNESDAY - GONE_AFTER * 2
    )
    address = TargetAddress.objects.filter(target=served.target).first()
    ServedAddress.objects.create(process=dead, target=served.target, address=address, since=dead.started_at)

    gateway = start_gateway()

    alive = GatewayProcess.objects.exclude(pk=dead.pk).get()
    assert {process_id for process_id, _, _ in served_rows()} == {alive.pk}
    clock.advance(GONE_AFTER * 2)  # away so long that others may have cleared its rows: it writes them all again
    ServedAddress.objects.all().delete()
    gateway.wait_refreshed()
    gateway.wait_refreshed()
    assert served_rows() == {(alive.pk, served.target.pk, address) for address in live_address_ids(served.target)}
    assert GatewayProcess.objects.running(at=clock.now()).get() == alive


def test_the_admin_lists_gateway_processes_and_what_they_serve_read_only(db, client, account_manager):
    frozen_at = clock.now()
    target = approved_target()
    running = GatewayProcess.objects.create(
        name="gateway", host="gw-1", pid=41, started_at=frozen_at, last_seen_at=frozen_at
    )
    GatewayProcess.objects.create(
        name="gateway", host="gw-2", pid=42, started_at=frozen_at, last_seen_at=frozen_at, stopped_at=frozen_at
    )
    address = target.addresses.order_by("id").first()
    served = ServedAddress.objects.create(process=running, target=target, address=address, since=frozen_at)
    client.force_login(account_manager)

    processes = client.get(reverse("admin:dropcopy_admin_gatewayprocess_changelist")).content.decode()
    addresses = client.get(reverse("admin:dropcopy_admin_servedaddress_changelist")).content.decode()
    detail = client.get(reverse("admin:dropcopy_admin_servedaddress_change", args=[served.pk]))

    assert "gw-1" in processes and "Running" in processes and "Stopped" in processes
    assert target.target_comp_id in addresses and address.ip in addresses
    assert detail.status_code == 200
    assert client.get(reverse("admin:dropcopy_admin_gatewayprocess_add")).status_code == 403


@REAL_DB
def test_the_gateway_publishes_its_live_figures_with_last_seen_not_per_message(served, gateway):
    """Sessions logged on, the last Heartbeat, today's ResendRequests and refused logons: counted
    in memory, written with ``last_seen_at`` every few seconds (the dashboard shows them)."""
    client = served.logged_on()
    client.heartbeat()
    client.resend_request(1, 0)
    client.receive_type("4")
    refused = served.client()
    refused.logon(key="UNKNOWNKEY0000000000", secret=served.secret)
    assert refused.receive().msg_type == "5"
    client.test_request("SYNC")  # the heartbeat and the resend request were read before this answer
    client.receive_type("0")
    process = GatewayProcess.objects.get()
    assert process.resend_requests_today == 0, "nothing is written per message"

    clock.advance(LAST_SEEN_EVERY)
    gateway.wait_refreshed()
    gateway.wait_refreshed()

    process.refresh_from_db()
    assert process.sessions_logged_on == 1
    assert process.last_heartbeat_at == WEDNESDAY
    assert (process.resend_requests_today, process.refused_logons_today) == (1, 1)
    assert process.published_at == WEDNESDAY + LAST_SEEN_EVERY

    clock.advance(dt.timedelta(days=1))  # a new UTC day: today's counts start again
    gateway.wait_refreshed()
    gateway.wait_refreshed()
    process.refresh_from_db()
    assert (process.resend_requests_today, process.refused_logons_today) == (0, 0)
    client.close()

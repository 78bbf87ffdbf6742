"""Helpers of the certification checklist tests (R9): an AutoCert+ target with its certification and
five checks built from the models, clients that answer the gateway's TestRequest, and waits on the
gateway's database thread."""

import datetime as dt
import itertools
import time

from dropcopy_admin import clock
from dropcopy_admin.choices import (
    CertificationCheckName,
    GatewayType,
)
from dropcopy_admin.models import TargetSession
from dropcopy_admin.services import targets as target_services
from dropcopy_admin.services.keys import key_pair_create, key_pair_secret, probe_key_pair_ensure
from entitlements.models import Certification, CertificationCheck
from entitlements.services.temporary_targets import certification_request
from tests import factories

from .client import FixClient
from .conftest import ACTOR, Served

CHECKS = tuple(CertificationCheckName.values)


def autocert_certification(gateway_type: str = GatewayType.CGW) -> Certification:
    """A ``requested`` certification with its AutoCert+ target (CERT) ready now and five unpassed checks."""
    front_end_system = factories.FrontEndSystemFactory()
    certification = certification_request(
        actor=ACTOR,
        entity=front_end_system.entity,
        front_end_system=front_end_system,
        venue=factories.venue("CME"),
        gateway_type=gateway_type,
    )
    # The request makes it ready in 48 hours; these tests start where that wait has passed.
    TargetSession.objects.filter(pk=certification.target_id).update(ready_at=clock.now())
    return certification


def serve_certification(certification: Certification) -> Served:
    """Provision the certification's target and create its client key: what a ``Served`` needs."""
    target = target_services.target_provision(actor=ACTOR, target_id=certification.target_id)
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


def passed(certification: Certification) -> dict[str, dt.datetime | None]:
    return dict(CertificationCheck.objects.filter(certification=certification).values_list("name", "passed_at"))


def passed_names(certification: Certification) -> set[str]:
    return {name for name, at in passed(certification).items() if at is not None}


def wait_passed(certification: Certification, *names: str, timeout: float = 3.0) -> dict[str, dt.datetime | None]:
    """Poll until every check of ``names`` has its ``passed_at`` (the gateway records on its DB thread)."""
    deadline = time.monotonic() + timeout
    while True:
        times = passed(certification)
        if all(times[name] is not None for name in names):
            return times
        if time.monotonic() > deadline:
            raise AssertionError(f"checks {names} not passed within {timeout} s: {times}")
        time.sleep(0.05)


def sync(client: FixClient, tag: str = "SYNC") -> None:
    """A round trip through the gateway's database thread: everything it queued before is written.

    The answering Heartbeat is stored (a client session stores what it sends) on the same thread,
    after every check record queued before it. Sends a TestRequest, so it ends a heartbeat run.
    """
    client.test_request(tag)
    while True:
        message = client.receive()
        if message.msg_type == "0" and message.get_str(112) == tag:
            return


def wait_read(gateway, client: FixClient, timeout: float = 3.0) -> None:
    """Wait until the gateway has read every message ``client`` sent (its session expects the next).

    Stronger than a short sleep when the machine is busy: the gateway stamps a message with the
    clock when it reads it, so the clock must not move before then.
    """
    deadline = time.monotonic() + timeout
    while True:
        sessions = [
            session
            for session in list(gateway.gateway.sessions)
            if session.logged_on and session.address.target_comp_id == client.sender_comp_id and not session.probe
        ]
        if any(session.next_incoming >= client.seq for session in sessions):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the gateway did not read message {client.seq - 1} in {timeout} s")
        time.sleep(0.01)


def settle() -> None:
    """A short real wait for the gateway to read what the client just sent (the clock stands still)."""
    time.sleep(0.25)


def advance(seconds: float) -> None:
    clock.advance(dt.timedelta(seconds=seconds))


def cert_logged_on(served: Served, *, heartbeat: int = 30, seq: int | None = None, answer: bool = True) -> FixClient:
    """A client logged on to an AutoCert+ target: the Logon answered, then the gateway's TestRequest
    (answered with its TestReqID when ``answer``)."""
    client = served.client()
    client.logon(key=served.key, secret=served.secret, heartbeat=heartbeat, seq=seq)
    assert client.receive().msg_type == "A"
    test_request = client.receive_type("1")
    if answer:
        client.heartbeat(test_request.get_str(112))
    return client


def drain(client: FixClient, seconds: float = 0.4) -> list:
    """Every message that arrives within ``seconds`` of real time."""
    seen = []
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            seen.append(client.receive(timeout=remaining))
        except TimeoutError:
            break
    return seen


def gap_in(messages: list) -> int | None:
    """The first MsgSeqNum missing from ``messages`` (the gateway's deliberate gap), if any."""
    seqs = sorted(m.seq_num for m in messages if m.get_str(43) != "Y")
    for before, after in itertools.pairwise(seqs):
        if after > before + 1:
            return before + 1
    return None

"""What the gateway serves: live targets' addresses and keys, read from the database (R19).

The server reads a fresh ``Snapshot`` at least every second, so new, changed and closed targets
and keys are followed within 2 seconds of their commit; a session whose key stops being live is
logged out on the next read.
"""

import datetime as dt
from dataclasses import dataclass

from dropcopy_admin.choices import TargetStatus, TemporaryKind
from dropcopy_admin.models import TargetAddress
from dropcopy_admin.models.keys import KeyPair
from dropcopy_admin.services.keys import key_pair_secret


@dataclass(frozen=True)
class Address:
    """One listening address and what a logon on it must carry."""

    ip: str
    port: int
    address_id: int
    target_id: int
    target_comp_id: str
    gateway_type: str
    market_segment: int | None
    target_sub_id: str
    ready_at: dt.datetime | None
    autocert: bool = False  # an AutoCert+ target: the certification checklist runs on it (R9)


@dataclass(frozen=True)
class Snapshot:
    addresses: dict[tuple[str, int], Address]
    live_keys: frozenset[tuple[int, str]]  # (target id, Access Key ID), probe keys included

    def key_is_live(self, target_id: int, access_key_id: str) -> bool:
        return (target_id, access_key_id) in self.live_keys


def snapshot_load(
    *, at: dt.datetime, only: frozenset[str] = frozenset(), exclude: frozenset[str] = frozenset()
) -> Snapshot:
    """Every non-released address of every target that is not closed (filtered by IP), and live keys."""
    rows = (
        TargetAddress.objects.filter(released=False)
        .exclude(target__status=TargetStatus.CLOSED)
        .select_related("target")
        .order_by("id")
    )
    addresses = {}
    for row in rows:
        if (only and row.ip not in only) or row.ip in exclude:
            continue
        addresses[(row.ip, row.port)] = Address(
            ip=row.ip,
            port=row.port,
            address_id=row.pk,
            target_id=row.target_id,
            target_comp_id=row.target.target_comp_id,
            gateway_type=row.target.gateway_type,
            market_segment=row.market_segment,
            target_sub_id=row.target_sub_id,
            ready_at=row.target.ready_at,
            autocert=row.target.temporary == TemporaryKind.AUTOCERT,
        )
    keys = frozenset(KeyPair.objects.live(at=at).values_list("target_id", "access_key_id"))
    return Snapshot(addresses=addresses, live_keys=keys)


def logon_secret(*, target_id: int, access_key_id: str, probe: bool, at: dt.datetime) -> str | None:
    """The Secret Key of the target's live key ``access_key_id`` (its probe key when ``probe``), or None."""
    key_pair = (
        KeyPair.objects.live(at=at).filter(target_id=target_id, access_key_id=access_key_id, is_probe=probe).first()
    )
    if key_pair is None:
        return None
    return key_pair_secret(key_pair)

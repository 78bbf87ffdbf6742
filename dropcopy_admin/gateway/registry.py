"""What the gateway serves: live targets' addresses and keys, read from the database (R19).

The server reads a fresh ``Snapshot`` at least every second, so new, changed and closed targets
and keys are followed within 2 seconds of their commit; a session whose key stops being live is
logged out on the next read.
"""

import datetime as dt
import functools
from dataclasses import dataclass, field

from django.db import connection

from dropcopy_admin import crypto
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
class LiveKey:
    """A live key the gateway accepts logons with; its Secret Key held decrypted, never shown."""

    secret_key: str = field(repr=False)
    token: str = field(repr=False)  # the encrypted form, to decrypt again only when it changes
    expires_at: dt.datetime | None = None


@dataclass(frozen=True)
class Snapshot:
    addresses: dict[tuple[str, int], Address]
    live_keys: frozenset[tuple[int, str]]  # (target id, Access Key ID), probe keys included
    # (target id, Access Key ID, is probe) → the key, for the targets of ``addresses`` only
    secrets: dict[tuple[int, str, bool], LiveKey] = field(default_factory=dict, repr=False, compare=False)
    digest: str = ""  # of the rows it was read from: the same digest, the same snapshot

    def key_is_live(self, target_id: int, access_key_id: str) -> bool:
        return (target_id, access_key_id) in self.live_keys

    def logon_secret(self, *, target_id: int, access_key_id: str, probe: bool, at: dt.datetime) -> str | None:
        """The Secret Key of a live key held in the snapshot (None when it is not, or expired since)."""
        key = self.secrets.get((target_id, access_key_id, probe))
        if key is None or (key.expires_at is not None and key.expires_at <= at):
            return None
        return key.secret_key


def snapshot_load(
    *,
    at: dt.datetime,
    only: frozenset[str] = frozenset(),
    exclude: frozenset[str] = frozenset(),
    previous: Snapshot | None = None,
) -> Snapshot:
    """Every non-released address of every target that is not closed (filtered by IP), and live keys.

    The live keys of the served targets are held decrypted; a key whose encrypted form is unchanged
    since ``previous`` is not decrypted again.
    """
    digest = _digest(at)
    if previous is not None and previous.digest == digest:
        return previous  # nothing it was read from changed: no rows to build, no key to decrypt
    rows = _addresses_query()
    keys = _live_keys_query(at)
    addresses = {}
    for ip, port, pk, target_id, comp_id, gateway_type, segment, sub_id, ready_at, temporary in rows:
        if (only and ip not in only) or ip in exclude:
            continue
        addresses[(ip, port)] = Address(
            ip=ip,
            port=port,
            address_id=pk,
            target_id=target_id,
            target_comp_id=comp_id,
            gateway_type=gateway_type,
            market_segment=segment,
            target_sub_id=sub_id,
            ready_at=ready_at,
            autocert=temporary == TemporaryKind.AUTOCERT,
        )
    served = {address.target_id for address in addresses.values()}
    known = previous.secrets if previous is not None else {}
    live_keys = set()
    secrets = {}
    for target_id, access_key_id, is_probe, token, expires_at in keys:
        live_keys.add((target_id, access_key_id))
        if target_id not in served:
            continue
        index = (target_id, access_key_id, is_probe)
        held = known.get(index)
        if held is None or held.token != token:
            held = LiveKey(secret_key=crypto.decrypt(token), token=token)
        secrets[index] = LiveKey(secret_key=held.secret_key, token=token, expires_at=expires_at)
    return Snapshot(addresses=addresses, live_keys=frozenset(live_keys), secrets=secrets, digest=digest)


def _addresses_query():
    return (
        TargetAddress.objects.filter(released=False)
        .exclude(target__status=TargetStatus.CLOSED)
        .order_by("id")
        .values_list(
            "ip",
            "port",
            "pk",
            "target_id",
            "target__target_comp_id",
            "target__gateway_type",
            "market_segment",
            "target_sub_id",
            "target__ready_at",
            "target__temporary",
        )
    )


def _live_keys_query(at: dt.datetime):
    return (
        KeyPair.objects.live(at=at)
        .order_by("id")
        .values_list("target_id", "access_key_id", "is_probe", "secret_encrypted", "expires_at")
    )


def _digest(at: dt.datetime) -> str:
    """An MD5 of every row the snapshot at ``at`` is read from, computed by PostgreSQL (one row comes back)."""
    sql, params = _digest_statement()
    with connection.cursor() as cursor:
        cursor.execute(sql, [at if param is _AT else param for param in params])
        return cursor.fetchone()[0]


_AT = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
"""Stands for the moment of the read in the digest's compiled parameters."""


@functools.cache
def _digest_statement() -> tuple[str, tuple]:
    """The digest's statement, compiled once (the gateway reads twice a second): an MD5 of the
    rows of the addresses query and of the live keys query, ``_AT`` where the moment goes."""
    parts, params = [], []
    for queryset in (_addresses_query(), _live_keys_query(_AT)):
        sql, query_params = queryset.query.sql_with_params()
        parts.append(f"(SELECT md5(coalesce(string_agg(rows::text, ';'), '')) FROM ({sql}) AS rows)")
        params.extend(query_params)
    if sum(param is _AT for param in params) != 1:
        raise RuntimeError("the live keys query no longer takes the moment as one parameter")
    return "SELECT " + " || ".join(parts), tuple(params)


def logon_secret(*, target_id: int, access_key_id: str, probe: bool, at: dt.datetime) -> str | None:
    """The Secret Key of the target's live key ``access_key_id`` (its probe key when ``probe``), or None."""
    key_pair = (
        KeyPair.objects.live(at=at).filter(target_id=target_id, access_key_id=access_key_id, is_probe=probe).first()
    )
    if key_pair is None:
        return None
    return key_pair_secret(key_pair)

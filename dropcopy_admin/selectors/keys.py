"""Reads of key pairs for the drop copy gateway (R19) and the connectivity probe (R16).

A key pair is live while it is neither revoked nor expired; the gateway logs out any session
whose key stops being live. Only these functions decrypt a Secret Key, and only for signing or
checking a logon: never return one to a client, a log line or an error.
"""

import datetime as dt

from django.db import models

from dropcopy_admin import crypto
from dropcopy_admin.models import KeyPair, TargetSession


def key_pairs_live_for_target(
    target: TargetSession | int, *, at: dt.datetime | None = None, include_probe: bool = False
) -> models.QuerySet:
    """The target's client key pairs live at ``at`` (default now), oldest first; with the probe's if asked."""
    rows = KeyPair.objects.filter(target=target)
    if not include_probe:
        rows = rows.filter(is_probe=False)
    return rows.live(at).order_by("id")


def probe_key_pair_for_target(target: TargetSession | int, *, at: dt.datetime | None = None) -> KeyPair | None:
    """The target's live probe key pair (R16), or ``None`` before provisioning made it."""
    return KeyPair.objects.filter(target=target, is_probe=True).live(at).first()


def key_pair_by_access_key_id(access_key_id: str, *, at: dt.datetime | None = None) -> KeyPair | None:
    """The live key pair with this Access Key ID (any target), or ``None``."""
    return KeyPair.objects.filter(access_key_id=access_key_id).live(at).first()


def key_pair_secret(key_pair: KeyPair) -> str:
    """The Secret Key of ``key_pair`` in clear (43 characters), for signing or checking a logon."""
    return crypto.decrypt(key_pair.secret_encrypted)

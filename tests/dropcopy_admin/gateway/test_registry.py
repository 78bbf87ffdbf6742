"""The gateway's registry snapshot: read again only when what it is read from changed, including a
key reaching its expiry between two reads (the digest's statement is compiled once, the moment is a
parameter)."""

import datetime as dt

import pytest

from dropcopy_admin.gateway.registry import snapshot_load
from dropcopy_admin.models import KeyPair

from .conftest import WEDNESDAY

pytestmark = pytest.mark.django_db


def test_an_unchanged_registry_gives_back_the_same_snapshot(served):
    first = snapshot_load(at=WEDNESDAY)

    assert snapshot_load(at=WEDNESDAY + dt.timedelta(seconds=1), previous=first) is first
    assert (served.ip, served.port) in first.addresses


def test_a_key_reaching_its_expiry_between_two_reads_gives_a_new_snapshot(served):
    expires_at = WEDNESDAY + dt.timedelta(minutes=5)
    KeyPair.objects.filter(access_key_id=served.key).update(expires_at=expires_at)
    before = snapshot_load(at=WEDNESDAY)

    still = snapshot_load(at=expires_at - dt.timedelta(microseconds=1), previous=before)
    after = snapshot_load(at=expires_at, previous=before)

    assert still is before
    assert after is not before
    assert (served.target.pk, served.key) in before.live_keys
    assert (served.target.pk, served.key) not in after.live_keys

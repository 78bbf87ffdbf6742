"""Key pairs (R11) and the probe key pair (R16, R17): secret format and encryption, the key file,
the two-live rule with time moved by the product's clock, the 12-month expiry and its warning,
revocation, closing, and the probe key made once by provisioning and never counted."""

import base64
import csv
import datetime as dt
import io
import json
import re

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction

from dropcopy_admin import clock, crypto, errors
from dropcopy_admin.choices import Role, TargetStatus
from dropcopy_admin.models import AuditEvent, KeyPair, TargetSession
from dropcopy_admin.models.audit import audit_object_type
from dropcopy_admin.selectors.keys import (
    key_pair_secret,
    key_pairs_live_for_target,
    probe_key_pair_for_target,
)
from dropcopy_admin.services import keys as key_services
from dropcopy_admin.services.audit import SystemActor
from dropcopy_admin.services.groups import group_close
from dropcopy_admin.services.keys import (
    KEY_FILE_HEADER,
    key_pair_create,
    key_pair_revoke,
    key_pairs_warn_expiring,
    probe_key_pair_ensure,
)
from dropcopy_admin.services.targets import target_provision, targets_close
from dropcopy_admin.tasks import warn_expiring_key_pairs
from entitlements.services.memberships import memberships_request
from tests import factories
from tests.dropcopy_admin.interrupted_provisioning import ProvisioningFault, provisioning_interrupted_after
from tests.dropcopy_admin.test_settings import _production_env, _run

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 15, 30, tzinfo=dt.UTC)
FOUR_WEEKS = dt.timedelta(weeks=4)
TWELVE_MONTHS = dt.timedelta(days=365)
PROVISIONING = SystemActor("provision_target")
KEYPAIR = audit_object_type(KeyPair)


@pytest.fixture(autouse=True)
def _frozen_clock():
    clock.freeze(T0)


def approved_target(account_manager, *, group=None) -> TargetSession:
    """A pending target opened by an auto-approved request (not provisioned: on_commit does not fire here)."""
    group = group or factories.GroupFactory()
    session = factories.SourceSessionFactory(gfid__entity=group.entity, gfid__admin_control=True)
    (outcome,) = memberships_request(actor=account_manager, group=group, sessions=[session])
    assert outcome.error is None, outcome.error
    return outcome.membership.target


@pytest.fixture
def target(account_manager) -> TargetSession:
    return approved_target(account_manager)


def create(actor, target) -> key_services.CreatedKeyPair:
    return key_pair_create(actor=actor, target=target)


def fresh(key_pair: KeyPair) -> KeyPair:
    key_pair.refresh_from_db()
    return key_pair


def client_pairs(target) -> list[KeyPair]:
    return list(KeyPair.objects.filter(target=target, is_probe=False).order_by("id"))


# --- the secret, the Access Key ID, the key file -----------------------------------------------


def test_secret_key_is_32_random_bytes_in_43_base64url_characters_without_padding(account_manager, target):
    created = create(account_manager, target)

    assert len(created.secret_key) == 43
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", created.secret_key)
    assert len(base64.urlsafe_b64decode(created.secret_key + "=")) == 32


def test_every_secret_key_is_new(account_manager, target):
    secrets_seen = {key_services.new_secret_key() for _ in range(200)}
    assert len(secrets_seen) == 200


def test_access_key_id_is_20_uppercase_letters_and_digits_and_unique(account_manager, target):
    ids = [create(account_manager, target).key_pair.access_key_id for _ in range(6)]

    assert all(re.fullmatch(r"[A-Z0-9]{20}", access_key_id) for access_key_id in ids)
    assert len(set(ids)) == 6


def test_the_database_refuses_a_malformed_access_key_id(target):
    with pytest.raises(IntegrityError), transaction.atomic():
        KeyPair.objects.create(
            target=target,
            access_key_id="abcdefghij0123456789",
            secret_encrypted="x",
            created_at=T0,
            expires_at=T0 + TWELVE_MONTHS,
        )


def test_key_file_is_csv_with_the_header_and_one_row_in_utc(account_manager, target):
    created = create(account_manager, target)

    rows = list(csv.reader(io.StringIO(created.key_file)))

    assert rows[0] == KEY_FILE_HEADER
    assert rows[0] == [
        "Session ID",
        "Access Key ID",
        "Secret Key",
        "Creation Date",
        "Expiration Date",
        "Environment",
    ]
    assert rows[1:] == [
        [
            target.target_comp_id,
            created.key_pair.access_key_id,
            created.secret_key,
            "2026-03-02T15:30:00Z",
            "2027-03-02T15:30:00Z",
            "PRODUCTION",
        ]
    ]


def test_the_secret_is_stored_encrypted_and_decrypts_to_itself(account_manager, target):
    created = create(account_manager, target)

    stored = KeyPair.objects.get(pk=created.key_pair.pk)
    assert stored.secret_encrypted != created.secret_key
    assert created.secret_key not in stored.secret_encrypted
    assert Fernet(settings.DROPCOPY_KEY_ENCRYPTION_KEY).decrypt(stored.secret_encrypted.encode()).decode() == (
        created.secret_key
    )
    assert key_pair_secret(stored) == created.secret_key


def test_the_created_value_never_shows_its_secret_in_its_repr(account_manager, target):
    created = create(account_manager, target)
    assert created.secret_key not in repr(created)
    assert created.secret_key not in str(created.key_pair)


def test_the_audit_trail_records_the_public_fields_only(account_manager, target):
    created = create(account_manager, target)

    event = AuditEvent.objects.get(object_type=KEYPAIR, object_id=created.key_pair.pk, action="create")
    assert event.actor == account_manager.username
    assert event.after["access_key_id"] == created.key_pair.access_key_id
    assert "secret_encrypted" not in event.after
    dumped = json.dumps([event.before, event.after])
    assert created.secret_key not in dumped
    assert created.key_pair.secret_encrypted not in dumped


# --- encryption --------------------------------------------------------------------------------


def test_a_secret_encrypted_under_another_key_is_unreadable_without_saying_what_it_is(settings):
    token = Fernet(Fernet.generate_key()).encrypt(b"some-secret").decode()

    with pytest.raises(crypto.SecretUnreadable) as raised:
        crypto.decrypt(token)
    assert "some-secret" not in str(raised.value)
    assert token not in str(raised.value)


def test_keys_rotate_the_first_encrypts_and_every_one_decrypts(settings):
    old_key = settings.DROPCOPY_KEY_ENCRYPTION_KEY
    token = crypto.encrypt("rotated-secret")
    new_key = Fernet.generate_key().decode()

    settings.DROPCOPY_KEY_ENCRYPTION_KEY = f"{new_key},{old_key}"

    assert crypto.decrypt(token) == "rotated-secret"
    assert Fernet(new_key).decrypt(crypto.encrypt("fresh").encode()) == b"fresh"


@pytest.mark.parametrize("value", ["", "not-a-fernet-key"])
def test_a_missing_or_malformed_encryption_key_is_a_configuration_error(settings, value):
    settings.DROPCOPY_KEY_ENCRYPTION_KEY = value

    with pytest.raises(ImproperlyConfigured) as raised:
        crypto.encrypt("x")
    assert "DROPCOPY_KEY_ENCRYPTION_KEY" in str(raised.value)
    if value:
        assert value not in str(raised.value)


def test_production_settings_refuse_to_start_without_a_key_encryption_key():
    env = _production_env()
    del env["DROPCOPY_KEY_ENCRYPTION_KEY"]
    result = _run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "DROPCOPY_KEY_ENCRYPTION_KEY" in result.stderr


def test_production_settings_refuse_a_malformed_key_encryption_key_without_echoing_it():
    result = _run(["manage.py", "check"], _production_env(DROPCOPY_KEY_ENCRYPTION_KEY="too-short-to-be-a-key"))
    assert result.returncode != 0
    assert "DROPCOPY_KEY_ENCRYPTION_KEY" in result.stderr
    assert "too-short-to-be-a-key" not in result.stderr


# --- expiry and the two-live rule ------------------------------------------------------------


def test_a_live_key_pair_is_neither_revoked_nor_expired_and_a_probe_pair_never_expires(account_manager, target):
    kept = create(account_manager, target).key_pair
    revoked = create(account_manager, target).key_pair
    key_pair_revoke(actor=account_manager, key_pair=revoked)
    probe = probe_key_pair_ensure(actor=PROVISIONING, target_id=target.pk)

    assert set(KeyPair.objects.filter(target=target).live()) == {kept, probe}
    assert set(KeyPair.objects.filter(target=target).live(fresh(kept).expires_at - dt.timedelta(seconds=1))) == {
        kept,
        probe,
    }
    assert list(KeyPair.objects.filter(target=target).live(fresh(kept).expires_at)) == [probe]
    assert all(key_pair.is_live(T0) for key_pair in (kept, probe)) and not fresh(revoked).is_live(T0)


def test_a_pair_expires_12_months_after_creation(account_manager, target):
    created = create(account_manager, target)

    assert created.key_pair.created_at == T0
    assert created.key_pair.expires_at == T0 + dt.timedelta(days=settings.DROPCOPY["KEY_PAIR_LIFETIME_DAYS"])
    assert list(key_pairs_live_for_target(target)) == [created.key_pair]

    clock.advance(TWELVE_MONTHS - dt.timedelta(seconds=1))
    assert list(key_pairs_live_for_target(target)) == [created.key_pair]
    clock.advance(dt.timedelta(seconds=1))
    assert list(key_pairs_live_for_target(target)) == []


def test_the_lifetime_comes_from_settings(account_manager, target, settings):
    settings.DROPCOPY = {**settings.DROPCOPY, "KEY_PAIR_LIFETIME_DAYS": 90}

    assert create(account_manager, target).key_pair.expires_at == T0 + dt.timedelta(days=90)


def test_a_second_pair_makes_the_older_expire_in_four_weeks(account_manager, target):
    first = create(account_manager, target).key_pair
    clock.advance(dt.timedelta(days=100))

    second = create(account_manager, target).key_pair

    assert fresh(first).expires_at == T0 + dt.timedelta(days=100) + FOUR_WEEKS
    assert fresh(first).revoked_at is None
    assert second.expires_at == T0 + dt.timedelta(days=100) + TWELVE_MONTHS
    assert list(key_pairs_live_for_target(target)) == [first, second]
    events = AuditEvent.objects.filter(object_type=KEYPAIR, object_id=first.pk, action="supersede")
    assert events.count() == 1


def test_a_second_pair_leaves_an_older_pair_expiring_sooner_at_its_own_expiry(account_manager, target):
    first = create(account_manager, target).key_pair
    clock.advance(TWELVE_MONTHS - dt.timedelta(days=10))

    create(account_manager, target)

    assert fresh(first).expires_at == T0 + TWELVE_MONTHS


def test_a_third_pair_revokes_the_oldest_at_once_and_gives_the_second_four_weeks(account_manager, target):
    first = create(account_manager, target).key_pair
    clock.advance(dt.timedelta(days=3))
    second = create(account_manager, target).key_pair
    clock.advance(dt.timedelta(days=5))
    now = clock.now()

    third = create(account_manager, target).key_pair

    first, second = fresh(first), fresh(second)
    assert first.revoked_at == now
    assert second.revoked_at is None
    assert second.expires_at == now + FOUR_WEEKS
    assert third.expires_at == now + TWELVE_MONTHS
    assert list(key_pairs_live_for_target(target)) == [second, third]


def test_a_third_pair_leaves_the_remaining_older_pair_at_its_own_expiry_if_sooner(account_manager, target):
    first = create(account_manager, target).key_pair
    clock.advance(dt.timedelta(days=1))
    second = create(account_manager, target).key_pair  # second: T0 + 1 day + 12 months
    clock.advance(TWELVE_MONTHS - dt.timedelta(days=5))  # the first has expired; the second has 6 days

    third = create(account_manager, target).key_pair

    assert fresh(first).revoked_at is None, "an expired pair is not live, so not counted"
    assert fresh(second).revoked_at is None
    assert fresh(second).expires_at == T0 + dt.timedelta(days=1) + TWELVE_MONTHS
    assert list(key_pairs_live_for_target(target)) == [second, third]


def test_a_third_pair_with_both_older_live_at_full_term_shortens_the_remaining_one(account_manager, target):
    """The remaining older pair gets 4 weeks from now, or keeps its own expiry if that is sooner."""
    create(account_manager, target)
    clock.advance(dt.timedelta(days=20))
    second = create(account_manager, target).key_pair
    clock.advance(dt.timedelta(days=20))  # the first expired meanwhile (4 weeks after the second)

    create(account_manager, target)

    assert fresh(second).expires_at == clock.now() + FOUR_WEEKS
    assert fresh(second).revoked_at is None


def test_never_more_than_two_live_pairs(account_manager, target):
    for _ in range(5):
        create(account_manager, target)
        clock.advance(dt.timedelta(hours=1))

    pairs = client_pairs(target)
    assert len(pairs) == 5
    assert key_pairs_live_for_target(target).count() == 2
    assert [pair.revoked_at is not None for pair in pairs] == [True, True, True, False, False]


def test_expired_pairs_are_not_counted(account_manager, target):
    create(account_manager, target)
    clock.advance(TWELVE_MONTHS + dt.timedelta(days=1))

    second = create(account_manager, target).key_pair

    assert fresh(second).expires_at == clock.now() + TWELVE_MONTHS
    assert KeyPair.objects.filter(target=target, revoked_at__isnull=False).count() == 0


def test_keys_of_one_target_do_not_count_for_another(account_manager, target):
    other = approved_target(account_manager)
    create(account_manager, target)
    create(account_manager, target)

    create(account_manager, other)

    assert key_pairs_live_for_target(target).count() == 2
    assert key_pairs_live_for_target(other).count() == 1
    assert not KeyPair.objects.filter(revoked_at__isnull=False).exists()


# --- revocation -------------------------------------------------------------------------------


def test_revocation_is_immediate(account_manager, target):
    pair = create(account_manager, target).key_pair
    clock.advance(dt.timedelta(minutes=3))

    revoked = key_pair_revoke(actor=account_manager, key_pair=pair)

    assert revoked.revoked_at == clock.now()
    assert list(key_pairs_live_for_target(target)) == []
    assert AuditEvent.objects.filter(object_type=KEYPAIR, object_id=pair.pk, action="revoke").count() == 1


def test_revoking_a_revoked_pair_is_an_invalid_transition(account_manager, target):
    pair = create(account_manager, target).key_pair
    key_pair_revoke(actor=account_manager, key_pair=pair)

    with pytest.raises(errors.Conflict) as raised:
        key_pair_revoke(actor=account_manager, key_pair=pair)
    assert raised.value.code == "invalid_transition"


def test_revoking_an_expired_pair_is_an_invalid_transition(account_manager, target):
    pair = create(account_manager, target).key_pair
    clock.advance(TWELVE_MONTHS)

    with pytest.raises(errors.Conflict) as raised:
        key_pair_revoke(actor=account_manager, key_pair=pair)
    assert raised.value.code == "invalid_transition"
    assert fresh(pair).revoked_at is None


def test_a_closed_target_takes_no_new_pair(account_manager, target):
    targets_close(actor=account_manager, targets=[target], at=clock.now())

    with pytest.raises(errors.Conflict) as raised:
        create(account_manager, target)
    assert raised.value.code == "invalid_transition"
    assert not client_pairs(target)


def test_closing_a_target_revokes_all_its_keys_the_probes_included(account_manager, target):
    target_provision(actor=PROVISIONING, target_id=target.pk)
    pairs = [create(account_manager, target).key_pair for _ in range(2)]
    clock.advance(dt.timedelta(minutes=1))

    targets_close(actor=account_manager, targets=[target], at=clock.now())

    assert KeyPair.objects.filter(target=target).count() == 3
    assert set(KeyPair.objects.filter(target=target).values_list("revoked_at", flat=True)) == {clock.now()}
    assert key_pairs_live_for_target(target, include_probe=True).count() == 0
    assert (
        AuditEvent.objects.filter(object_type=KEYPAIR, action="revoke", object_id__in=[p.pk for p in pairs]).count()
        == 2
    )


def test_closing_a_group_revokes_its_targets_keys(account_manager):
    group = factories.GroupFactory(opened_at=T0 - dt.timedelta(days=1))
    first = approved_target(account_manager, group=group)
    target_provision(actor=PROVISIONING, target_id=first.pk)
    create(account_manager, first)
    other_group_target = approved_target(account_manager)
    kept = create(account_manager, other_group_target).key_pair

    group_close(actor=account_manager, group=group)

    first.refresh_from_db()
    assert first.status == TargetStatus.CLOSED
    assert not KeyPair.objects.filter(target=first, revoked_at__isnull=True).exists()
    assert fresh(kept).revoked_at is None


def test_a_client_of_the_entity_writes_keys_when_it_may_self_serve(account_manager):
    entity = factories.EntityFactory(self_service=True)
    client = factories.UserFactory(role=Role.CLIENT, entity=entity)
    target = approved_target(account_manager, group=factories.GroupFactory(entity=entity))

    pair = create(client, target).key_pair
    key_pair_revoke(actor=client, key_pair=pair)


def test_a_client_whose_entity_may_not_self_serve_may_not_write_cme_keys(account_manager):
    entity = factories.EntityFactory(self_service=False)
    client = factories.UserFactory(role=Role.CLIENT, entity=entity)
    target = approved_target(account_manager, group=factories.GroupFactory(entity=entity))
    pair = create(account_manager, target).key_pair

    with pytest.raises(errors.PermissionDenied):
        create(client, target)
    with pytest.raises(errors.PermissionDenied):
        key_pair_revoke(actor=client, key_pair=pair)
    assert fresh(pair).revoked_at is None


@pytest.mark.parametrize("role", [Role.CLEARING_FIRM, Role.FINANCE])
def test_other_roles_may_not_write_keys(account_manager, target, role):
    with pytest.raises(errors.PermissionDenied):
        create(factories.UserFactory(role=role), target)


def test_a_client_of_another_entity_may_not_write_keys(account_manager, target):
    stranger = factories.UserFactory(role=Role.CLIENT)
    with pytest.raises(errors.PermissionDenied):
        create(stranger, target)


# --- the probe key pair (R16, R17) -----------------------------------------------------------


def probes(target) -> list[KeyPair]:
    return list(KeyPair.objects.filter(target=target, is_probe=True))


def test_provisioning_creates_exactly_one_probe_key_even_when_run_twice(target):
    target_provision(actor=PROVISIONING, target_id=target.pk)
    target_provision(actor=PROVISIONING, target_id=target.pk)

    (probe,) = probes(target)
    assert probe.revoked_at is None
    assert probe.expires_at is None
    assert re.fullmatch(r"[A-Z0-9]{20}", probe.access_key_id)
    assert len(key_pair_secret(probe)) == 43
    assert probe_key_pair_for_target(target) == probe
    assert AuditEvent.objects.filter(object_type=KEYPAIR, object_id=probe.pk).count() == 1


def test_a_target_provisioned_before_probe_keys_existed_gets_one_when_provisioned_again(target):
    target_provision(actor=PROVISIONING, target_id=target.pk)
    KeyPair.objects.filter(target=target, is_probe=True).delete()  # as before probe keys existed
    TargetSession.objects.filter(pk=target.pk).update(status=TargetStatus.VERIFIED)

    target_provision(actor=PROVISIONING, target_id=target.pk)

    assert len(probes(target)) == 1
    target.refresh_from_db()
    assert target.status == TargetStatus.VERIFIED


def test_provisioning_interrupted_after_the_probe_key_resumes_without_a_second_one(target):
    with provisioning_interrupted_after("probe_key"), pytest.raises(ProvisioningFault):
        target_provision(actor=PROVISIONING, target_id=target.pk)
    (probe,) = probes(target)
    target.refresh_from_db()
    assert target.status == TargetStatus.PENDING

    target_provision(actor=PROVISIONING, target_id=target.pk)

    assert probes(target) == [probe]
    target.refresh_from_db()
    assert target.status == TargetStatus.PROVISIONED


def test_a_closed_target_gets_no_probe_key(account_manager, target):
    targets_close(actor=account_manager, targets=[target], at=clock.now())

    assert probe_key_pair_ensure(actor=PROVISIONING, target_id=target.pk) is None
    target_provision(actor=PROVISIONING, target_id=target.pk)
    assert probes(target) == []


def test_the_probe_key_is_never_counted_nor_touched_by_rotation(account_manager, target):
    target_provision(actor=PROVISIONING, target_id=target.pk)
    (probe,) = probes(target)

    first = create(account_manager, target).key_pair
    second = create(account_manager, target).key_pair

    assert fresh(first).revoked_at is None, "two client pairs live next to the probe: nothing revoked"
    assert list(key_pairs_live_for_target(target)) == [first, second]
    assert set(key_pairs_live_for_target(target, include_probe=True)) == {probe, first, second}

    create(account_manager, target)
    create(account_manager, target)

    probe = fresh(probe)
    assert probe.revoked_at is None and probe.expires_at is None
    assert key_pairs_live_for_target(target).count() == 2


def test_the_database_holds_at_most_one_live_probe_key_per_target(target):
    target_provision(actor=PROVISIONING, target_id=target.pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        KeyPair.objects.create(
            target=target, access_key_id="A" * 20, secret_encrypted="x", is_probe=True, created_at=T0
        )


# --- expiry warnings ---------------------------------------------------------------------------


@pytest.fixture
def warned_entity_target(account_manager):
    entity = factories.EntityFactory(code="WARN")
    factories.UserFactory(role=Role.CLIENT, entity=entity, email="admin1@warn.example")
    factories.UserFactory(role=Role.CLIENT, entity=entity, email="admin2@warn.example")
    factories.UserFactory(role=Role.CLIENT, entity=entity, email="gone@warn.example", is_active=False)
    factories.UserFactory(role=Role.CLIENT, email="other@elsewhere.example")
    return approved_target(account_manager, group=factories.GroupFactory(entity=entity))


def warn(django_capture_on_commit_callbacks) -> int:
    with django_capture_on_commit_callbacks(execute=True):
        return warn_expiring_key_pairs.apply().get()


def test_administrators_are_warned_once_30_days_before_expiry(
    account_manager, warned_entity_target, django_capture_on_commit_callbacks
):
    pair = create(account_manager, warned_entity_target).key_pair

    clock.advance(TWELVE_MONTHS - dt.timedelta(days=30, seconds=1))
    assert warn(django_capture_on_commit_callbacks) == 0
    assert mail.outbox == []

    clock.advance(dt.timedelta(seconds=1))
    assert warn(django_capture_on_commit_callbacks) == 1

    (message,) = mail.outbox
    assert sorted(message.to) == ["admin1@warn.example", "admin2@warn.example"]
    assert pair.access_key_id in message.body
    assert warned_entity_target.target_comp_id in message.body
    assert "2027-03-02T15:30:00Z" in message.body
    assert fresh(pair).expiry_warned_at == clock.now()
    event = AuditEvent.objects.get(object_type=KEYPAIR, object_id=pair.pk, action="warn_expiry")
    assert event.actor == "system:warn_expiring_key_pairs"

    clock.advance(dt.timedelta(days=1))
    assert warn(django_capture_on_commit_callbacks) == 0
    assert warn(django_capture_on_commit_callbacks) == 0
    assert len(mail.outbox) == 1, "warned once per key pair"


def test_the_warning_never_carries_a_secret(account_manager, warned_entity_target, django_capture_on_commit_callbacks):
    created = create(account_manager, warned_entity_target)
    clock.advance(TWELVE_MONTHS - dt.timedelta(days=1))

    warn(django_capture_on_commit_callbacks)

    (message,) = mail.outbox
    assert created.secret_key not in message.subject + message.body
    assert created.key_pair.secret_encrypted not in message.body


def test_revoked_expired_superseded_and_probe_pairs_are_not_warned_of(
    account_manager, warned_entity_target, django_capture_on_commit_callbacks
):
    target = warned_entity_target
    target_provision(actor=PROVISIONING, target_id=target.pk)
    revoked = create(account_manager, target).key_pair
    key_pair_revoke(actor=account_manager, key_pair=revoked)
    superseded = create(account_manager, target).key_pair
    clock.advance(dt.timedelta(days=2))
    newest = create(account_manager, target).key_pair  # supersedes the second: 4 weeks left, a newer one live

    assert warn(django_capture_on_commit_callbacks) == 0
    assert fresh(superseded).expiry_warned_at is None

    clock.advance(TWELVE_MONTHS - dt.timedelta(days=10))
    assert warn(django_capture_on_commit_callbacks) == 1
    assert fresh(newest).expiry_warned_at is not None
    assert fresh(revoked).expiry_warned_at is None
    assert not KeyPair.objects.filter(is_probe=True, expiry_warned_at__isnull=False).exists()


def test_pairs_of_a_closed_target_are_not_warned_of(
    account_manager, warned_entity_target, django_capture_on_commit_callbacks
):
    create(account_manager, warned_entity_target)
    targets_close(actor=account_manager, targets=[warned_entity_target], at=clock.now())
    clock.advance(TWELVE_MONTHS - dt.timedelta(days=1))

    assert warn(django_capture_on_commit_callbacks) == 0
    assert mail.outbox == []


def test_one_message_per_entity_listing_its_pairs(
    account_manager, warned_entity_target, django_capture_on_commit_callbacks
):
    other = approved_target(account_manager, group=factories.GroupFactory(entity=warned_entity_target.entity))
    first = create(account_manager, warned_entity_target).key_pair
    second = create(account_manager, other).key_pair
    clock.advance(TWELVE_MONTHS - dt.timedelta(days=3))

    assert warn(django_capture_on_commit_callbacks) == 2
    (message,) = mail.outbox
    assert first.access_key_id in message.body and second.access_key_id in message.body


def test_two_warning_runs_at_once_warn_each_pair_once(account_manager, warned_entity_target):
    """The second run skips the rows the first holds, and finds them warned once it may read them."""
    create(account_manager, warned_entity_target)
    clock.advance(TWELVE_MONTHS - dt.timedelta(days=3))

    assert key_pairs_warn_expiring(actor=SystemActor("first")) == 1
    assert key_pairs_warn_expiring(actor=SystemActor("second")) == 0


def test_the_warning_task_runs_daily_from_the_beat_schedule():
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"].endswith("warn_expiring_key_pairs")]
    assert len(entries) == 1
    assert entries[0]["task"] == "dropcopy_admin.tasks.warn_expiring_key_pairs"

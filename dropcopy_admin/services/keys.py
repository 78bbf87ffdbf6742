"""Key pairs (R11) and the probe key pair (R16, R17).

A client key pair is an Access Key ID (20 uppercase letters and digits) and a Secret Key (32
random bytes, base64url without padding: 43 characters). The secret leaves this module once, in
the value that :func:`key_pair_create` returns to its caller (the API answer and its key file);
it is stored only as a Fernet token, which the audit trail leaves out.

Rotation — at most ``MAX_LIVE_KEY_PAIRS`` (2) live client pairs per target. Creating one while
the target already holds the maximum revokes the oldest at once; every older pair still live
then expires ``KEY_PAIR_ROTATION_GRACE_DAYS`` (4 weeks) from now, or at its own expiry if that
is sooner. So a second pair gives the first 4 weeks, a third revokes the first and gives the
second 4 weeks. Creations for one target take turns on the target's row lock.

The probe key pair is the system's own: one live per target, made by provisioning, never
counted in the rule above, revoked with the target's other keys when the target closes.
"""

import base64
import csv
import datetime as dt
import io
import secrets
import string
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Exists, OuterRef

from dropcopy_admin import clock, crypto, errors
from dropcopy_admin.choices import Role, TargetStatus
from dropcopy_admin.models import KeyPair, TargetSession, User
from dropcopy_admin.models.keys import ACCESS_KEY_ID_LENGTH
from dropcopy_admin.selectors.keys import key_pair_secret, key_pairs_live_for_target, probe_key_pair_for_target

from .audit import Actor, audit_record, audit_record_changes, audit_record_created, snapshot
from .common import client_administrator_emails, require_client_may_write
from .mail import outgoing_emails_queue

# The gateway's reads (R19), defined in selectors.keys, also importable from here.
__all__ = [
    "CreatedKeyPair",
    "key_file_csv",
    "key_pair_create",
    "key_pair_require_writer",
    "key_pair_revoke",
    "key_pair_secret",
    "key_pairs_live_for_target",
    "key_pairs_revoke_for_targets",
    "key_pairs_warn_expiring",
    "new_secret_key",
    "probe_key_pair_ensure",
    "probe_key_pair_for_target",
]

_ACCESS_KEY_ID_ALPHABET = string.ascii_uppercase + string.digits
SECRET_KEY_BYTES = 32
KEY_FILE_HEADER = ["Session ID", "Access Key ID", "Secret Key", "Creation Date", "Expiration Date", "Environment"]


@dataclass(frozen=True)
class CreatedKeyPair:
    """A new key pair with its secret, which exists in clear only here, once."""

    key_pair: KeyPair
    secret_key: str
    key_file: str

    def __repr__(self) -> str:  # never the secret, even in a traceback or a debugger
        return f"CreatedKeyPair(key_pair={self.key_pair!r})"


# --- values ------------------------------------------------------------------------------------


def new_secret_key() -> str:
    """32 random bytes, base64url without padding (43 characters)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(SECRET_KEY_BYTES)).rstrip(b"=").decode("ascii")


def _new_access_key_id() -> str:
    while True:
        candidate = "".join(secrets.choice(_ACCESS_KEY_ID_ALPHABET) for _ in range(ACCESS_KEY_ID_LENGTH))
        if not KeyPair.objects.filter(access_key_id=candidate).exists():
            return candidate


def key_file_csv(*, key_pair: KeyPair, target: TargetSession, secret_key: str) -> str:
    """The key file (R11): a CSV header and one row, dates ISO 8601 UTC with ``Z``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(KEY_FILE_HEADER)
    writer.writerow(
        [
            target.target_comp_id,
            key_pair.access_key_id,
            secret_key,
            clock.utc_iso(key_pair.created_at, timespec="seconds"),
            clock.utc_iso(key_pair.expires_at, timespec="seconds"),
            target.environment,
        ]
    )
    return out.getvalue()


def _new_key_pair(*, target: TargetSession, now: dt.datetime, is_probe: bool) -> tuple[KeyPair, str]:
    secret_key = new_secret_key()
    lifetime = dt.timedelta(days=settings.DROPCOPY["KEY_PAIR_LIFETIME_DAYS"])
    key_pair = KeyPair.objects.create(
        target=target,
        access_key_id=_new_access_key_id(),
        secret_encrypted=crypto.encrypt(secret_key),
        is_probe=is_probe,
        created_at=now,
        expires_at=None if is_probe else now + lifetime,
    )
    return key_pair, secret_key


def _lock_target(target_id: int) -> TargetSession:
    return TargetSession.objects.select_for_update(of=("self",)).select_related("entity").get(pk=target_id)


# --- client key pairs -------------------------------------------------------------------------


def key_pair_require_writer(actor: Actor, *, target: TargetSession) -> None:
    """Account managers, and a self-serving client of the target's entity (R3a), write keys."""
    if isinstance(actor, User) and actor.effective_role not in (Role.ACCOUNT_MANAGER, Role.CLIENT):
        raise errors.PermissionDenied("Your role may not manage key pairs.")
    require_client_may_write(actor, entity=target.entity, venue_code=target.venue_id)


def key_pair_create(*, actor: Actor, target: TargetSession) -> CreatedKeyPair:
    """Create a client key pair for ``target`` and rotate the older ones (the module's docstring).

    A closed target takes no key (``invalid_transition``).
    """
    key_pair_require_writer(actor, target=target)
    with transaction.atomic():
        target = _lock_target(target.pk)
        if target.status == TargetStatus.CLOSED:
            raise errors.invalid_transition(f"Target {target.target_comp_id} is closed; it takes no new key pair.")
        now = clock.now()
        live = list(
            KeyPair.objects.filter(target=target, is_probe=False)
            .live(now)
            .select_for_update()
            .order_by("created_at", "id")
        )
        keep = settings.DROPCOPY["MAX_LIVE_KEY_PAIRS"] - 1
        revoked, superseded = (live[: len(live) - keep], live[len(live) - keep :]) if len(live) > keep else ([], live)
        grace_end = now + dt.timedelta(days=settings.DROPCOPY["KEY_PAIR_ROTATION_GRACE_DAYS"])
        changes = []
        for older in revoked:
            changes.append((older, snapshot(older), "revoke"))
            older.revoked_at = now
            older.save(update_fields=["revoked_at"])
        for older in superseded:
            if older.expires_at > grace_end:
                changes.append((older, snapshot(older), "supersede"))
                older.expires_at = grace_end
                older.save(update_fields=["expires_at"])
        for action in ("revoke", "supersede"):
            audit_record_changes(
                actor=actor,
                action=action,
                changes=[(row, before) for row, before, done in changes if done == action],
            )
        key_pair, secret_key = _new_key_pair(target=target, now=now, is_probe=False)
        audit_record_created(actor=actor, instances=[key_pair])
    return CreatedKeyPair(
        key_pair=key_pair,
        secret_key=secret_key,
        key_file=key_file_csv(key_pair=key_pair, target=target, secret_key=secret_key),
    )


def key_pair_revoke(*, actor: Actor, key_pair: KeyPair) -> KeyPair:
    """Revoke a live key pair now (R11); a revoked or expired one is ``invalid_transition``."""
    key_pair_require_writer(actor, target=key_pair.target)
    with transaction.atomic():
        _lock_target(key_pair.target_id)
        key_pair = KeyPair.objects.select_for_update().get(pk=key_pair.pk)
        now = clock.now()
        if key_pair.revoked_at is not None:
            raise errors.invalid_transition(f"Key pair {key_pair.access_key_id} is already revoked.")
        if not key_pair.is_live(now):
            raise errors.invalid_transition(f"Key pair {key_pair.access_key_id} has expired.")
        before = snapshot(key_pair)
        key_pair.revoked_at = now
        key_pair.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="revoke", instance=key_pair, before=before)
    return key_pair


def key_pairs_revoke_for_targets(*, actor: Actor, targets: Iterable[TargetSession]) -> int:
    """Revoke every unrevoked key pair of ``targets``, the probe's included (R4: closing a target).

    Runs in the caller's transaction, which holds the targets' locks.
    """
    now = clock.now()
    rows = list(
        KeyPair.objects.select_for_update()
        .filter(target__in=[target.pk for target in targets], revoked_at__isnull=True)
        .order_by("pk")
    )
    changes = []
    for key_pair in rows:
        changes.append((key_pair, snapshot(key_pair)))
        key_pair.revoked_at = now
    KeyPair.objects.bulk_update(rows, ["revoked_at"])
    audit_record_changes(actor=actor, action="revoke", changes=changes)
    return len(rows)


# --- the probe key pair (R16, R17) ------------------------------------------------------------


def probe_key_pair_ensure(*, actor: Actor, target_id: int) -> KeyPair | None:
    """Give ``target`` its one live probe key pair, unless it has one; ``None`` for a closed target.

    Idempotent, and its own transaction: a provisioning step (R17).
    """
    with transaction.atomic():
        target = _lock_target(target_id)
        if target.status == TargetStatus.CLOSED:
            return None
        existing = KeyPair.objects.filter(target=target, is_probe=True, revoked_at__isnull=True).first()
        if existing is not None:
            return existing
        key_pair, _secret = _new_key_pair(target=target, now=clock.now(), is_probe=True)
        audit_record_created(actor=actor, instances=[key_pair])
        return key_pair


# --- expiry warnings --------------------------------------------------------------------------


def key_pairs_warn_expiring(*, actor: Actor) -> int:
    """Warn the entity's client administrators of key pairs expiring within the warning period.

    Each pair is warned once (``expiry_warned_at``); rows another run holds are skipped, so two
    runs at once warn nobody twice. A pair already superseded by a newer live pair of its target
    is not warned of: the client has rotated. The e-mails are written with the transaction and go
    out after the commit; one the mail server does not take is sent later (``services.mail``).
    """
    now = clock.now()
    horizon = now + dt.timedelta(days=settings.DROPCOPY["KEY_PAIR_EXPIRY_WARNING_DAYS"])
    newer_live = KeyPair.objects.filter(
        target=OuterRef("target"), is_probe=False, created_at__gt=OuterRef("created_at")
    ).live(now)
    with transaction.atomic():
        due = list(
            KeyPair.objects.select_for_update(of=("self",), skip_locked=True)
            .filter(
                is_probe=False,
                revoked_at__isnull=True,
                expiry_warned_at__isnull=True,
                expires_at__gt=now,
                expires_at__lte=horizon,
            )
            .exclude(target__status=TargetStatus.CLOSED)
            .exclude(Exists(newer_live))
            .select_related("target", "target__entity")
            .order_by("pk")
        )
        changes = []
        for key_pair in due:
            changes.append((key_pair, snapshot(key_pair)))
            key_pair.expiry_warned_at = now
        KeyPair.objects.bulk_update(due, ["expiry_warned_at"])
        audit_record_changes(actor=actor, action="warn_expiry", changes=changes)
        if due:
            outgoing_emails_queue(expiry_warning_emails(due))
    return len(due)


def expiry_warning_emails(key_pairs: Iterable[KeyPair]) -> list[EmailMessage]:
    """One message per entity to its active client administrators, listing its expiring pairs."""
    by_entity: dict[int, list[KeyPair]] = defaultdict(list)
    for key_pair in key_pairs:
        by_entity[key_pair.target.entity_id].append(key_pair)
    recipients = client_administrator_emails(by_entity)
    return [
        EmailMessage(
            subject=f"Drop Copy: {len(pairs)} key pair(s) expire soon",
            body="These Drop Copy key pairs expire soon; create a new key pair for each target and switch "
            "your sessions to it before then:\n\n"
            + "\n".join(
                f"- Access Key ID {p.access_key_id} of target {p.target.target_comp_id} "
                f"({p.target.environment}) expires {clock.utc_iso(p.expires_at, timespec='seconds')}"
                for p in pairs
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=recipients[entity_id],
        )
        for entity_id, pairs in sorted(by_entity.items())
        if recipients.get(entity_id)
    ]

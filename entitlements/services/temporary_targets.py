"""Temporary targets: AutoCert+ certifications (R9) and New Release test targets (R10).

Both open a target of the requesting entity in no group, ``pending`` with its session ID, port
and addresses (R7), provisioned by the usual task queued on commit (R17). Neither is ready
before ``TEMPORARY_TARGET_READY_HOURS`` (48 h) after the request: the gateway refuses logons and
no verification runs before ``ready_at``; a scheduled task verifies it once it is ready (R16).

- A certification's AutoCert+ target (environment CERT) expires ``CERTIFICATION_LIFETIME_DAYS``
  (14 days) after the request. An account manager passes or fails the certification, with a note,
  while it is ``requested`` — also after its target expired; the decision rescinds the target.
- A New Release test target is ready at the later of 48 h after the request and the requested
  start, expires ``NEW_RELEASE_TARGET_LIFETIME_HOURS`` (7 × 24 h) after it is ready, and may be
  renewed by an account manager before then (the same span added to ``expires_at``). Its
  entity's client administrators are e-mailed two days before expiry (once per expiry date) and
  at expiry.

Closing a temporary target — rescinded by an account manager, by a certification's decision, or
at expiry by the scheduled task — frees its port and revokes its keys (``targets_close``).

Locks: a decision locks the certification, then its target; everything else locks targets only,
so the two never wait on each other in opposite orders. Scheduled runs skip rows another run
holds, so two runs at once close or warn nothing twice.
"""

import datetime as dt

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef

from dropcopy_admin import after_commit, clock, errors
from dropcopy_admin.choices import (
    CertificationCheckName,
    CertificationStatus,
    Environment,
    GatewayType,
    Role,
    TargetStatus,
    TemporaryKind,
)
from dropcopy_admin.models import (
    CgwGateway,
    ConnectivityCheck,
    Entity,
    FrontEndSystem,
    TargetSession,
    User,
    Venue,
)
from dropcopy_admin.services.audit import Actor, audit_record, audit_record_changes, audit_record_created, snapshot
from dropcopy_admin.services.common import (
    check_text,
    client_administrator_emails,
    require_account_manager,
    require_client_may_write,
)
from dropcopy_admin.services.mail import outgoing_emails_queue
from dropcopy_admin.services.reference import check_gateway_type
from dropcopy_admin.services.targets import target_open, targets_close
from dropcopy_admin.services.verification import VERIFIABLE_STATUSES, VERIFY_TARGETS

from ..models import Certification, CertificationCheck

__all__ = [
    "certification_decide",
    "certification_request",
    "new_release_target_renew",
    "new_release_target_request",
    "new_release_targets_warn_expiring",
    "temporary_target_rescind",
    "temporary_targets_expire",
    "temporary_targets_verify_ready",
]


def _hours(name: str) -> dt.timedelta:
    return dt.timedelta(hours=settings.DROPCOPY[name])


def _require_requester(actor: Actor, *, entity: Entity, venue: Venue, doing: str) -> None:
    """Account managers for any entity; a client for its own, when it may self-serve on the venue (R3a)."""
    if isinstance(actor, User) and actor.effective_role not in (Role.ACCOUNT_MANAGER, Role.CLIENT):
        raise errors.PermissionDenied(f"Your role may not {doing}.")
    require_client_may_write(actor, entity=entity, venue_code=venue.code)


def _temporary_target_open(
    *, actor: Actor, entity: Entity, venue: Venue, environment: str, gateway_type: str, **temporary
) -> TargetSession:
    """Open a temporary target of ``entity`` in no group (``temporary``, ``ready_at``, ``expires_at``).

    CGW: on the venue's first CGW gateway of the environment (lowest id); MSGW: on every segment
    gateway. Runs in the caller's transaction; provisioning is queued on commit (R17).
    """
    cgw_gateway = None
    if gateway_type == GatewayType.CGW:
        cgw_gateway = CgwGateway.objects.filter(venue_id=venue.code, environment=environment).order_by("pk").first()
        if cgw_gateway is None:
            raise errors.gateway_type_not_supported(venue.code, gateway_type)
    return target_open(
        actor=actor,
        entity_id=entity.pk,
        venue_id=venue.code,
        environment=environment,
        gateway_type=gateway_type,
        cgw_gateway=cgw_gateway,
        **temporary,
    )


# --- certifications (R9) ----------------------------------------------------------------------


def certification_request(
    *, actor: Actor, entity: Entity, front_end_system: FrontEndSystem, venue: Venue, gateway_type: str
) -> Certification:
    """Request the certification of ``front_end_system`` for ``venue`` and ``gateway_type`` (R9).

    Opens the AutoCert+ target of ``entity`` (ready in 48 h, expiring 14 days after the request)
    and the five checks, none passed yet. The front-end system is the entity's own or a vendor
    product; a second ``requested`` certification of the same system, venue and gateway type is
    ``already_exists``.
    """
    _require_requester(actor, entity=entity, venue=venue, doing="request a certification")
    check_gateway_type(venue=venue, gateway_type=gateway_type)
    if front_end_system.entity_id not in (None, entity.pk):
        raise errors.InvalidInput.field(
            "front_end_system", "The front-end system must be the entity's own or a vendor product."
        )

    def taken() -> errors.DomainError:
        return errors.already_exists(
            f"{front_end_system.name} {front_end_system.version} already has a requested certification "
            f"for {venue.code} {gateway_type}."
        )

    open_request = Certification.objects.filter(
        front_end_system=front_end_system, venue=venue, gateway_type=gateway_type, status=CertificationStatus.REQUESTED
    )
    now = clock.now()
    try:
        with transaction.atomic():
            if open_request.exists():
                raise taken()
            target = _temporary_target_open(
                actor=actor,
                entity=entity,
                venue=venue,
                environment=Environment.CERT,
                gateway_type=gateway_type,
                temporary=TemporaryKind.AUTOCERT,
                ready_at=now + _hours("TEMPORARY_TARGET_READY_HOURS"),
                expires_at=now + dt.timedelta(days=settings.DROPCOPY["CERTIFICATION_LIFETIME_DAYS"]),
            )
            certification = Certification.objects.create(
                entity=entity,
                front_end_system=front_end_system,
                venue=venue,
                gateway_type=gateway_type,
                status=CertificationStatus.REQUESTED,
                target=target,
                requested_at=now,
                requested_by=actor if isinstance(actor, User) else None,
            )
            checks = CertificationCheck.objects.bulk_create(
                CertificationCheck(certification=certification, name=name) for name in CertificationCheckName.values
            )
            audit_record_created(actor=actor, instances=[certification, *checks])
    except IntegrityError as error:
        # A racing request for the same system, venue and gateway type committed first.
        if open_request.exists():
            raise taken() from error
        raise
    return certification


def certification_decide(*, actor: Actor, certification: Certification, passed: bool, note: str) -> Certification:
    """Pass or fail a ``requested`` certification, with a note (R9); its AutoCert+ target is rescinded.

    Account managers only. Allowed while ``requested``, also after the target expired; otherwise
    ``invalid_transition``.
    """
    require_account_manager(actor, doing="pass or fail a certification")
    note = (note or "").strip()
    if not note:
        raise errors.InvalidInput.field("note", "A note is required.")
    check_text("note", note, multiline=True)
    with transaction.atomic():
        certification = Certification.objects.select_for_update().get(pk=certification.pk)
        if certification.status != CertificationStatus.REQUESTED:
            raise errors.invalid_transition(f"The certification is already {certification.status}.")
        now = clock.now()
        before = snapshot(certification)
        certification.status = CertificationStatus.PASSED if passed else CertificationStatus.FAILED
        certification.decided_at = now
        certification.decided_by = actor if isinstance(actor, User) else None
        certification.note = note
        certification.save(update_fields=["status", "decided_at", "decided_by", "note"])
        audit_record(actor=actor, action="pass" if passed else "fail", instance=certification, before=before)
        if certification.target_id is not None:
            target = TargetSession.objects.select_for_update().get(pk=certification.target_id)
            if target.status != TargetStatus.CLOSED:
                targets_close(actor=actor, targets=[target], at=now)
    return certification


# --- New Release test targets (R10) -----------------------------------------------------------


def new_release_target_request(
    *, actor: Actor, entity: Entity, venue: Venue, gateway_type: str, requested_start: dt.datetime | None = None
) -> TargetSession:
    """Open a New Release test target of ``entity`` (R10).

    Ready 48 h from now or at ``requested_start``, whichever is later; expires 7 × 24 h after it
    is ready. A ``requested_start`` in the past is ``invalid``.
    """
    _require_requester(actor, entity=entity, venue=venue, doing="request a test target")
    check_gateway_type(venue=venue, gateway_type=gateway_type)
    now = clock.now()
    if requested_start is not None and requested_start < now:
        raise errors.InvalidInput.field("requested_start", "The requested start must not be in the past.")
    ready_at = now + _hours("TEMPORARY_TARGET_READY_HOURS")
    if requested_start is not None and requested_start > ready_at:
        ready_at = requested_start
    with transaction.atomic():
        return _temporary_target_open(
            actor=actor,
            entity=entity,
            venue=venue,
            environment=Environment.NEW_RELEASE,
            gateway_type=gateway_type,
            temporary=TemporaryKind.NEW_RELEASE,
            ready_at=ready_at,
            expires_at=ready_at + _hours("NEW_RELEASE_TARGET_LIFETIME_HOURS"),
        )


def new_release_target_renew(*, actor: Actor, target: TargetSession) -> TargetSession:
    """Add 7 × 24 h to a live New Release target's ``expires_at``, before it expires (R10).

    Account managers only. An AutoCert+ or non-temporary target, a closed one, or one past its
    ``expires_at`` is ``invalid_transition``. The expiry warning is sent again before the new date.
    """
    require_account_manager(actor, doing="renew a test target")
    with transaction.atomic():
        target = TargetSession.objects.select_for_update().get(pk=target.pk)
        if target.temporary != TemporaryKind.NEW_RELEASE:
            raise errors.invalid_transition("Only New Release test targets are renewed.")
        if target.status == TargetStatus.CLOSED:
            raise errors.invalid_transition(f"Target {target.target_comp_id} is closed.")
        if clock.now() >= target.expires_at:
            raise errors.invalid_transition(
                f"Target {target.target_comp_id} expired at {clock.utc_iso(target.expires_at)}."
            )
        before = snapshot(target)
        target.expires_at += _hours("NEW_RELEASE_TARGET_LIFETIME_HOURS")
        target.expiry_warned_at = None
        target.save(update_fields=["expires_at", "expiry_warned_at"])
        audit_record(actor=actor, action="renew", instance=target, before=before)
    return target


# --- closing --------------------------------------------------------------------------------


def temporary_target_rescind(*, actor: Actor, target: TargetSession) -> TargetSession:
    """Close a live temporary target now: port freed, keys revoked (R9, R10).

    Account managers only. An AutoCert+ target's certification stays ``requested``: the account
    manager may still decide it. A closed or non-temporary target is ``invalid_transition``.
    """
    require_account_manager(actor, doing="rescind a temporary target")
    with transaction.atomic():
        target = TargetSession.objects.select_for_update().get(pk=target.pk)
        if target.temporary is None:
            raise errors.invalid_transition("Only temporary targets are rescinded; a group's target closes with it.")
        if target.status == TargetStatus.CLOSED:
            raise errors.invalid_transition(f"Target {target.target_comp_id} is already closed.")
        targets_close(actor=actor, targets=[target], at=clock.now())
    return target


def temporary_targets_expire(*, actor: Actor) -> int:
    """Close every live temporary target past its ``expires_at`` (R9, R10); the number closed.

    Keys revoked, ports freed; the entity's administrators are e-mailed of each New Release
    target after the commit. Rows another run holds are skipped; run twice, the second closes none.
    """
    now = clock.now()
    with transaction.atomic():
        due = list(
            TargetSession.objects.select_for_update(skip_locked=True)
            .filter(temporary__isnull=False, expires_at__lte=now)
            .exclude(status=TargetStatus.CLOSED)
            .order_by("pk")
        )
        if not due:
            return 0
        targets_close(actor=actor, targets=due, at=now)
        expired_test_targets = [t for t in due if t.temporary == TemporaryKind.NEW_RELEASE]
        if expired_test_targets:
            outgoing_emails_queue(new_release_target_expiry_emails(expired_test_targets, expired=True))
    return len(due)


def new_release_targets_warn_expiring(*, actor: Actor) -> int:
    """E-mail the entity's administrators of New Release targets expiring within two days (R10).

    Once per target and expiry date (``expiry_warned_at``, reset by a renewal); rows another run
    holds are skipped. The e-mails are written with the transaction and go out after the commit;
    one the mail server does not take is sent later (``dropcopy_admin.services.mail``). The number
    warned of.
    """
    now = clock.now()
    horizon = now + _hours("NEW_RELEASE_TARGET_EXPIRY_WARNING_HOURS")
    with transaction.atomic():
        due = list(
            TargetSession.objects.select_for_update(skip_locked=True)
            .filter(
                temporary=TemporaryKind.NEW_RELEASE,
                expiry_warned_at__isnull=True,
                expires_at__gt=now,
                expires_at__lte=horizon,
            )
            .exclude(status=TargetStatus.CLOSED)
            .order_by("pk")
        )
        changes = []
        for target in due:
            changes.append((target, snapshot(target)))
            target.expiry_warned_at = now
        TargetSession.objects.bulk_update(due, ["expiry_warned_at"])
        audit_record_changes(actor=actor, action="warn_expiry", changes=changes)
        if due:
            outgoing_emails_queue(new_release_target_expiry_emails(due, expired=False))
    return len(due)


def new_release_target_expiry_emails(targets: list[TargetSession], *, expired: bool) -> list[EmailMessage]:
    """One message per target to its entity's active client administrators."""
    recipients = client_administrator_emails(target.entity_id for target in targets)
    messages = []
    for target in targets:
        if not recipients.get(target.entity_id):
            continue
        if expired:
            subject = f"Drop Copy: New Release test target {target.target_comp_id} has expired"
            body = (
                f"The New Release test target {target.target_comp_id} ({target.venue_id} {target.gateway_type}, "
                f"port {target.port}) expired at {clock.utc_iso(target.expires_at)}. It is closed and its keys are "
                "revoked; request a new test target if you need one."
            )
        else:
            subject = f"Drop Copy: New Release test target {target.target_comp_id} expires soon"
            body = (
                f"The New Release test target {target.target_comp_id} ({target.venue_id} {target.gateway_type}, "
                f"port {target.port}) expires at {clock.utc_iso(target.expires_at)}. Ask your account manager to renew "
                "it before then if you need it longer."
            )
        messages.append(
            EmailMessage(
                subject=subject,
                body=body,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=recipients[target.entity_id],
            )
        )
    return messages


# --- verification at ready_at (R16) -----------------------------------------------------------


def temporary_targets_verify_ready(*, batch_size: int) -> int:
    """Queue the verification of live temporary targets that are ready and unchecked since ``ready_at``.

    Each such target is verified once when it becomes ready (R16); once its checks are recorded
    it is left to the regular re-verification, so running this again queues nothing new.
    """
    checked_since_ready = ConnectivityCheck.objects.filter(target=OuterRef("pk"), checked_at__gte=OuterRef("ready_at"))
    target_ids = list(
        TargetSession.objects.filter(temporary__isnull=False, status__in=VERIFIABLE_STATUSES, ready_at__lte=clock.now())
        .exclude(Exists(checked_since_ready))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for start in range(0, len(target_ids), batch_size):
        after_commit.queue_task(VERIFY_TARGETS, target_ids[start : start + batch_size])
    return len(target_ids)

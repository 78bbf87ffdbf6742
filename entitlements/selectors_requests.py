"""Reads of the My Requests page (a client's requests and To Do list) and of a clearing firm's
decision history. Every read starts from ``visible(user, Model)``, so a user sees only its own."""

import datetime as dt
from dataclasses import dataclass

from django.db import models
from django.db.models import Exists, OuterRef

from dropcopy_admin import clock
from dropcopy_admin.choices import CertificationStatus, MembershipStatus, TargetStatus, TemporaryKind
from dropcopy_admin.models import KeyPair, Membership, TargetSession
from dropcopy_admin.selectors.visibility import visible

from .models import Certification

TEST_TARGET_WARNING = dt.timedelta(days=7)
KEY_PAIR_WARNING = dt.timedelta(days=30)
RECENT_REFUSAL = dt.timedelta(days=30)
LIVE_TARGET_STATUSES = (TargetStatus.PROVISIONED, TargetStatus.VERIFIED, TargetStatus.DEGRADED)
DECISIONS = (MembershipStatus.APPROVED, MembershipStatus.REJECTED, MembershipStatus.REVOKED)


def _none_if_hidden(queryset, model):
    return queryset if queryset is not None else model.objects.none()


def membership_requests(user) -> models.QuerySet[Membership]:
    """Every membership request of the user's entity, with what the table shows."""
    return _none_if_hidden(visible(user, Membership), Membership).select_related(
        "group", "source_session", "source_session__clearing_firm", "requested_by", "decided_by"
    )


def certification_requests(user) -> models.QuerySet[Certification]:
    return _none_if_hidden(visible(user, Certification), Certification).select_related("front_end_system", "venue")


def test_target_requests(user) -> models.QuerySet[TargetSession]:
    return (
        _none_if_hidden(visible(user, TargetSession), TargetSession)
        .filter(temporary=TemporaryKind.NEW_RELEASE)
        .select_related("venue")
    )


def decision_history(user) -> models.QuerySet[Membership]:
    """The membership decisions of the user's clearing firm (approved, rejected, revoked), auto-approvals
    left out: only requests on sessions the firm guarantees."""
    return (
        _none_if_hidden(visible(user, Membership), Membership)
        .filter(
            source_session__clearing_firm_id=user.clearing_firm_id,
            status__in=DECISIONS,
            auto_approved=False,
            decided_at__isnull=False,
        )
        .select_related("group", "group__entity", "source_session", "decided_by")
    )


# --- the To Do list ----------------------------------------------------------------------------


@dataclass
class ToDo:
    kind: str  # "certification", "test-target", "key-pair", "request-again"
    text: str
    action: str
    url_name: str


def to_do(user, *, now: dt.datetime | None = None) -> list[ToDo]:
    """What waits on the user, in four queries whatever the entity's size."""
    now = now or clock.now()
    items: list[ToDo] = []
    ready = (
        certification_requests(user)
        .filter(status=CertificationStatus.REQUESTED, target__ready_at__isnull=False)
        .exclude(target__status=TargetStatus.CLOSED)
        .select_related("target")
        .order_by("requested_at", "id")
    )
    for certification in ready:
        items.append(
            ToDo(
                "certification",
                f"The AutoCert+ target {certification.target.target_comp_id} of {certification.front_end_system.name} "
                f"on {certification.venue.name} is ready: run the certification checks.",
                "Open certifications",
                "portal:certifications",
            )
        )
    expiring = (
        test_target_requests(user)
        .exclude(status=TargetStatus.CLOSED)
        .filter(expires_at__gt=now, expires_at__lte=now + TEST_TARGET_WARNING)
        .order_by("expires_at", "id")
    )
    for target in expiring:
        items.append(
            ToDo(
                "test-target",
                f"Test target {target.target_comp_id} on {target.venue.name} expires {_utc(target.expires_at)}.",
                "Renew it",
                "portal:temporary-targets",
            )
        )
    key_pairs = KeyPair.objects.filter(target=OuterRef("pk"), is_probe=False).live(now)
    targets = (
        _none_if_hidden(visible(user, TargetSession), TargetSession)
        .filter(entity_id=user.entity_id, temporary__isnull=True, status__in=LIVE_TARGET_STATUSES)
        .annotate(
            has_key=Exists(key_pairs),
            has_lasting_key=Exists(key_pairs.filter(expires_at__gt=now + KEY_PAIR_WARNING)),
        )
        .filter(has_lasting_key=False)
        .select_related("venue")
        .order_by("target_comp_id", "id")
    )
    for target in targets:
        if target.has_key:
            text = f"The key pair of target {target.target_comp_id} ({target.venue.name}) expires within 30 days."
        else:
            text = f"Target {target.target_comp_id} ({target.venue.name}) has no live key pair."
        items.append(ToDo("key-pair", text, "Generate a key pair", "portal:targets"))
    refused = (
        membership_requests(user)
        .filter(
            models.Q(status=MembershipStatus.REJECTED, decided_at__gte=now - RECENT_REFUSAL)
            | models.Q(status=MembershipStatus.EXPIRED, ended_at__gte=now - RECENT_REFUSAL)
        )
        .order_by("-requested_at", "-id")
    )
    for membership in refused:
        what = "was rejected" if membership.status == MembershipStatus.REJECTED else "expired undecided"
        items.append(
            ToDo(
                "request-again",
                f"The request for {membership.source_session.sender_comp_id} in {membership.group.name} {what}.",
                "Request again",
                "portal:groups",
            )
        )
    return items


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")

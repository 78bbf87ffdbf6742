"""Building the demo world through the services, each step at its own time on the product's clock.

Every step looks its objects up first and does only what is missing, so a second run changes
nothing. The history happens in order: the registry is set up first, each certification is
requested, checked by the gateway's checklist and decided before the groups of its system open,
groups open (confirming the fee then in force) and have their requests decided by the
guaranteeing firm the next day, key pairs follow, billing runs are computed on the 1st and closed
by finance on the 2nd, and the connectivity checks of the last days are stored.

Targets opened on the way are provisioned right away, at the time they opened, by the same
service the provisioning task calls; nothing is verified (no gateway runs while the seed does).
"""

import datetime as dt
import secrets
from collections import Counter

from billing.fees import fee_preview
from dropcopy_admin.choices import (
    CertificationCheckName,
    Environment,
    MembershipStatus,
    Role,
    TargetStatus,
    TemporaryKind,
)
from dropcopy_admin.models import (
    CgwGateway,
    ClearingFirm,
    ConnectivityCheck,
    DropCopyGroup,
    Entity,
    FrontEndSystem,
    Gfid,
    KeyPair,
    Membership,
    SourceSession,
    TargetSession,
    User,
    Venue,
)
from dropcopy_admin.services import front_end_systems, groups, keys, registry, source_sessions, users
from dropcopy_admin.services.audit import SystemActor, audit_record, snapshot
from dropcopy_admin.services.targets import target_provision
from entitlements.choices import Decision
from entitlements.models import Certification
from entitlements.services import memberships as entitlement_services
from entitlements.services import temporary_targets as services_temporary
from entitlements.services.checklist import certification_check_record

from . import world
from .billing import billing_adjustment, billing_history
from .connectivity import connectivity_history, targets_without_history
from .timeline import clock_at, days_before

ACTOR = SystemActor("seed_demo")
PROVISIONING = SystemActor("provision_target")


class DemoWorld:
    """One run of the seed: ``build`` makes what is missing and counts it in ``created``."""

    def __init__(self, *, now: dt.datetime) -> None:
        self.now = now
        self.created: Counter = Counter()

    def build(self) -> None:
        self.targets_before = TargetSession.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        with self._at(days_before(self.now, world.WORLD_STARTED_DAYS_AGO, hour=9)):
            self._registry()
        for row in world.CERTIFICATIONS:
            self._certification(*row)
        for row in world.GROUPS:
            self._group(*row)
        self._key_pairs()
        self._test_targets()
        billing_history(
            now=self.now, closed_months=world.CLOSED_MONTHS, finance=self.users["finance"], created=self.created
        )
        billing_adjustment(
            now=self.now,
            entity=self.entities[world.ADJUSTED_ENTITY],
            finance=self.users["finance"],
            created=self.created,
        )
        self._connectivity()

    # --- helpers ----------------------------------------------------------------------------

    def _at(self, moment: dt.datetime):
        """The clock at ``moment``, never later than the seed's own time."""
        return clock_at(min(moment, self.now))

    def _ensure(self, kind: str, existing, create):
        """The object ``existing`` finds, or the one ``create`` makes (counted)."""
        obj = existing.first()
        if obj is None:
            obj = create()
            self.created[kind] += 1
        return obj

    def _provision_opened_targets(self) -> None:
        """Provision the targets this seed opened, as the provisioning task would (not run: see the command)."""
        opened = TargetSession.objects.filter(pk__gt=self.targets_before, status=TargetStatus.PENDING)
        for target_id in opened.order_by("pk").values_list("pk", flat=True):
            target_provision(actor=PROVISIONING, target_id=target_id)
            self.created["targets provisioned"] += 1

    def _writer_for(self, entity: Entity) -> User:
        """Who acts for ``entity``: its demo client administrator, else the account manager."""
        return self.users["client"] if self.users["client"].entity_id == entity.pk else self.users["am"]

    # --- the registry -----------------------------------------------------------------------

    def _registry(self) -> None:
        self.venues = {venue.pk: venue for venue in Venue.objects.all()}
        self.firms = {
            code: self._ensure(
                "clearing firms",
                ClearingFirm.objects.filter(code=code),
                lambda code=code, name=name: registry.clearing_firm_create(actor=ACTOR, code=code, name=name),
            )
            for code, name in world.CLEARING_FIRMS
        }
        self.entities: dict[str, Entity] = {}
        for code, name, self_service, bill_to, firm in world.ENTITIES:
            self.entities[code] = self._ensure(
                "entities",
                Entity.objects.filter(code=code),
                lambda code=code, name=name, self_service=self_service, bill_to=bill_to, firm=firm: (
                    registry.entity_create(
                        actor=ACTOR,
                        code=code,
                        name=name,
                        self_service=self_service,
                        bill_to=self.entities[bill_to] if bill_to else None,
                        clearing_firm=self.firms[firm] if firm else None,
                    )
                ),
            )
        gfids: dict[tuple[str, str], Gfid] = {}
        for venue, code, entity, firm, admin_control in world.GFIDS:
            gfids[venue, code] = self._ensure(
                "GFIDs",
                Gfid.objects.filter(venue_id=venue, code=code),
                lambda venue=venue, code=code, entity=entity, firm=firm, admin_control=admin_control: (
                    registry.gfid_create(
                        actor=ACTOR,
                        code=code,
                        venue=self.venues[venue],
                        entity=self.entities[entity],
                        clearing_firm=self.firms[firm] if firm else None,
                        admin_control=admin_control,
                    )
                ),
            )
        gateways = {(gw.venue_id, gw.environment, gw.code): gw for gw in CgwGateway.objects.all()}
        self.sessions: dict[tuple[str, str], SourceSession] = {}
        for sender_comp_id, venue, environment, gateway_type, gateway, gfid in world.SOURCE_SESSIONS:
            self.sessions[environment, sender_comp_id] = self._ensure(
                "source sessions",
                SourceSession.objects.filter(environment=environment, sender_comp_id=sender_comp_id),
                lambda s=sender_comp_id, v=venue, e=environment, t=gateway_type, g=gateway, f=gfid: (
                    source_sessions.source_session_create(
                        actor=ACTOR,
                        sender_comp_id=s,
                        venue=self.venues[v],
                        environment=e,
                        gateway_type=t,
                        cgw_gateway=gateways[v, e, g] if g else None,
                        gfid=gfids[v, f],
                    )
                ),
            )
        self.systems: dict[tuple[str, str], FrontEndSystem] = {}
        for entity, name, version, vendor in world.FRONT_END_SYSTEMS:
            owner = self.entities[entity] if entity else None
            self.systems[name, version] = self._ensure(
                "front-end systems",
                FrontEndSystem.objects.filter(entity=owner, name=name, version=version, vendor=vendor),
                lambda owner=owner, name=name, version=version, vendor=vendor: (
                    front_end_systems.front_end_system_create(
                        actor=ACTOR, entity=owner, name=name, version=version, vendor=vendor
                    )
                ),
            )
        self.users = {
            username: self._ensure(
                "users",
                User.objects.filter(username=username),
                lambda username=username, role=role, entity=entity, firm=firm: self._create_user(
                    username=username,
                    role=role,
                    entity=self.entities[entity] if entity else None,
                    clearing_firm=self.firms[firm] if firm else None,
                ),
            )
            for username, role, entity, firm in world.USERS
        }

    def _create_user(self, *, username: str, role: str, entity, clearing_firm) -> User:
        """Create through the service (with a throwaway strong password), then set the demo one."""
        user = users.user_create(
            actor=ACTOR,
            username=username,
            password=secrets.token_urlsafe(24),
            role=role,
            email=f"{username}@demo.example",
            entity=entity,
            clearing_firm=clearing_firm,
        )
        state = snapshot(user)
        user.set_password(world.DEMO_PASSWORD)
        user.save(update_fields=["password"])
        audit_record(actor=ACTOR, action="set_password", instance=user, before=state, after=state)
        return user

    # --- certifications (R9) ----------------------------------------------------------------

    def _certification(self, entity_code, system_key, venue, gateway_type, days_ago, shown, passed) -> None:
        """Request it, let the client show its checks on the AutoCert+ target, then decide it."""
        system = self.systems[system_key]
        if Certification.objects.filter(front_end_system=system, venue_id=venue, gateway_type=gateway_type).exists():
            return
        entity = self.entities[entity_code]
        requested_at = days_before(self.now, days_ago, hour=14)
        with self._at(requested_at):
            certification = services_temporary.certification_request(
                actor=self._writer_for(entity),
                entity=entity,
                front_end_system=system,
                venue=self.venues[venue],
                gateway_type=gateway_type,
            )
            self.created["certifications"] += 1
        target = certification.target
        with self._at(requested_at + dt.timedelta(minutes=2)):
            self._provision_opened_targets()
        with self._at(target.ready_at + dt.timedelta(minutes=20)):
            key_pair = keys.key_pair_create(actor=self._writer_for(entity), target=target).key_pair
            self.created["key pairs"] += 1
        logon_at = target.ready_at + dt.timedelta(hours=1)
        for name, at, detail in _checklist_showings(logon_at, key_pair.access_key_id):
            if name in shown and at < self.now:
                with self._at(at):
                    certification_check_record(target_id=target.pk, name=name, at=at, detail=detail)
        if passed is not None:
            with self._at(logon_at + dt.timedelta(days=1, hours=3)):
                services_temporary.certification_decide(
                    actor=self.users["am"],
                    certification=certification,
                    passed=passed,
                    note="AutoCert+ checklist reviewed: all five checks shown.",
                )

    # --- groups and their requests (R3, R8, R13) ---------------------------------------------

    def _group(self, entity_code, name, venue, environment, system_key, opened_days, closed_days, requester, members):
        entity = self.entities[entity_code]
        requesting_user = self.users[requester]
        opened_at = days_before(self.now, opened_days, hour=14)
        group = DropCopyGroup.objects.filter(entity=entity, name__iexact=name).first()
        if group is None:
            with self._at(opened_at):
                group = groups.group_create(
                    actor=requesting_user,
                    entity=entity,
                    environment=environment,
                    confirmed_monthly_fee=(
                        fee_preview(entity).monthly_fee if environment == Environment.PRODUCTION else None
                    ),
                    name=name,
                    venue=self.venues[venue],
                    front_end_system=self.systems[system_key],
                )
                self.created["groups"] += 1
        missing = [
            (self.sessions[environment, sender_comp_id], hours_ago)
            for sender_comp_id, hours_ago in members
            if not Membership.objects.filter(
                group=group, source_session=self.sessions[environment, sender_comp_id]
            ).exists()
        ]
        at_opening = [session for session, hours_ago in missing if hours_ago is None]
        if at_opening:
            with self._at(opened_at + dt.timedelta(minutes=30)):
                requested = self._request(requesting_user, group, at_opening)
            pending = [m for m in requested if m.status == MembershipStatus.PENDING]
            if pending:
                with self._at(days_before(self.now, opened_days - 1, hour=10)):
                    self._approve_for_the_firms(pending)
        for session, hours_ago in missing:
            if hours_ago is not None:
                with self._at(self.now - dt.timedelta(hours=hours_ago)):
                    self._request(requesting_user, group, [session])
        if closed_days is not None and group.is_open:
            with self._at(days_before(self.now, closed_days, hour=21)):
                groups.group_close(actor=self.users["am"], group=group)
                self.created["groups closed"] += 1

    def _request(self, user: User, group: DropCopyGroup, sessions: list[SourceSession]) -> list[Membership]:
        outcomes = entitlement_services.memberships_request(actor=user, group=group, sessions=sessions)
        for outcome in outcomes:
            if outcome.error is not None:
                raise outcome.error
        self.created["membership requests"] += len(outcomes)
        self._provision_opened_targets()
        return [outcome.membership for outcome in outcomes]

    def _approve_for_the_firms(self, pending: list[Membership]) -> None:
        """Each guaranteeing firm's demo administrator approves its firm's requests."""
        by_firm: dict[int, list[Membership]] = {}
        for membership in pending:
            by_firm.setdefault(membership.source_session.clearing_firm_id, []).append(membership)
        for firm_id, memberships in by_firm.items():
            administrator = User.objects.get(role=Role.CLEARING_FIRM, clearing_firm_id=firm_id)
            outcomes = entitlement_services.memberships_decide(
                actor=administrator, memberships=memberships, decision=Decision.APPROVE
            )
            for outcome in outcomes:
                if outcome.error is not None:
                    raise outcome.error
            self.created["membership requests approved"] += len(outcomes)
        self._provision_opened_targets()

    # --- key pairs (R11) and test targets (R10) -----------------------------------------------

    def _key_pairs(self) -> None:
        """A client key pair on every live group target, made the day after the target opened."""
        targets = TargetSession.objects.filter(temporary__isnull=True).exclude(status=TargetStatus.CLOSED)
        for target in targets.select_related("entity").order_by("pk"):
            # Given once: a pair the demo made long ago and that has expired since is not made again.
            if KeyPair.objects.filter(target=target, is_probe=False, revoked_at__isnull=True).exists():
                continue
            with self._at(target.created_at + dt.timedelta(days=1)):
                keys.key_pair_create(actor=self._writer_for(target.entity), target=target)
                self.created["key pairs"] += 1

    def _test_targets(self) -> None:
        for entity, venue, gateway_type in world.TEST_TARGETS:
            self._ensure(
                "New Release test targets",
                TargetSession.objects.filter(
                    entity=self.entities[entity],
                    venue_id=venue,
                    gateway_type=gateway_type,
                    temporary=TemporaryKind.NEW_RELEASE,
                ),
                lambda entity=entity, venue=venue, gateway_type=gateway_type: (
                    services_temporary.new_release_target_request(
                        actor=self._writer_for(self.entities[entity]),
                        entity=self.entities[entity],
                        venue=self.venues[venue],
                        gateway_type=gateway_type,
                    )
                ),
            )
        self._provision_opened_targets()

    # --- connectivity history (R16) -----------------------------------------------------------

    def _connectivity(self) -> None:
        rows = connectivity_history(
            targets=targets_without_history(self.now), now=self.now, days=world.CONNECTIVITY_HISTORY_DAYS
        )
        ConnectivityCheck.objects.bulk_create(rows, batch_size=2000)
        if rows:
            self.created["connectivity checks"] += len(rows)


def _checklist_showings(logon_at: dt.datetime, access_key_id: str):
    """When and how a client shows the five checks (``gateway/certification.py``), from its first logon."""
    check = CertificationCheckName
    return [
        (check.SIGNED_LOGON, logon_at, f"Logon 34=1, key {access_key_id}"),
        (check.TEST_REQUEST, logon_at + dt.timedelta(seconds=1.2), "TestRequest 112=TEST1 answered by a Heartbeat"),
        (check.HEARTBEATS, logon_at + dt.timedelta(seconds=92), "3 Heartbeats within ±20% of HeartBtInt 30 s"),
        (
            check.RESEND_RECOVERY,
            logon_at + dt.timedelta(minutes=6),
            "Gap at 14; ResendRequest 7=14 16=14 answered; next message 34=17 in sequence",
        ),
        (
            check.MIDWEEK_LOGON,
            logon_at + dt.timedelta(days=1),
            "Logout with 789=58, then Logon 34=58 accepted",
        ),
    ]

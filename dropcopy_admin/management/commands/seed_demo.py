"""``manage.py seed_demo``: a believable demo world, built through the services.

Idempotent: every object is looked up by its natural key first and created only when missing, so a
second run changes nothing. The audit trail shows the world being built by ``system:seed_demo``
(membership requests are made by the demo users, since a request always has a requesting user).
"""

import datetime as dt
import secrets
from collections import Counter

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from dropcopy_admin import clock, errors
from dropcopy_admin.choices import CertificationStatus, Environment, GatewayType, Role, TemporaryKind
from dropcopy_admin.models import (
    Certification,
    CgwGateway,
    ClearingFirm,
    DropCopyGroup,
    Entity,
    FrontEndSystem,
    Gfid,
    Membership,
    SourceSession,
    TargetSession,
    User,
    Venue,
)
from dropcopy_admin.request_id import current_request_id
from dropcopy_admin.services import front_end_systems, groups, registry, source_sessions, temporary_targets, users
from dropcopy_admin.services.audit import SystemActor, audit_record, snapshot
from entitlements import services as entitlement_services

DEMO_PASSWORD = "dropcopy-demo"
ACTOR = SystemActor("seed_demo")

PRODUCTION, NEW_RELEASE = Environment.PRODUCTION, Environment.NEW_RELEASE
CGW, MSGW = GatewayType.CGW, GatewayType.MSGW

CLEARING_FIRMS = [
    # code, name
    ("NCF", "Northbridge Clearing"),
    ("HCL", "Harbor Clearing"),
    ("SCC", "Summit Clearing Corp"),
]

ENTITIES = [
    # code, name, self-service, bill-to entity code, the clearing firm it is
    ("ALPHA", "Alpha Trading LLC", True, None, None),
    ("BRAVO", "Bravo Capital", False, None, None),
    ("BRAVOASIA", "Bravo Capital Asia", False, "BRAVO", None),
    ("HARBOR", "Harbor Clearing LLC", True, None, "HCL"),
]

GFIDS = [
    # venue, code, entity, guaranteeing clearing firm, admin control
    ("CME", "ALP", "ALPHA", "NCF", False),
    ("CME", "ALQ", "ALPHA", "NCF", True),
    ("CME", "BRV", "BRAVO", "HCL", False),
    ("CME", "BRA", "BRAVOASIA", "SCC", False),
    ("CME", "HRB", "HARBOR", "HCL", True),
    ("BROKERTEC", "ALPHA", "ALPHA", None, False),
    ("BROKERTEC", "BRAVO", "BRAVO", "NCF", False),
    ("EBS", "ALE", "ALPHA", None, True),
    ("EBS", "BRE", "BRAVO", "SCC", False),
]

SOURCE_SESSIONS = [
    # SenderCompID (session ID + GFID + fault-tolerance indicator), venue, environment, gateway type,
    # iLink CGW gateway (CGW only), GFID
    ("AC1ALPN", "CME", PRODUCTION, CGW, "CGW1", "ALP"),
    ("AC2ALPN", "CME", PRODUCTION, CGW, "CGW2", "ALP"),
    ("AC3ALQN", "CME", PRODUCTION, CGW, "CGW3", "ALQ"),
    ("AC4ALQN", "CME", PRODUCTION, CGW, "CGW4", "ALQ"),
    ("BC1BRVN", "CME", PRODUCTION, CGW, "CGW1", "BRV"),
    ("BC2BRVN", "CME", PRODUCTION, CGW, "CGW3", "BRV"),
    ("XC1BRAN", "CME", PRODUCTION, CGW, "CGW2", "BRA"),
    ("HC1HRBN", "CME", PRODUCTION, CGW, "CGW4", "HRB"),
    ("AM1ALPN", "CME", PRODUCTION, MSGW, None, "ALP"),
    ("BM1BRVN", "CME", PRODUCTION, MSGW, None, "BRV"),
    ("HM1HRBN", "CME", PRODUCTION, MSGW, None, "HRB"),
    ("AN1ALPN", "CME", NEW_RELEASE, CGW, "CGW1", "ALP"),
    ("AN2ALPN", "CME", NEW_RELEASE, CGW, "CGW2", "ALP"),
    ("BN1BRVN", "CME", NEW_RELEASE, CGW, "CGW4", "BRV"),
    ("AM1ALPN", "CME", NEW_RELEASE, MSGW, None, "ALP"),
    ("AB1ALPHAN", "BROKERTEC", PRODUCTION, MSGW, None, "ALPHA"),
    ("BB1BRAVON", "BROKERTEC", PRODUCTION, MSGW, None, "BRAVO"),
    ("AB1ALPHAN", "BROKERTEC", NEW_RELEASE, MSGW, None, "ALPHA"),
    ("AE1ALEN", "EBS", PRODUCTION, CGW, "CGW1", "ALE"),
    ("AE2ALEN", "EBS", PRODUCTION, CGW, "CGW2", "ALE"),
    ("BE1BREN", "EBS", PRODUCTION, CGW, "CGW1", "BRE"),
    ("AE3ALEN", "EBS", PRODUCTION, MSGW, None, "ALE"),
    ("BE2BREN", "EBS", PRODUCTION, MSGW, None, "BRE"),
    ("AE3ALEN", "EBS", NEW_RELEASE, MSGW, None, "ALE"),
]

FRONT_END_SYSTEMS = [
    # owning entity (None: a vendor product), name, version, vendor
    (None, "ClearView DropCopy", "4.2", "ClearView"),
    (None, "RiskDesk", "2024.1", "Northwind"),
    ("ALPHA", "AlphaRisk", "3.1", "Alpha"),
    ("HARBOR", "HarborPost", "1.0", "Harbor"),
]

CERTIFICATIONS = [
    # requesting entity, front-end system (name, version), venue, gateway type, passed (None: in progress)
    ("ALPHA", ("AlphaRisk", "3.1"), "CME", CGW, True),
    ("ALPHA", ("AlphaRisk", "3.1"), "BROKERTEC", MSGW, True),
    ("ALPHA", ("AlphaRisk", "3.1"), "EBS", MSGW, True),
    ("BRAVO", ("RiskDesk", "2024.1"), "CME", CGW, True),
    ("BRAVOASIA", ("ClearView DropCopy", "4.2"), "CME", MSGW, True),
    ("HARBOR", ("HarborPost", "1.0"), "CME", CGW, True),
    ("ALPHA", ("AlphaRisk", "3.1"), "CME", MSGW, None),
]

TEST_TARGETS = [
    # entity, venue, gateway type: one live New Release test target each
    ("ALPHA", "CME", CGW),
]

GROUPS = [
    # entity, name, venue, environment, front-end system (name, version), opened days ago,
    # closed days ago (None: open), requesting username, sessions (SenderCompIDs)
    ("ALPHA", "Alpha CME Production", "CME", PRODUCTION, ("AlphaRisk", "3.1"), 120, None, "client",
     ["AC1ALPN", "AC2ALPN", "AC3ALQN", "AM1ALPN"]),
    ("ALPHA", "Alpha CME New Release", "CME", NEW_RELEASE, ("ClearView DropCopy", "4.2"), 30, None, "client",
     ["AN1ALPN", "AM1ALPN"]),
    ("ALPHA", "Alpha BrokerTec", "BROKERTEC", PRODUCTION, ("AlphaRisk", "3.1"), 60, None, "client",
     ["AB1ALPHAN"]),
    ("ALPHA", "Alpha EBS", "EBS", PRODUCTION, ("AlphaRisk", "3.1"), 45, None, "client",
     ["AE1ALEN", "AE2ALEN", "AE3ALEN"]),
    ("BRAVO", "Bravo Risk", "CME", PRODUCTION, ("RiskDesk", "2024.1"), 200, None, "am",
     ["BC1BRVN", "BC2BRVN", "BM1BRVN"]),
    ("BRAVO", "Bravo Legacy", "CME", PRODUCTION, ("RiskDesk", "2024.1"), 400, 90, "am", []),
    ("BRAVOASIA", "Bravo Asia CME", "CME", PRODUCTION, ("ClearView DropCopy", "4.2"), 90, None, "am",
     ["XC1BRAN"]),
    ("HARBOR", "Harbor Guaranteed", "CME", PRODUCTION, ("HarborPost", "1.0"), 75, None, "am",
     ["HC1HRBN", "HM1HRBN", "BC1BRVN"]),
]  # fmt: skip

USERS = [
    # username, role, entity code, clearing firm code
    ("am", Role.ACCOUNT_MANAGER, None, None),
    ("client", Role.CLIENT, "ALPHA", None),
    ("clearing", Role.CLEARING_FIRM, None, "NCF"),
    ("finance", Role.FINANCE, None, None),
]


class Command(BaseCommand):
    help = (
        "Build the demo world (entities, clearing firms, GFIDs, source sessions, front-end systems, "
        "groups with pending memberships, one user per role) through the services. Idempotent. "
        f"Every demo user's password is {DEMO_PASSWORD!r}, set directly and deliberately bypassing "
        "the password validators: it is demo data, never for a real deployment."
    )

    def handle(self, *args, **options):
        self.created = Counter()
        token = current_request_id.set(f"seed_demo-{secrets.token_hex(8)}")
        try:
            with transaction.atomic():
                self._seed()
        except errors.DomainError as error:
            raise CommandError(f"The demo world could not be built ({error.code}): {error.detail}") from error
        finally:
            current_request_id.reset(token)
        if self.created:
            summary = ", ".join(f"{kind}: {count}" for kind, count in sorted(self.created.items()))
            self.stdout.write(self.style.SUCCESS(f"Created — {summary}."))
        else:
            self.stdout.write("The demo world was already there; nothing changed.")
        self.stdout.write("Demo logins (admin at /admin/, API token at /api/v1/auth/token/):")
        for username, role, entity, firm in USERS:
            scope = f" of {entity or firm}" if entity or firm else ""
            self.stdout.write(f"  {username:<10} {DEMO_PASSWORD}  {Role(role).label}{scope}")

    def _ensure(self, kind: str, existing, create):
        """The object ``existing`` finds, or the one ``create`` makes (counted)."""
        obj = existing.first()
        if obj is None:
            obj = create()
            self.created[kind] += 1
        return obj

    def _seed(self) -> None:
        venues = {venue.pk: venue for venue in Venue.objects.all()}
        firms = {
            code: self._ensure(
                "clearing firms",
                ClearingFirm.objects.filter(code=code),
                lambda code=code, name=name: registry.clearing_firm_create(actor=ACTOR, code=code, name=name),
            )
            for code, name in CLEARING_FIRMS
        }
        entities: dict[str, Entity] = {}
        for code, name, self_service, bill_to, firm in ENTITIES:
            entities[code] = self._ensure(
                "entities",
                Entity.objects.filter(code=code),
                lambda code=code, name=name, self_service=self_service, bill_to=bill_to, firm=firm: (
                    registry.entity_create(
                        actor=ACTOR,
                        code=code,
                        name=name,
                        self_service=self_service,
                        bill_to=entities[bill_to] if bill_to else None,
                        clearing_firm=firms[firm] if firm else None,
                    )
                ),
            )
        gfids: dict[tuple[str, str], Gfid] = {}
        for venue, code, entity, firm, admin_control in GFIDS:
            gfids[venue, code] = self._ensure(
                "GFIDs",
                Gfid.objects.filter(venue_id=venue, code=code),
                lambda venue=venue, code=code, entity=entity, firm=firm, admin_control=admin_control: (
                    registry.gfid_create(
                        actor=ACTOR,
                        code=code,
                        venue=venues[venue],
                        entity=entities[entity],
                        clearing_firm=firms[firm] if firm else None,
                        admin_control=admin_control,
                    )
                ),
            )
        gateways = {(gw.venue_id, gw.environment, gw.code): gw for gw in CgwGateway.objects.all()}
        sessions: dict[tuple[str, str], SourceSession] = {}
        for sender_comp_id, venue, environment, gateway_type, gateway, gfid in SOURCE_SESSIONS:
            sessions[environment, sender_comp_id] = self._ensure(
                "source sessions",
                SourceSession.objects.filter(environment=environment, sender_comp_id=sender_comp_id),
                lambda s=sender_comp_id, v=venue, e=environment, t=gateway_type, g=gateway, f=gfid: (
                    source_sessions.source_session_create(
                        actor=ACTOR,
                        sender_comp_id=s,
                        venue=venues[v],
                        environment=e,
                        gateway_type=t,
                        cgw_gateway=gateways[v, e, g] if g else None,
                        gfid=gfids[v, f],
                    )
                ),
            )
        systems: dict[tuple[str, str], FrontEndSystem] = {}
        for entity, name, version, vendor in FRONT_END_SYSTEMS:
            owner = entities[entity] if entity else None
            systems[name, version] = self._ensure(
                "front-end systems",
                FrontEndSystem.objects.filter(entity=owner, name=name, version=version, vendor=vendor),
                lambda owner=owner, name=name, version=version, vendor=vendor: (
                    front_end_systems.front_end_system_create(
                        actor=ACTOR, entity=owner, name=name, version=version, vendor=vendor
                    )
                ),
            )
        demo_users = {
            username: self._ensure(
                "users",
                User.objects.filter(username=username),
                lambda username=username, role=role, entity=entity, firm=firm: self._create_user(
                    username=username,
                    role=role,
                    entity=entities[entity] if entity else None,
                    clearing_firm=firms[firm] if firm else None,
                ),
            )
            for username, role, entity, firm in USERS
        }
        self._seed_certifications(entities=entities, systems=systems, venues=venues)
        for entity, venue, gateway_type in TEST_TARGETS:
            self._ensure(
                "New Release test targets",
                TargetSession.objects.filter(
                    entity=entities[entity],
                    venue_id=venue,
                    gateway_type=gateway_type,
                    temporary=TemporaryKind.NEW_RELEASE,
                ),
                lambda entity=entity, venue=venue, gateway_type=gateway_type: (
                    temporary_targets.new_release_target_request(
                        actor=ACTOR, entity=entities[entity], venue=venues[venue], gateway_type=gateway_type
                    )
                ),
            )
        now = clock.now()
        for entity, name, venue, environment, system, opened, closed, requester, members in GROUPS:
            group = self._ensure(
                "groups",
                DropCopyGroup.objects.filter(entity=entities[entity], name__iexact=name),
                lambda entity=entity, name=name, venue=venue, environment=environment, system=system, opened=opened: (
                    groups.group_create(
                        actor=ACTOR,
                        entity=entities[entity],
                        name=name,
                        venue=venues[venue],
                        environment=environment,
                        front_end_system=systems[system],
                        opened_at=now - dt.timedelta(days=opened),
                    )
                ),
            )
            for sender_comp_id in members:
                session = sessions[environment, sender_comp_id]
                self._ensure(
                    "membership requests",
                    Membership.objects.filter(group=group, source_session=session),
                    lambda group=group, session=session, requester=requester: entitlement_services.membership_request(
                        actor=demo_users[requester], group=group, source_session=session
                    ),
                )
            if closed is not None and group.is_open:
                groups.group_close(actor=ACTOR, group=group, at=now - dt.timedelta(days=closed))
                self.created["groups closed"] += 1

    def _seed_certifications(self, *, entities, systems, venues) -> None:
        """Passed certifications for the production groups' front-end systems (R9), one still running."""
        for entity, system, venue, gateway_type, passed in CERTIFICATIONS:
            certification = self._ensure(
                "certifications",
                Certification.objects.filter(
                    front_end_system=systems[system], venue_id=venue, gateway_type=gateway_type
                ),
                lambda entity=entity, system=system, venue=venue, gateway_type=gateway_type: (
                    temporary_targets.certification_request(
                        actor=ACTOR,
                        entity=entities[entity],
                        front_end_system=systems[system],
                        venue=venues[venue],
                        gateway_type=gateway_type,
                    )
                ),
            )
            if passed is not None and certification.status == CertificationStatus.REQUESTED:
                temporary_targets.certification_decide(
                    actor=ACTOR, certification=certification, passed=passed, note="Demo: AutoCert+ run reviewed."
                )

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
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
        audit_record(actor=ACTOR, action="set_password", instance=user, before=state, after=state)
        return user

"""``manage.py seed_scale``: a large world for the dashboards, the benchmarks and the load test.

At ``--scale 1`` (the default): 10,000 entities, 200,000 source sessions, 50,000 groups, 100,000
memberships, 2,000 targets with their addresses and key pairs, a year of daily checks on each
target's primary address, certifications, and a closed billing run for each of the last twelve
months. Everything is written with PostgreSQL's ``COPY`` (psycopg 3) in one transaction, shaped
as the services would leave it: SenderCompIDs embed their GFID, each target serves the iLink
gateway of its group's sessions, ``used`` counts its approved memberships, pending requests are
younger than their expiry. The billing runs are computed and closed by billing's own services.

Refused when the world is already there (its first entity exists): the command is a seed, run on
an empty or demo database; ``--scale 0.01`` builds a world a hundredth the size for tests.
"""

import datetime as dt
import json
import random
import secrets
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from billing.models import BillingRun
from billing.services import billing_run_close, billing_run_compute, first_of_month
from dropcopy_admin import clock, crypto
from dropcopy_admin.choices import (
    AddressRole,
    CertificationStatus,
    Environment,
    GatewayType,
    GroupStatus,
    MembershipStatus,
    Role,
    TargetStatus,
)
from dropcopy_admin.copying import copy_rows
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
    PortRange,
    SegmentGateway,
    SourceSession,
    TargetAddress,
    TargetSession,
    User,
)
from dropcopy_admin.models.checks import CheckOutcome, CheckStage
from dropcopy_admin.services.audit import SystemActor
from dropcopy_admin.services.groups import normalize_message_filters
from dropcopy_admin.services.targets import capacity_of
from entitlements.models import Certification

ENTITIES = 10_000
SESSIONS_PER_ENTITY = 20
GROUPS_PER_ENTITY = 5
TARGETS = 2_000
MSGW_SHARE = 10  # one entity in ten trades through MSGW
CLEARING_FIRMS = 100
FRONT_END_SYSTEMS = 20
PENDING_MEMBERSHIPS = 10_000
ENDED_MEMBERSHIPS = 50_000  # rejected, expired, withdrawn, removed
CHECK_DAYS = 365
BILLED_MONTHS = 12
FIRST_ENTITY_CODE = "SCALE000001"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SYSTEM = SystemActor("seed_scale")


def base36(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 36)
        digits.append(ALPHABET[digit])
    return "".join(reversed(digits))


def copy_rows_with_defaults(model, columns: list[str], rows) -> int:
    """Write ``rows`` (tuples in the order of ``columns``) into ``model``'s table with ``COPY``.

    Fields left out get Django's default on every row (the database has none): "" for text, None
    for the nullable ones.
    """
    defaults = [field for field in model._meta.concrete_fields if field.name not in columns and not field.primary_key]
    fixed = tuple(field.get_prep_value(field.get_default()) for field in defaults)
    return copy_rows(model, [*columns, *(field.name for field in defaults)], ((*row, *fixed) for row in rows))


class ScaleWorld:
    def __init__(self, *, scale: float, now: dt.datetime, billed_months: int, out) -> None:
        self.now = now
        self.out = out
        self.billed_months = billed_months
        self.entities = max(10, round(ENTITIES * scale))
        self.targets = max(4, round(TARGETS * scale))
        self.pending = max(10, round(PENDING_MEMBERSHIPS * scale))
        self.ended = max(10, round(ENDED_MEMBERSHIPS * scale))
        self.random = random.Random(20261204)
        self.counts: dict[str, int] = {}

    def step(self, name: str, work) -> None:
        started = time.perf_counter()
        self.counts[name] = work()
        self.out(f"  {name}: {self.counts[name]:,} in {time.perf_counter() - started:.1f} s")

    def ago(self, days: float) -> dt.datetime:
        return self.now - dt.timedelta(days=days)

    # --- the registry ------------------------------------------------------------------------

    def build(self) -> dict[str, int]:
        self.user = User.objects.create_user(
            username="scale.am",
            password=secrets.token_urlsafe(24),
            role=Role.ACCOUNT_MANAGER,
            is_staff=True,
            is_superuser=True,
        )
        self.step("clearing firms", self.clearing_firms)
        self.step("entities", self.entity_rows)
        self.step("GFIDs", self.gfids)
        self.step("front-end systems", self.front_end_systems)
        self.step("certifications", self.certifications)
        self.step("source sessions", self.sessions)
        self.step("groups", self.groups)
        self.step("targets", self.target_sessions)
        self.step("target addresses", self.addresses)
        self.step("memberships", self.memberships)
        self.step("key pairs", self.key_pairs)
        self.step("connectivity checks", self.checks)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.step("billing runs closed", self.billing_runs)
        return self.counts

    def clearing_firms(self) -> int:
        taken = set(ClearingFirm.objects.values_list("code", flat=True))
        codes = [code for code in (f"Q{base36(n, 2)}" for n in range(36 * 36)) if code not in taken][:CLEARING_FIRMS]
        count = copy_rows_with_defaults(
            ClearingFirm, ["code", "name"], ((code, f"Scale Clearing {code}") for code in codes)
        )
        self.firm_ids = list(ClearingFirm.objects.filter(code__in=codes).order_by("pk").values_list("pk", flat=True))
        return count

    def entity_rows(self) -> int:
        rows = ((f"SCALE{n:06d}", f"Scale Trading {n:05d}", True) for n in range(1, self.entities + 1))
        count = copy_rows_with_defaults(Entity, ["code", "name", "self_service"], rows)
        self.entity_ids = list(
            Entity.objects.filter(code__startswith="SCALE").order_by("pk").values_list("pk", flat=True)
        )
        return count

    def gfids(self) -> int:
        taken = set(Gfid.objects.filter(venue_id="CME").values_list("code", flat=True))
        codes = (code for code in (base36(n, 3) for n in range(36 * 36, 36**3)) if code not in taken)
        self.gfid_of_entity = {}
        rows = []
        for index, entity_id in enumerate(self.entity_ids):
            code = next(codes)
            firm_id = self.firm_ids[index % len(self.firm_ids)]
            self.gfid_of_entity[entity_id] = (code, firm_id)
            rows.append((code, "CME", entity_id, firm_id, index % 4 == 0))
        count = copy_rows_with_defaults(Gfid, ["code", "venue", "entity", "clearing_firm", "admin_control"], rows)
        ids = dict(Gfid.objects.filter(entity_id__in=self.entity_ids).values_list("entity_id", "pk"))
        self.gfid_of_entity = {
            entity: (code, firm, ids[entity]) for entity, (code, firm) in self.gfid_of_entity.items()
        }
        return count

    def front_end_systems(self) -> int:
        rows = ((None, f"Scale OMS {n:02d}", "5.1", "SCALEV", self.ago(400)) for n in range(FRONT_END_SYSTEMS))
        count = copy_rows_with_defaults(FrontEndSystem, ["entity", "name", "version", "vendor", "created_at"], rows)
        self.front_end_ids = list(
            FrontEndSystem.objects.filter(vendor="SCALEV").order_by("pk").values_list("pk", flat=True)
        )
        return count

    def certifications(self) -> int:
        """Each vendor product passed for CME (production groups need it), and a few runs at each stage."""
        rows = [
            (
                self.entity_ids[0],
                system,
                "CME",
                GatewayType.CGW,
                CertificationStatus.PASSED,
                self.ago(420),
                self.ago(410),
                "Passed every check.",
            )
            for system in self.front_end_ids
        ]
        stages = [CertificationStatus.REQUESTED, CertificationStatus.FAILED, CertificationStatus.PASSED]
        for index in range(max(3, len(self.entity_ids) // 50)):
            status = stages[index % 3]
            requested = self.ago(self.random.uniform(0, 60))
            decided = None if status == CertificationStatus.REQUESTED else requested + dt.timedelta(days=2)
            # One requested run per front-end system and venue at a time: the requested ones are spread.
            system = self.front_end_ids[index % len(self.front_end_ids)]
            venue = ["EBS", "BROKERTEC", "CME"][(index // len(self.front_end_ids)) % 3]
            if status == CertificationStatus.REQUESTED and index >= 3 * len(self.front_end_ids):
                status, decided = CertificationStatus.FAILED, requested + dt.timedelta(days=2)
            gateway_type = GatewayType.MSGW if venue == "BROKERTEC" else GatewayType.CGW
            rows.append(
                (
                    self.entity_ids[index % len(self.entity_ids)],
                    system,
                    venue,
                    gateway_type,
                    status,
                    requested,
                    decided,
                    "",
                )
            )
        columns = [
            "entity",
            "front_end_system",
            "venue",
            "gateway_type",
            "status",
            "requested_at",
            "decided_at",
            "note",
        ]
        return copy_rows_with_defaults(Certification, columns, rows)

    def sessions(self) -> int:
        gateways = list(CgwGateway.objects.filter(venue_id="CME", environment=Environment.PRODUCTION).order_by("code"))
        self.route_of_entity = {}
        rows = []
        for index, entity_id in enumerate(self.entity_ids):
            code, firm_id, gfid_id = self.gfid_of_entity[entity_id]
            if index % MSGW_SHARE == MSGW_SHARE - 1:
                route = (GatewayType.MSGW, None)
            else:
                route = (GatewayType.CGW, gateways[index % len(gateways)].pk)
            self.route_of_entity[entity_id] = route
            for number in range(SESSIONS_PER_ENTITY):
                sender_comp_id = f"{base36(number, 3)}{code}N"
                rows.append(
                    (sender_comp_id, "CME", Environment.PRODUCTION, route[0], route[1], gfid_id, firm_id, self.ago(500))
                )
        columns = [
            "sender_comp_id",
            "venue",
            "environment",
            "gateway_type",
            "cgw_gateway",
            "gfid",
            "clearing_firm",
            "created_at",
        ]
        count = copy_rows_with_defaults(SourceSession, columns, rows)
        self.sessions_of_entity: dict[int, list[int]] = {}
        for session_id, gfid_entity in (
            SourceSession.objects.filter(gfid__entity_id__in=self.entity_ids)
            .order_by("pk")
            .values_list("pk", "gfid__entity_id")
            .iterator(chunk_size=20_000)
        ):
            self.sessions_of_entity.setdefault(gfid_entity, []).append(session_id)
        return count

    def groups(self) -> int:
        filters = json.dumps(normalize_message_filters(None))
        rows = []
        for index, entity_id in enumerate(self.entity_ids):
            for number in range(GROUPS_PER_ENTITY):
                opened = self.ago(self.random.uniform(1, 420))
                closed = number == GROUPS_PER_ENTITY - 1 and index % 10 == 0
                closed_at = opened + (self.now - opened) * self.random.uniform(0.2, 0.9) if closed else None
                rows.append(
                    (
                        entity_id,
                        f"Scale group {number + 1}",
                        "CME",
                        Environment.PRODUCTION,
                        self.front_end_ids[(index + number) % len(self.front_end_ids)],
                        filters,
                        GroupStatus.CLOSED if closed else GroupStatus.ACTIVE,
                        opened,
                        closed_at,
                    )
                )
        columns = [
            "entity",
            "name",
            "venue",
            "environment",
            "front_end_system",
            "message_filters",
            "status",
            "opened_at",
            "closed_at",
        ]
        count = copy_rows_with_defaults(DropCopyGroup, columns, rows)
        self.open_groups = list(
            DropCopyGroup.objects.filter(entity_id__in=self.entity_ids, status=GroupStatus.ACTIVE)
            .order_by("pk")
            .values_list("pk", "entity_id", "opened_at")
        )
        return count

    # --- targets -----------------------------------------------------------------------------

    def target_sessions(self) -> int:
        """One target for the first open group of each of the first entities, on its entity's gateway;
        one in twenty degraded or failed."""
        port_range = PortRange.objects.get(environment=Environment.PRODUCTION)
        taken_ports = set(
            TargetAddress.objects.filter(released=False, target__environment=Environment.PRODUCTION).values_list(
                "port", flat=True
            )
        )
        ports = (port for port in range(port_range.first_port, port_range.last_port + 1) if port not in taken_ports)
        taken_ids = set(TargetSession.objects.values_list("target_comp_id", flat=True))
        ids = (name for name in (f"S{base36(n, 5)}N" for n in range(36**5)) if name not in taken_ids)
        statuses = [TargetStatus.VERIFIED] * 18 + [TargetStatus.DEGRADED, TargetStatus.FAILED]
        first_open = {}
        for group in self.open_groups:
            first_open.setdefault(group[1], group)
        # The first open group of as many entities: one in ten of them on MSGW.
        self.targeted_groups = list(first_open.values())[: self.targets]
        rows = []
        for index, (group_id, entity_id, opened) in enumerate(self.targeted_groups):
            gateway_type, gateway_id = self.route_of_entity[entity_id]
            used = len(self.sessions_of_entity[entity_id])
            rows.append(
                (
                    group_id,
                    entity_id,
                    "CME",
                    Environment.PRODUCTION,
                    gateway_type,
                    gateway_id,
                    next(ids),
                    next(ports),
                    statuses[index % len(statuses)],
                    capacity_of(gateway_type),
                    used,
                    opened,
                    opened + dt.timedelta(minutes=5),
                )
            )
        columns = [
            "group",
            "entity",
            "venue",
            "environment",
            "gateway_type",
            "cgw_gateway",
            "target_comp_id",
            "port",
            "status",
            "capacity",
            "used",
            "created_at",
            "provisioning_requested_at",
        ]
        count = copy_rows_with_defaults(TargetSession, columns, rows)
        self.target_rows = list(
            TargetSession.objects.filter(entity_id__in=self.entity_ids)
            .order_by("pk")
            .values_list("pk", "group_id", "gateway_type", "cgw_gateway_id", "port", "created_at")
        )
        return count

    def addresses(self) -> int:
        cgw = {
            gateway.pk: [(gateway.primary_ip, AddressRole.PRIMARY), (gateway.backup_ip, AddressRole.BACKUP)]
            for gateway in CgwGateway.objects.filter(venue_id="CME", environment=Environment.PRODUCTION)
        }
        segments = list(
            SegmentGateway.objects.filter(venue_id="CME", environment=Environment.PRODUCTION).order_by("market_segment")
        )

        def rows():
            for target_id, _group, gateway_type, gateway_id, port, _created in self.target_rows:
                if gateway_type == GatewayType.CGW:
                    for ip, role in cgw[gateway_id]:
                        yield (target_id, ip, port, role, None, "CGW", False)
                else:
                    for segment in segments:
                        sub_id = f"{segment.market_segment:02d}"
                        yield (
                            target_id,
                            segment.primary_ip,
                            port,
                            AddressRole.PRIMARY,
                            segment.market_segment,
                            sub_id,
                            False,
                        )
                        yield (
                            target_id,
                            segment.backup_ip,
                            port,
                            AddressRole.BACKUP,
                            segment.market_segment,
                            sub_id,
                            False,
                        )

        columns = ["target", "ip", "port", "role", "market_segment", "target_sub_id", "released"]
        count = copy_rows_with_defaults(TargetAddress, columns, rows())
        self.primary_address = {}
        for target_id, ip, segment in (
            TargetAddress.objects.filter(target_id__in=[row[0] for row in self.target_rows], role=AddressRole.PRIMARY)
            .order_by("target_id", "pk")
            .values_list("target_id", "ip", "market_segment")
        ):
            self.primary_address.setdefault(target_id, (ip, segment))
        return count

    # --- requests ----------------------------------------------------------------------------

    def memberships(self) -> int:
        """Every targeted group's sessions approved on its target; pending and ended requests elsewhere."""
        user = self.user.pk
        target_of_group = {row[1]: row[0] for row in self.target_rows}
        rows = []
        for group_id, entity_id, opened in self.targeted_groups:
            for session_id in self.sessions_of_entity[entity_id]:
                rows.append(
                    (
                        group_id,
                        session_id,
                        MembershipStatus.APPROVED,
                        True,
                        target_of_group[group_id],
                        user,
                        opened,
                        user,
                        opened,
                        "",
                        None,
                    )
                )
        targeted = {group[0] for group in self.targeted_groups}
        untargeted = [group for group in self.open_groups if group[0] not in targeted] or self.open_groups
        ended = [
            MembershipStatus.REJECTED,
            MembershipStatus.EXPIRED,
            MembershipStatus.WITHDRAWN,
            MembershipStatus.REMOVED,
        ]
        for index in range(self.pending + self.ended):
            group_id, entity_id, opened = untargeted[index % len(untargeted)]
            sessions = self.sessions_of_entity[entity_id]
            session_id = sessions[(index // len(untargeted)) % len(sessions)]
            if index < self.pending:
                requested = self.ago(self.random.uniform(0, 29.5))
                rows.append(
                    (group_id, session_id, MembershipStatus.PENDING, False, None, user, requested, None, None, "", None)
                )
            else:
                status = ended[index % len(ended)]
                requested = self.ago(self.random.uniform(31, 360))
                decided = requested + dt.timedelta(days=self.random.uniform(0.1, 20))
                reason = "Not guaranteed for drop copy." if status == MembershipStatus.REJECTED else ""
                rows.append(
                    (
                        group_id,
                        session_id,
                        status,
                        False,
                        None,
                        user,
                        requested,
                        user if status == MembershipStatus.REJECTED else None,
                        decided if status == MembershipStatus.REJECTED else None,
                        reason,
                        decided,
                    )
                )
        columns = [
            "group",
            "source_session",
            "status",
            "auto_approved",
            "target",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "reason",
            "ended_at",
        ]
        return copy_rows_with_defaults(Membership, columns, rows)

    def key_pairs(self) -> int:
        """One live key pair per target, expiring across the coming year (some within 30 days)."""
        secret = crypto.encrypt(secrets.token_urlsafe(32))  # one secret for the whole seed: it is test data

        def rows():
            for index, (target_id, *_rest) in enumerate(self.target_rows):
                created = self.ago(365 - (index * 7) % 360)
                access_key_id = f"SCALE{index:015d}"
                yield (target_id, access_key_id, secret, False, created, created + dt.timedelta(days=365), None)

        columns = ["target", "access_key_id", "secret_encrypted", "is_probe", "created_at", "expires_at", "revoked_at"]
        return copy_rows_with_defaults(KeyPair, columns, rows())

    def checks(self) -> int:
        """A check a day on each target's primary address, a year back; a failing target fails lately."""
        failing = {row[0] for row in self.target_rows[19::20]}

        def rows():
            for target_id, *_rest in self.target_rows:
                ip, segment = self.primary_address[target_id]
                for day in range(CHECK_DAYS):
                    at = self.ago(day + 0.25)
                    if (target_id in failing and day < 3) or self.random.random() < 0.01:
                        yield (
                            target_id,
                            ip,
                            AddressRole.PRIMARY,
                            segment,
                            CheckOutcome.FAILED,
                            CheckStage.CONNECT,
                            None,
                            at,
                            "Connection refused.",
                        )
                    else:
                        yield (
                            target_id,
                            ip,
                            AddressRole.PRIMARY,
                            segment,
                            CheckOutcome.OK,
                            None,
                            round(self.random.uniform(0.2, 3.0), 2),
                            at,
                            "",
                        )

        columns = ["target", "ip", "role", "market_segment", "outcome", "stage", "rtt_ms", "checked_at", "detail"]
        return copy_rows_with_defaults(ConnectivityCheck, columns, rows())

    # --- billing -----------------------------------------------------------------------------

    def billing_runs(self) -> int:
        """The last months' runs, computed and closed by billing's services (with their exports)."""
        months = [first_of_month(self.now.date())]
        for _ in range(self.billed_months):
            months.insert(0, first_of_month(months[0] - dt.timedelta(days=1)))
        closed = 0
        for month in months[:-1]:
            if BillingRun.objects.filter(month=month).exists():
                continue
            billing_run_compute(actor=SYSTEM, month=month)
            billing_run_close(actor=SYSTEM, month=month)
            closed += 1
        return closed


class Command(BaseCommand):
    help = (
        "Build a large world with COPY: 10,000 entities, 200,000 source sessions, 50,000 groups, 100,000 "
        "memberships, 2,000 targets, a year of checks and of closed billing runs (--scale shrinks it)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, default=1.0, help="Fraction of the full size (default 1).")
        parser.add_argument(
            "--billed-months", type=int, default=BILLED_MONTHS, help="Closed billing runs to create (default 12)."
        )

    def handle(self, *args, scale: float, billed_months: int, **options):
        if not 0 < scale <= 1:
            raise CommandError("--scale is a fraction of the full world: more than 0, at most 1.")
        if Entity.objects.filter(code=FIRST_ENTITY_CODE).exists():
            self.stdout.write("The scale world is already there; nothing changed.")
            return
        started = time.perf_counter()
        self.stdout.write(f"Building the scale world at scale {scale:g}:")
        world = ScaleWorld(scale=scale, now=clock.now(), billed_months=billed_months, out=self.stdout.write)
        with transaction.atomic():
            counts = world.build()
        summary = ", ".join(f"{name}: {count:,}" for name, count in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Built in {time.perf_counter() - started:.0f} s — {summary}."))

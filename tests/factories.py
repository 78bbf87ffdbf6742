"""factory_boy factories for the core domain. Reference data (venues, gateways) comes from the
data migrations, so factories look it up instead of making it."""

import itertools

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from dropcopy_admin.choices import CertificationStatus, Environment, GatewayType, Role
from dropcopy_admin.models import (
    CgwGateway,
    ClearingFirm,
    DropCopyGroup,
    Entity,
    FrontEndSystem,
    Gfid,
    Membership,
    SourceSession,
    User,
    Venue,
)
from dropcopy_admin.services.users import FINANCE_GROUP
from entitlements.models import Certification

_codes = itertools.count(1)


def _alnum(n: int, width: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    for _ in range(width):
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out


def venue(code: str = "CME") -> Venue:
    return Venue.objects.get(pk=code)


def cgw_gateway(
    venue_code: str = "CME",
    environment: str = Environment.PRODUCTION,
    code: str = "CGW1",
) -> CgwGateway:
    return CgwGateway.objects.get(venue_id=venue_code, environment=environment, code=code)


class ClearingFirmFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClearingFirm

    code = factory.LazyFunction(lambda: "C" + _alnum(next(_codes), 2))
    name = factory.Sequence(lambda n: f"Clearing Firm {n}")


class EntityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Entity

    code = factory.Sequence(lambda n: f"ENT{n:04d}")
    name = factory.Sequence(lambda n: f"Trading Firm {n}")
    self_service = True


class GfidFactory(factory.django.DjangoModelFactory):
    """A CME GFID by default; pass ``venue=venue("BROKERTEC")`` for a 5-character one."""

    class Meta:
        model = Gfid

    venue = factory.LazyFunction(lambda: venue("CME"))
    code = factory.LazyAttribute(lambda o: _alnum(next(_codes) + 36**2 * 10, o.venue.gfid_length))
    entity = factory.SubFactory(EntityFactory)
    clearing_firm = factory.LazyAttribute(lambda o: ClearingFirmFactory() if o.venue.clearing_firm_required else None)
    admin_control = False


class SourceSessionFactory(factory.django.DjangoModelFactory):
    """A CME CGW production session on CGW1 by default; its SenderCompID embeds its GFID."""

    class Meta:
        model = SourceSession

    class Params:
        session_id = factory.LazyFunction(lambda: _alnum(next(_codes), 3))

    gfid = factory.SubFactory(GfidFactory)
    venue = factory.LazyAttribute(lambda o: o.gfid.venue)
    environment = Environment.PRODUCTION
    gateway_type = GatewayType.CGW
    cgw_gateway = factory.LazyAttribute(
        lambda o: cgw_gateway(o.venue.pk, o.environment) if o.gateway_type == GatewayType.CGW else None
    )
    sender_comp_id = factory.LazyAttribute(lambda o: f"{o.session_id}{o.gfid.code}N")
    clearing_firm = factory.LazyAttribute(lambda o: o.gfid.clearing_firm)
    created_at = factory.LazyFunction(timezone.now)


class FrontEndSystemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FrontEndSystem

    entity = factory.SubFactory(EntityFactory)
    name = factory.Sequence(lambda n: f"Desk{n}")
    version = "1.0"
    vendor = "ACME"
    created_at = factory.LazyFunction(timezone.now)


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DropCopyGroup

    entity = factory.SubFactory(EntityFactory)
    name = factory.Sequence(lambda n: f"Group {n}")
    venue = factory.LazyFunction(lambda: venue("CME"))
    environment = Environment.PRODUCTION
    front_end_system = factory.SubFactory(FrontEndSystemFactory, entity=factory.SelfAttribute("..entity"))
    message_filters = factory.LazyFunction(lambda: ["fills", "trade_busts"])
    opened_at = factory.LazyFunction(timezone.now)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    role = Role.CLIENT
    entity = factory.Maybe(
        factory.LazyAttribute(lambda o: o.role == Role.CLIENT),
        factory.SubFactory(EntityFactory),
        None,
    )
    clearing_firm = factory.Maybe(
        factory.LazyAttribute(lambda o: o.role == Role.CLEARING_FIRM),
        factory.SubFactory(ClearingFirmFactory),
        None,
    )
    is_superuser = factory.LazyAttribute(lambda o: o.role == Role.ACCOUNT_MANAGER)
    is_staff = factory.LazyAttribute(lambda o: o.role in (Role.ACCOUNT_MANAGER, Role.FINANCE))
    password = factory.PostGenerationMethodCall("set_password", "s3cret-Pa55word")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()
            if obj.role == Role.FINANCE:  # as users.user_create does: billing permissions only
                obj.groups.add(Group.objects.get_or_create(name=FINANCE_GROUP)[0])


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    group = factory.SubFactory(GroupFactory)
    source_session = factory.SubFactory(SourceSessionFactory, gfid__entity=factory.SelfAttribute("...group.entity"))
    requested_by = factory.SubFactory(UserFactory, role=Role.ACCOUNT_MANAGER)
    requested_at = factory.LazyFunction(timezone.now)


def passed_certification(front_end_system: FrontEndSystem, venue_code: str = "CME", **fields) -> Certification:
    """A passed certification of ``front_end_system`` for a venue (R9), without its AutoCert+ history."""
    now = timezone.now()
    values = {
        "entity": front_end_system.entity or EntityFactory(),
        "gateway_type": GatewayType.CGW,
        "status": CertificationStatus.PASSED,
        "requested_at": now,
        "decided_at": now,
        "note": "Passed (test data)",
    }
    values.update(fields)
    return Certification.objects.create(front_end_system=front_end_system, venue=venue(venue_code), **values)

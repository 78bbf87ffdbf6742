"""Builders shared by the approval-workflow tests: sessions that need a decision or are auto-approved
(R8), groups of each venue, and the error-envelope assertion."""

from dropcopy_admin.choices import Environment, GatewayType
from dropcopy_admin.models import DropCopyGroup, Entity, SourceSession
from tests import factories

MEMBERSHIPS = "/api/v1/memberships/"
TARGETS = "/api/v1/targets/"


def membership_url(membership, action: str = "") -> str:
    pk = membership.pk if hasattr(membership, "pk") else membership
    return f"{MEMBERSHIPS}{pk}/" + (f"{action}/" if action else "")


def guaranteed_session(entity: Entity, firm, **kwargs) -> SourceSession:
    """A CME session (CGW on CGW1 unless told) of ``entity``'s GFID, guaranteed by ``firm``: it needs a decision."""
    return factories.SourceSessionFactory(gfid__entity=entity, gfid__clearing_firm=firm, **kwargs)


def msgw_session(entity: Entity, firm, **kwargs) -> SourceSession:
    return guaranteed_session(entity, firm, gateway_type=GatewayType.MSGW, **kwargs)


def cgw_session_on(entity: Entity, firm, code: str) -> SourceSession:
    """A CME production CGW session on iLink gateway ``code``."""
    return guaranteed_session(entity, firm, cgw_gateway=factories.cgw_gateway("CME", Environment.PRODUCTION, code))


def admin_control_session(entity: Entity, firm) -> SourceSession:
    """A session on a GFID ``entity`` owns and administers itself (R8 a)."""
    gfid = factories.GfidFactory(entity=entity, clearing_firm=firm, admin_control=True)
    return factories.SourceSessionFactory(gfid=gfid)


def brokertec_session(entity: Entity) -> SourceSession:
    """A BrokerTec MSGW session: its GFID has no guaranteeing clearing firm (R8 c)."""
    gfid = factories.GfidFactory(venue=factories.venue("BROKERTEC"), entity=entity, clearing_firm=None)
    assert gfid.clearing_firm is None
    return factories.SourceSessionFactory(gfid=gfid, gateway_type=GatewayType.MSGW)


def brokertec_group(entity: Entity, **kwargs) -> DropCopyGroup:
    return factories.GroupFactory(entity=entity, venue=factories.venue("BROKERTEC"), **kwargs)

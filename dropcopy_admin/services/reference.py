"""Reference data: looking up what requests name by code, and the audited writes of the
gateways and port ranges (account managers, from the admin)."""

from django.core.exceptions import ValidationError
from django.core.validators import validate_ipv4_address
from django.db import models, transaction

from dropcopy_admin import errors
from dropcopy_admin.choices import Environment, GatewayType, VenueCode
from dropcopy_admin.models import CgwGateway, PortRange, SegmentGateway, Venue

from .audit import Actor, audit_record
from .common import require_account_manager, save_unique, update_fields

# The codes a request may name, read once (choices' ``.values`` builds a new list at each call);
# a value that is not a string (a list or an object from JSON) is simply not one of them.
VENUE_CODES = frozenset(VenueCode.values)
GATEWAY_TYPES = frozenset(GatewayType.values)
ENVIRONMENTS = frozenset(Environment.values)


def venue_get(*, code) -> Venue:
    """The venue with ``code``; anything else is ``venue_not_supported`` (R1)."""
    # Only a known code reaches the database (a NUL byte in a query would be a 500 on PostgreSQL).
    venue = Venue.objects.filter(pk=code).first() if isinstance(code, str) and code in VENUE_CODES else None
    if venue is None:
        raise errors.venue_not_supported(code)
    return venue


def check_gateway_type(*, venue: Venue, gateway_type: str, field: str = "gateway_type") -> None:
    if not isinstance(gateway_type, str) or gateway_type not in GATEWAY_TYPES:
        raise errors.InvalidInput.field(field, f'"{gateway_type}" is not a valid choice.')
    if not venue.offers(gateway_type):
        raise errors.gateway_type_not_supported(venue.code, gateway_type)


def check_environment(*, environment: str, field: str = "environment") -> None:
    if not isinstance(environment, str) or environment not in ENVIRONMENTS:
        raise errors.InvalidInput.field(field, f'"{environment}" is not a valid choice.')


# --- writes (account managers): gateways and port ranges, each audited ----------------------------
#
# The fields that identify a row (its venue, environment, code or segment) are fixed once it
# exists; its addresses and ports may change. Changing them does not move live targets (R7).


def _check_ipv4(field: str, value: str) -> None:
    try:
        validate_ipv4_address(value)
    except ValidationError as exc:
        raise errors.InvalidInput.field(field, "Enter a valid IPv4 address.") from exc


def _create(*, actor: Actor, instance: models.Model, taken: bool, on_conflict) -> models.Model:
    """Save a new row and record its creation, or refuse it as ``on_conflict`` says."""
    if taken:
        raise on_conflict()
    save_unique(instance, on_conflict=on_conflict)
    audit_record(actor=actor, action="create", instance=instance)
    return instance


def _update(*, actor: Actor, instance: models.Model, changes: dict, changeable: frozenset[str], on_conflict):
    """Lock the row, apply ``changes`` (only ``changeable`` fields) and record before and after."""
    fixed = sorted(set(changes) - changeable)
    if fixed:
        raise TypeError(f"{type(instance).__name__} cannot change {', '.join(fixed)} once created")
    instance = type(instance).objects.select_for_update().get(pk=instance.pk)
    return update_fields(actor=actor, instance=instance, changes=changes, on_conflict=on_conflict)


GATEWAY_CHANGEABLE = frozenset({"primary_ip", "backup_ip"})


def _check_gateway_addresses(changes: dict) -> None:
    for field in ("primary_ip", "backup_ip"):
        if field in changes:
            _check_ipv4(field, changes[field])


def cgw_gateway_create(
    *, actor: Actor, venue: Venue, environment: str, code: str, primary_ip: str, backup_ip: str
) -> CgwGateway:
    require_account_manager(actor, doing="register convenience gateways")
    check_environment(environment=environment)
    _check_gateway_addresses({"primary_ip": primary_ip, "backup_ip": backup_ip})

    def taken():
        return errors.already_exists(f"{venue.code} already has a convenience gateway {code} in {environment}.")

    gateway = CgwGateway(venue=venue, environment=environment, code=code, primary_ip=primary_ip, backup_ip=backup_ip)
    with transaction.atomic():
        exists = CgwGateway.objects.filter(venue=venue, environment=environment, code=code).exists()
        return _create(actor=actor, instance=gateway, taken=exists, on_conflict=taken)


def gateway_update(*, actor: Actor, gateway: CgwGateway | SegmentGateway, **changes) -> CgwGateway | SegmentGateway:
    """Change a convenience or market segment gateway's drop copy addresses."""
    kind = "convenience gateways" if isinstance(gateway, CgwGateway) else "market segment gateways"
    require_account_manager(actor, doing=f"change {kind}")
    _check_gateway_addresses(changes)
    with transaction.atomic():
        return _update(
            actor=actor,
            instance=gateway,
            changes=changes,
            changeable=GATEWAY_CHANGEABLE,
            on_conflict=lambda: errors.already_exists("The gateway was changed meanwhile; reload and try again."),
        )


def _check_market_segment(market_segment: int) -> None:
    if not 0 <= market_segment <= 99:
        raise errors.InvalidInput.field("market_segment", "A market segment is a number from 0 to 99.")


def segment_gateway_create(
    *, actor: Actor, venue: Venue, environment: str, market_segment: int, primary_ip: str, backup_ip: str
) -> SegmentGateway:
    require_account_manager(actor, doing="register market segment gateways")
    check_environment(environment=environment)
    _check_market_segment(market_segment)
    _check_gateway_addresses({"primary_ip": primary_ip, "backup_ip": backup_ip})

    def taken():
        return errors.already_exists(
            f"{venue.code} already has a gateway for market segment {market_segment:02d} in {environment}."
        )

    gateway = SegmentGateway(
        venue=venue,
        environment=environment,
        market_segment=market_segment,
        primary_ip=primary_ip,
        backup_ip=backup_ip,
    )
    with transaction.atomic():
        exists = SegmentGateway.objects.filter(
            venue=venue, environment=environment, market_segment=market_segment
        ).exists()
        return _create(actor=actor, instance=gateway, taken=exists, on_conflict=taken)


PORT_RANGE_CHANGEABLE = frozenset({"first_port", "last_port"})
LOWEST_PORT, HIGHEST_PORT = 1024, 65535


def _check_ports(*, first_port: int, last_port: int) -> None:
    if first_port < LOWEST_PORT:
        raise errors.InvalidInput.field("first_port", f"Ports start at {LOWEST_PORT} or above.")
    if last_port > HIGHEST_PORT:
        raise errors.InvalidInput.field("last_port", f"Ports end at {HIGHEST_PORT} or below.")
    if first_port > last_port:
        raise errors.InvalidInput.field("last_port", "The last port comes after the first.")


def port_range_create(*, actor: Actor, environment: str, first_port: int, last_port: int) -> PortRange:
    require_account_manager(actor, doing="set port ranges")
    check_environment(environment=environment)
    _check_ports(first_port=first_port, last_port=last_port)

    def taken():
        return errors.already_exists(f"{environment} already has a port range.")

    port_range = PortRange(environment=environment, first_port=first_port, last_port=last_port)
    with transaction.atomic():
        exists = PortRange.objects.filter(environment=environment).exists()
        return _create(actor=actor, instance=port_range, taken=exists, on_conflict=taken)


def port_range_update(*, actor: Actor, port_range: PortRange, **changes) -> PortRange:
    """Change the ports an environment's new targets take; live targets keep theirs (R7)."""
    require_account_manager(actor, doing="set port ranges")
    with transaction.atomic():
        current = PortRange.objects.select_for_update().get(pk=port_range.pk)
        _check_ports(
            first_port=changes.get("first_port", current.first_port),
            last_port=changes.get("last_port", current.last_port),
        )
        return _update(
            actor=actor,
            instance=current,
            changes=changes,
            changeable=PORT_RANGE_CHANGEABLE,
            on_conflict=lambda: errors.already_exists("The port range was changed meanwhile; reload and try again."),
        )

"""Looking up the reference data that requests name by code."""

from dropcopy_admin import errors
from dropcopy_admin.choices import Environment, GatewayType, VenueCode
from dropcopy_admin.models import Venue


def venue_get(*, code) -> Venue:
    """The venue with ``code``; anything else is ``venue_not_supported`` (R1)."""
    # Only a known code reaches the database (a NUL byte in a query would be a 500 on PostgreSQL).
    venue = Venue.objects.filter(pk=code).first() if code in VenueCode.values else None
    if venue is None:
        raise errors.venue_not_supported(code)
    return venue


def check_gateway_type(*, venue: Venue, gateway_type: str, field: str = "gateway_type") -> None:
    if gateway_type not in GatewayType.values:
        raise errors.InvalidInput.field(field, f'"{gateway_type}" is not a valid choice.')
    if not venue.offers(gateway_type):
        raise errors.gateway_type_not_supported(venue.code, gateway_type)


def check_environment(*, environment: str, field: str = "environment") -> None:
    if environment not in Environment.values:
        raise errors.InvalidInput.field(field, f'"{environment}" is not a valid choice.')

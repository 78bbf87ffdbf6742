"""The Django admin for account managers (product-spec.md, "Who uses it").

Every write goes through the domain services, or — for reference data, which has none — through
an audited save, so the admin leaves the same audit trail (R18) as the API. Domain objects are
never deleted: groups are closed and memberships ended, by admin actions that call the services.
"""

from . import audit, checks, gateway_processes, groups, keys, mail, parties, reference, sessions, site, targets, users

__all__ = [
    "audit",
    "checks",
    "gateway_processes",
    "groups",
    "keys",
    "mail",
    "parties",
    "reference",
    "sessions",
    "site",
    "targets",
    "users",
]

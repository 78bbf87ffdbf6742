"""Enumerations of the core domain, as the API spells them."""

from django.db import models


class VenueCode(models.TextChoices):
    CME = "CME", "CME Group listed derivatives"
    BROKERTEC = "BROKERTEC", "BrokerTec"
    EBS = "EBS", "EBS Market"


class Environment(models.TextChoices):
    PRODUCTION = "PRODUCTION", "Production"
    NEW_RELEASE = "NEW_RELEASE", "New Release"
    CERT = "CERT", "AutoCert+"


class GatewayType(models.TextChoices):
    CGW = "CGW", "Convenience gateway"
    MSGW = "MSGW", "Market segment gateway"


class Role(models.TextChoices):
    ACCOUNT_MANAGER = "account_manager", "Account manager"
    CLEARING_FIRM = "clearing_firm", "Clearing firm administrator"
    CLIENT = "client", "Client administrator"
    FINANCE = "finance", "Finance"


class GroupStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    CLOSED = "closed", "Closed"


class MembershipStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"
    REMOVED = "removed", "Removed"


LIVE_MEMBERSHIP_STATUSES = (MembershipStatus.PENDING, MembershipStatus.APPROVED)


class MessageFilter(models.TextChoices):
    ACKS = "acks", "Acknowledgements"
    EXECUTION_REPORTS = "execution_reports", "Execution reports"
    FILLS = "fills", "Fills"
    TRADE_BUSTS = "trade_busts", "Trade busts"
    TRADE_CORRECTIONS = "trade_corrections", "Trade corrections"
    ORDER_MASS_ACTION = "order_mass_action", "Order mass action"
    REJECTS = "rejects", "Rejects"
    HEARTBEATS = "heartbeats", "Heartbeats"


MANDATORY_MESSAGE_FILTERS = (MessageFilter.FILLS, MessageFilter.TRADE_BUSTS)


class TargetStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROVISIONED = "provisioned", "Provisioned"
    VERIFIED = "verified", "Verified"
    DEGRADED = "degraded", "Degraded"
    FAILED = "failed", "Failed"
    CLOSED = "closed", "Closed"


class TemporaryKind(models.TextChoices):
    NEW_RELEASE = "new_release", "New Release test target"
    AUTOCERT = "autocert", "AutoCert+ certification target"


class AddressRole(models.TextChoices):
    PRIMARY = "primary", "Primary"
    BACKUP = "backup", "Backup"


class CertificationStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"


class CertificationCheckName(models.TextChoices):
    """The five checks the gateway records on a live AutoCert+ target (R9), in the order shown."""

    SIGNED_LOGON = "signed_logon", "Signed logon"
    HEARTBEATS = "heartbeats", "Three heartbeats on the interval (±20%)"
    TEST_REQUEST = "test_request", "TestRequest answered"
    RESEND_RECOVERY = "resend_recovery", "ResendRequest within limits and recovery after a gap"
    MIDWEEK_LOGON = "midweek_logon", "Mid-week logon after a Logout with 789"

from .audit import AuditEvent
from .checks import CheckOutcome, CheckStage, ConnectivityCheck
from .gateway import FeedRequest, SentMessage, SequenceStream
from .gateway_processes import GatewayProcess, ServedAddress
from .groups import DropCopyGroup, Membership
from .keys import KeyPair
from .mail import OutgoingEmail
from .parties import ClearingFirm, Entity, Gfid
from .reference import CgwGateway, PortRange, SegmentGateway, Venue
from .sessions import FrontEndSystem, SourceSession
from .targets import TargetAddress, TargetSession
from .users import ApiToken, User

__all__ = [
    "ApiToken",
    "AuditEvent",
    "CgwGateway",
    "CheckOutcome",
    "CheckStage",
    "ClearingFirm",
    "ConnectivityCheck",
    "DropCopyGroup",
    "Entity",
    "FeedRequest",
    "FrontEndSystem",
    "GatewayProcess",
    "Gfid",
    "KeyPair",
    "Membership",
    "OutgoingEmail",
    "PortRange",
    "SegmentGateway",
    "SentMessage",
    "SequenceStream",
    "ServedAddress",
    "SourceSession",
    "TargetAddress",
    "TargetSession",
    "User",
    "Venue",
]

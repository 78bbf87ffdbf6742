"""What the demo world holds. Times are days (or hours) before the moment ``seed_demo`` runs."""

from dropcopy_admin.choices import CertificationCheckName, Environment, GatewayType, Role

DEMO_PASSWORD = "dropcopy-demo"

PRODUCTION, NEW_RELEASE = Environment.PRODUCTION, Environment.NEW_RELEASE
CGW, MSGW = GatewayType.CGW, GatewayType.MSGW

# The registry (firms, entities, GFIDs, sessions, front-end systems, users) is set up this long ago.
WORLD_STARTED_DAYS_AGO = 430

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
    ("CME", "BRV", "BRAVO", "NCF", False),
    ("CME", "BRH", "BRAVO", "HCL", False),
    ("CME", "BRA", "BRAVOASIA", "NCF", False),
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
    ("AC5ALPN", "CME", PRODUCTION, CGW, "CGW2", "ALP"),
    ("BC1BRVN", "CME", PRODUCTION, CGW, "CGW1", "BRV"),
    ("BC2BRVN", "CME", PRODUCTION, CGW, "CGW3", "BRV"),
    ("BC3BRHN", "CME", PRODUCTION, CGW, "CGW2", "BRH"),
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

USERS = [
    # username, role, entity code, clearing firm code
    ("am", Role.ACCOUNT_MANAGER, None, None),
    ("client", Role.CLIENT, "ALPHA", None),
    ("clearing", Role.CLEARING_FIRM, None, "NCF"),
    ("finance", Role.FINANCE, None, None),
]

ALL_CHECKS = tuple(CertificationCheckName.values)
FIRST_SESSION_CHECKS = (
    CertificationCheckName.SIGNED_LOGON,
    CertificationCheckName.TEST_REQUEST,
    CertificationCheckName.HEARTBEATS,
)

CERTIFICATIONS = [
    # requesting entity, front-end system (name, version), venue, gateway type, requested days ago,
    # the checks its client has shown, passed (None: still running). Each certification passed
    # before the production groups of its system and venue were opened.
    ("BRAVO", ("RiskDesk", "2024.1"), "CME", CGW, 410, ALL_CHECKS, True),
    ("ALPHA", ("AlphaRisk", "3.1"), "CME", CGW, 135, ALL_CHECKS, True),
    ("BRAVOASIA", ("ClearView DropCopy", "4.2"), "CME", MSGW, 100, ALL_CHECKS, True),
    ("HARBOR", ("HarborPost", "1.0"), "CME", CGW, 85, ALL_CHECKS, True),
    ("ALPHA", ("AlphaRisk", "3.1"), "BROKERTEC", MSGW, 70, ALL_CHECKS, True),
    ("ALPHA", ("AlphaRisk", "3.1"), "EBS", MSGW, 55, ALL_CHECKS, True),
    ("ALPHA", ("AlphaRisk", "3.1"), "CME", MSGW, 3, FIRST_SESSION_CHECKS, None),
]

TEST_TARGETS = [
    # entity, venue, gateway type: one live New Release test target each, requested now
    ("ALPHA", "CME", CGW),
]

GROUPS = [
    # entity, name, venue, environment, front-end system (name, version), opened days ago,
    # closed days ago (None: open), requesting username, members: (SenderCompID, requested hours
    # ago). None: requested when the group opened and, when it needs a decision, approved the next
    # day by the guaranteeing firm (NCF, the demo's ``clearing`` login, guarantees every session
    # that needs one); a number of hours: a recent request, still pending if it needs a decision.
    ("BRAVO", "Bravo Legacy", "CME", PRODUCTION, ("RiskDesk", "2024.1"), 400, 90, "am", []),
    ("BRAVO", "Bravo Risk", "CME", PRODUCTION, ("RiskDesk", "2024.1"), 200, None, "am",
     [("BC1BRVN", None), ("BC2BRVN", None), ("BM1BRVN", 118)]),
    ("ALPHA", "Alpha CME Production", "CME", PRODUCTION, ("AlphaRisk", "3.1"), 120, None, "client",
     [("AC1ALPN", None), ("AC3ALQN", None), ("AM1ALPN", None), ("AC2ALPN", 50), ("AC5ALPN", 20)]),
    ("BRAVOASIA", "Bravo Asia CME", "CME", PRODUCTION, ("ClearView DropCopy", "4.2"), 90, None, "am",
     [("XC1BRAN", None)]),
    ("HARBOR", "Harbor Guaranteed", "CME", PRODUCTION, ("HarborPost", "1.0"), 75, None, "am",
     [("HC1HRBN", None), ("HM1HRBN", None), ("BC3BRHN", None)]),
    ("ALPHA", "Alpha BrokerTec", "BROKERTEC", PRODUCTION, ("AlphaRisk", "3.1"), 60, None, "client",
     [("AB1ALPHAN", None)]),
    ("ALPHA", "Alpha EBS", "EBS", PRODUCTION, ("AlphaRisk", "3.1"), 45, None, "client",
     [("AE1ALEN", None), ("AE2ALEN", None), ("AE3ALEN", None)]),
    ("ALPHA", "Alpha CME New Release", "CME", NEW_RELEASE, ("ClearView DropCopy", "4.2"), 30, None, "client",
     [("AN1ALPN", None), ("AN2ALPN", 70), ("AM1ALPN", 26)]),
]  # fmt: skip

# Billing: the runs of this many previous Chicago months are computed (by the monthly task, on the
# 1st) and closed by finance on the 2nd; the current month's run is a draft. One adjustment returns
# half a month's fee of ALPHA's latest production group, for the month it opened.
CLOSED_MONTHS = 3
ADJUSTED_ENTITY = "ALPHA"

# Connectivity history: every live target's checks over this many days before the seed.
CONNECTIVITY_HISTORY_DAYS = 4

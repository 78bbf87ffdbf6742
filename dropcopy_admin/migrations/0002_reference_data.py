"""Reference data of api-contract.md "Bootstrap": venues, gateways, segment gateways, port ranges.

The same layout in each environment; every drop copy address is a distinct loopback address
(127.10/16 PRODUCTION, 127.20/16 NEW_RELEASE, 127.30/16 CERT).
"""

from django.db import migrations

VENUES = [
    # code, name, offers CGW, offers MSGW, GFID length, clearing firm required
    ("CME", "CME Group listed derivatives", True, True, 3, True),
    ("BROKERTEC", "BrokerTec", False, True, 5, False),
    ("EBS", "EBS Market", True, True, 3, False),
]
ENVIRONMENT_OCTETS = {"PRODUCTION": 10, "NEW_RELEASE": 20, "CERT": 30}
VENUE_OCTETS = {"CME": 1, "EBS": 2, "BROKERTEC": 3}
CGW_GATEWAY_COUNTS = {"CME": 4, "EBS": 2, "BROKERTEC": 0}
MARKET_SEGMENTS = {
    "CME": [50, 52, 54, 56, 58, 60, 64, 68, 70, 72, 76, 80, 82, 84, 88, 90, 92, 94, 96],
    "EBS": [30, 32, 34, 36],
    "BROKERTEC": [97, 98, 99],
}
TARGET_PORTS = (30000, 39999)


def _ip(environment, venue, host):
    return f"127.{ENVIRONMENT_OCTETS[environment]}.{VENUE_OCTETS[venue]}.{host}"


def load(apps, schema_editor):
    Venue = apps.get_model("dropcopy_admin", "Venue")
    CgwGateway = apps.get_model("dropcopy_admin", "CgwGateway")
    SegmentGateway = apps.get_model("dropcopy_admin", "SegmentGateway")
    PortRange = apps.get_model("dropcopy_admin", "PortRange")
    Group = apps.get_model("auth", "Group")
    for code, name, cgw, msgw, gfid_length, firm_required in VENUES:
        Venue.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "offers_cgw": cgw,
                "offers_msgw": msgw,
                "gfid_length": gfid_length,
                "clearing_firm_required": firm_required,
            },
        )
    for environment in ENVIRONMENT_OCTETS:
        PortRange.objects.update_or_create(
            environment=environment,
            defaults={"first_port": TARGET_PORTS[0], "last_port": TARGET_PORTS[1]},
        )
        for venue, count in CGW_GATEWAY_COUNTS.items():
            for number in range(1, count + 1):
                CgwGateway.objects.update_or_create(
                    venue_id=venue,
                    environment=environment,
                    code=f"CGW{number}",
                    defaults={
                        "primary_ip": _ip(environment, venue, 2 * number - 1),
                        "backup_ip": _ip(environment, venue, 2 * number),
                    },
                )
        for venue, segments in MARKET_SEGMENTS.items():
            for index, segment in enumerate(segments, start=1):
                SegmentGateway.objects.update_or_create(
                    venue_id=venue,
                    environment=environment,
                    market_segment=segment,
                    defaults={
                        "primary_ip": _ip(environment, venue, 100 + 2 * index - 1),
                        "backup_ip": _ip(environment, venue, 100 + 2 * index),
                    },
                )
    Group.objects.get_or_create(name="finance")


class Migration(migrations.Migration):
    dependencies = [
        ("dropcopy_admin", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]

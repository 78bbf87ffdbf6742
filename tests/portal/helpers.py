"""Shared helpers of the portal page tests (tables, exports, rows)."""

import csv
import datetime as dt
import io
import itertools

from openpyxl import load_workbook

from dropcopy_admin.choices import Environment, GatewayType, MembershipStatus, TargetStatus, TemporaryKind
from dropcopy_admin.models import TargetSession
from tests import factories

NOW = dt.datetime(2026, 12, 4, 20, 0, tzinfo=dt.UTC)
_numbers = itertools.count(1)


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(body.decode())))


def xlsx_rows(response) -> list[list]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    sheet = load_workbook(io.BytesIO(body), read_only=True).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def membership(*, entity, firm, requester, status=MembershipStatus.PENDING, decider=None, days_old=1, **fields):
    gfid = factories.GfidFactory(entity=entity, clearing_firm=firm)
    session = factories.SourceSessionFactory(gfid=gfid)
    group = fields.pop("group", None) or factories.GroupFactory(entity=entity)
    requested_at = NOW - dt.timedelta(days=days_old)
    values = {"status": status, "requested_by": requester, "requested_at": requested_at}
    if status != MembershipStatus.PENDING:
        values.update(decided_by=decider, decided_at=requested_at + dt.timedelta(hours=2))
    values.update(fields)
    return factories.MembershipFactory(group=group, source_session=session, **values)


def target(*, entity, temporary=None, status=TargetStatus.VERIFIED, **fields) -> TargetSession:
    number = next(_numbers)
    values = {
        "entity": entity,
        "venue": factories.venue("CME"),
        "environment": Environment.NEW_RELEASE if temporary else Environment.PRODUCTION,
        "gateway_type": GatewayType.MSGW,
        "target_comp_id": f"T{number:05d}N",
        "port": 20000 + number,
        "status": status,
        "capacity": 1000,
        "temporary": temporary,
        "created_at": NOW - dt.timedelta(days=3),
    }
    if temporary == TemporaryKind.NEW_RELEASE:
        values["expires_at"] = NOW + dt.timedelta(days=20)
    values.update(fields)
    return TargetSession.objects.create(**values)

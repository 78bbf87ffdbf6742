"""The targets pages: the list, a target's connection sheet with its verification evidence, the
re-check, the sheet as CSV and as a printable page; another entity's targets never shown."""

import datetime as dt
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dropcopy_admin import clock
from dropcopy_admin.choices import AddressRole, Environment, GatewayType, TargetStatus
from dropcopy_admin.models import CheckOutcome, CheckStage, ConnectivityCheck, TargetAddress, TargetSession
from dropcopy_admin.portal.targets import SHEET_HEADER
from tests import factories
from tests.portal.helpers import csv_rows

pytestmark = pytest.mark.django_db

MSGW_SEGMENTS = 38
_numbers = itertools.count(1)


def build_target(
    entity, *, gateway_type=GatewayType.CGW, segments=MSGW_SEGMENTS, status=TargetStatus.VERIFIED, **fields
):
    """A production target with its addresses: CGW primary and backup, or MSGW's per segment."""
    number = next(_numbers)
    values = {
        "entity": entity,
        "venue": factories.venue("CME"),
        "environment": Environment.PRODUCTION,
        "gateway_type": gateway_type,
        "cgw_gateway": factories.cgw_gateway() if gateway_type == GatewayType.CGW else None,
        "target_comp_id": f"Q{number:05d}N",
        "port": 30000 + number,
        "status": status,
        "capacity": 1000 if gateway_type == GatewayType.CGW else 500,
        "used": 3,
        "created_at": clock.now() - dt.timedelta(days=3),
    }
    values.update(fields)
    target = TargetSession.objects.create(**values)
    plan = [(None, role) for role in (AddressRole.PRIMARY, AddressRole.BACKUP)]
    if gateway_type == GatewayType.MSGW:
        plan = [
            (segment, role) for segment in range(1, segments + 1) for role in (AddressRole.PRIMARY, AddressRole.BACKUP)
        ]
    TargetAddress.objects.bulk_create(
        TargetAddress(
            target=target,
            ip=f"10.{number % 250}.{0 if role == AddressRole.PRIMARY else 1}.{segment or 1}",
            port=target.port,
            role=role,
            market_segment=segment,
            target_sub_id=f"SUB{segment or 0:02d}{role[0].upper()}",
        )
        for segment, role in plan
    )
    return target


def check(target, address, *, outcome=CheckOutcome.OK, minutes_ago=10, **fields):
    values = {
        "target": target,
        "ip": address.ip,
        "role": address.role,
        "market_segment": address.market_segment,
        "outcome": outcome,
        "stage": None if outcome == CheckOutcome.OK else CheckStage.LOGON,
        "rtt_ms": 12.34 if outcome == CheckOutcome.OK else None,
        "checked_at": clock.now() - dt.timedelta(minutes=minutes_ago),
        "detail": "" if outcome == CheckOutcome.OK else "Logout received: the logon was refused",
    }
    values.update(fields)
    return ConnectivityCheck.objects.create(**values)


def check_all(target, **fields):
    for address in target.addresses.all():
        check(target, address, **fields)


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def detail_url(target):
    return reverse("portal:target-detail", args=[target.pk])


TARGETS = "/portal/targets/"


class TestTargetsList:
    def test_lists_the_entitys_targets_with_their_evidence_and_keys(self, client, client_user, client_entity):
        group = factories.GroupFactory(entity=client_entity, name="Alpha CME Production")
        cgw = build_target(client_entity, group=group)
        check_all(cgw)
        msgw = build_target(client_entity, gateway_type=GatewayType.MSGW, segments=2, status=TargetStatus.PROVISIONED)
        client.force_login(client_user)
        page = client.get(TARGETS).content.decode()
        assert cgw.target_comp_id in page and msgw.target_comp_id in page
        assert "Alpha CME Production" in page
        assert "iLink CGW1" in page
        assert "3 of 1000" in page
        assert "Not checked yet" in page  # the MSGW target
        assert f'href="{detail_url(cgw)}"' in page

    def test_another_entitys_targets_are_absent(self, client, client_user, client_entity):
        mine = build_target(client_entity)
        theirs = build_target(factories.EntityFactory(code="BETA"))
        client.force_login(client_user)
        page = client.get(TARGETS + "?status=all").content.decode()
        assert mine.target_comp_id in page
        assert theirs.target_comp_id not in page

    def test_filters_by_group_status_and_venue(self, client, client_user, client_entity):
        alpha = factories.GroupFactory(entity=client_entity, name="Alpha")
        beta = factories.GroupFactory(entity=client_entity, name="Beta")
        in_alpha = build_target(client_entity, group=alpha)
        in_beta = build_target(client_entity, group=beta, status=TargetStatus.FAILED)
        closed = build_target(client_entity, group=alpha, status=TargetStatus.CLOSED)
        client.force_login(client_user)

        def listed(query):
            return {
                row
                for row in (in_alpha, in_beta, closed)
                if row.target_comp_id in client.get(TARGETS + query).content.decode()
            }

        assert listed("") == {in_alpha, in_beta}  # closed ones only when asked
        assert listed(f"?group={alpha.pk}") == {in_alpha}
        assert listed(f"?group={alpha.pk}&status=all") == {in_alpha, closed}
        assert listed("?status=failed") == {in_beta}
        assert listed("?venue=CME") == {in_alpha, in_beta}
        assert listed("?venue=BTEC") == {in_alpha, in_beta}  # not a venue of the entity's targets: ignored

    def test_the_htmx_filter_answers_with_the_results_only(self, client, client_user, client_entity):
        build_target(client_entity)
        client.force_login(client_user)
        response = client.get(TARGETS, headers={"HX-Request": "true", "HX-Target": "targets-results"})
        page = response.content.decode()
        assert 'id="targets-results"' in page
        assert "<html" not in page

    def test_empty_state_says_what_to_do(self, client, client_user):
        client.force_login(client_user)
        page = client.get(TARGETS).content.decode()
        assert "no target session yet" in page
        assert reverse("portal:groups") in page

    def test_constant_queries_whatever_the_row_count(self, client, client_user, client_entity):
        group = factories.GroupFactory(entity=client_entity)
        check_all(build_target(client_entity, group=group))
        client.force_login(client_user)
        one = count_queries(client, TARGETS)
        for index in range(29):
            target = build_target(client_entity, group=factories.GroupFactory(entity=client_entity))
            if index % 2:
                check_all(target)
        assert count_queries(client, TARGETS) == one

    def test_other_roles_are_refused(self, client, clearing_user):
        client.force_login(clearing_user)
        assert client.get(TARGETS).status_code == 403


class TestConnectionSheet:
    def test_a_cgw_target_shows_every_address_with_its_latest_check(self, client, client_user, client_entity):
        target = build_target(client_entity)
        primary, backup = target.addresses.order_by("id")
        check(target, primary, outcome=CheckOutcome.FAILED, minutes_ago=60)
        check(target, primary, minutes_ago=5, rtt_ms=7.24, logon_ms=41.06)
        check(
            target,
            backup,
            outcome=CheckOutcome.FAILED,
            minutes_ago=3,
            stage=CheckStage.CONNECT,
            detail="Connection refused",
        )
        client.force_login(client_user)
        response = client.get(detail_url(target))
        page = response.content.decode()
        for address in (primary, backup):
            assert f"<code>{address.ip}</code>" in page
            assert address.target_sub_id in page
        assert "logged on in 41.1 ms" in page
        assert "7.2 ms round trip" in page
        assert "Failed at TCP connect" in page and "Connection refused" in page
        assert "Logout received" not in page  # an older check of the primary
        assert "Re-check now" in page

    def test_an_msgw_target_is_grouped_by_segment(self, client, client_user, client_entity):
        target = build_target(client_entity, gateway_type=GatewayType.MSGW)
        check_all(target)
        client.force_login(client_user)
        page = client.get(detail_url(target)).content.decode()
        assert page.count('data-testid="segment-row"') == MSGW_SEGMENTS
        assert page.count('data-testid="address"') == 2 * MSGW_SEGMENTS
        assert "38 segments, 76 addresses" in page
        assert "76 of 76 addresses checked" in page

    def test_constant_queries_one_address_pair_or_76(self, client, client_user, client_entity):
        client.force_login(client_user)
        small = build_target(client_entity, gateway_type=GatewayType.MSGW, segments=1)
        check_all(small)
        big = build_target(client_entity, gateway_type=GatewayType.MSGW)
        check_all(big)
        check_all(big, minutes_ago=100)
        assert count_queries(client, detail_url(small)) == count_queries(client, detail_url(big))

    def test_csv_has_a_row_per_address_matching_the_database(self, client, client_user, client_entity):
        target = build_target(client_entity, gateway_type=GatewayType.MSGW, segments=3)
        first = target.addresses.order_by("id").first()
        check(target, first, rtt_ms=3.0, logon_ms=25.0)
        client.force_login(client_user)
        response = client.get(reverse("portal:target-sheet-csv", args=[target.pk]))
        assert response["Content-Type"].startswith("text/csv")
        assert f"{target.target_comp_id}-connection-sheet.csv" in response["Content-Disposition"]
        rows = csv_rows(response)
        assert rows[0] == SHEET_HEADER
        stored = {
            (a.target_sub_id, a.get_role_display(), str(a.market_segment), a.ip, str(a.port))
            for a in TargetAddress.objects.filter(target=target)
        }
        assert {tuple(row[1:6]) for row in rows[1:]} == stored
        assert len(rows) == 1 + 6
        first_row = next(row for row in rows[1:] if row[4] == first.ip and row[3] == str(first.market_segment))
        assert first_row[0] == target.target_comp_id
        assert first_row[7:10] == ["OK", "25.0", "3.0"]

    def test_csv_cells_are_safe(self, client, client_user, client_entity):
        target = build_target(client_entity)
        check(target, target.addresses.first(), outcome=CheckOutcome.FAILED, detail="=HYPERLINK(1)")
        client.force_login(client_user)
        rows = csv_rows(client.get(reverse("portal:target-sheet-csv", args=[target.pk])))
        assert "'=HYPERLINK(1)" in [row[11] for row in rows[1:]]

    def test_printable_page_has_the_sheet_and_a_print_button(self, client, client_user, client_entity):
        target = build_target(client_entity)
        client.force_login(client_user)
        page = client.get(reverse("portal:target-sheet-print", args=[target.pk])).content.decode()
        assert "Connection sheet of" in page
        assert "data-print" in page and "portal/target_print.js" in page
        assert page.count('data-testid="address"') == 2

    def test_a_pending_target_explains_its_empty_sheet(self, client, client_user, client_entity):
        target = build_target(client_entity, status=TargetStatus.PENDING)
        target.addresses.all().delete()
        client.force_login(client_user)
        page = client.get(detail_url(target)).content.decode()
        assert "assigned when the target is provisioned" in page
        assert "Re-check now" not in page


class TestRecheck:
    def url(self, target):
        return reverse("portal:target-recheck", args=[target.pk])

    def test_requests_a_check(self, client, client_user, client_entity, django_capture_on_commit_callbacks):
        target = build_target(client_entity)
        client.force_login(client_user)
        response = client.post(self.url(target), follow=True)
        target.refresh_from_db()
        assert target.verification_requested_at is not None
        assert "Re-check of" in response.content.decode()
        assert "Re-check requested at" in response.content.decode()

    def test_htmx_answers_with_the_new_state(self, client, client_user, client_entity):
        target = build_target(client_entity)
        client.force_login(client_user)
        page = client.post(self.url(target), headers={"HX-Request": "true"}).content.decode()
        assert "Re-check requested at" in page and "<html" not in page

    def test_a_refusal_is_explained(self, client, client_user, client_entity):
        target = build_target(client_entity, status=TargetStatus.PENDING)
        client.force_login(client_user)
        page = client.post(self.url(target), headers={"HX-Request": "true"}).content.decode()
        assert "not provisioned yet" in page
        target.refresh_from_db()
        assert target.verification_requested_at is None


class TestIsolation:
    @pytest.mark.parametrize(
        "name, method",
        [
            ("portal:target-detail", "get"),
            ("portal:target-sheet-csv", "get"),
            ("portal:target-sheet-print", "get"),
            ("portal:target-recheck", "post"),
            ("portal:key-pair-generate", "post"),
        ],
    )
    def test_another_entitys_target_is_404(self, client, client_user, name, method):
        theirs = build_target(factories.EntityFactory(code="BETA"))
        client.force_login(client_user)
        assert getattr(client, method)(reverse(name, args=[theirs.pk])).status_code == 404
        theirs.refresh_from_db()
        assert theirs.verification_requested_at is None
        assert not theirs.key_pairs.exists()

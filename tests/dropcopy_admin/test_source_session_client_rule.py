"""A client administrator registers and imports source sessions only under its own entity's GFIDs,
where its entity may self-serve (R3a), with the GFID's clearing firm; account managers as before."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dropcopy_admin import errors
from dropcopy_admin.choices import Role
from dropcopy_admin.models import AuditEvent, SourceSession
from dropcopy_admin.services import source_sessions
from tests import factories

pytestmark = pytest.mark.django_db

HEADER = ",".join(source_sessions.IMPORT_HEADER)


def csv_bytes(*rows: str) -> bytes:
    return ("\n".join((HEADER, *rows)) + "\n").encode()


@pytest.fixture
def own_gfid(client_entity, clearing_firm):
    return factories.GfidFactory(code="ACM", entity=client_entity, clearing_firm=clearing_firm)


@pytest.fixture
def other_gfid():
    other = factories.EntityFactory(code="OTHER")
    return factories.GfidFactory(code="OTH", entity=other, clearing_firm=factories.ClearingFirmFactory(code="OF1"))


def create(actor, gfid, sender_comp_id, **fields):
    values = {
        "venue": gfid.venue,
        "environment": "PRODUCTION",
        "gateway_type": "MSGW",
        "gfid": gfid,
    }
    values.update(fields)
    return source_sessions.source_session_create(actor=actor, sender_comp_id=sender_comp_id, **values)


def test_client_registers_a_session_under_its_own_gfid_with_the_gfids_firm(client_user, own_gfid, clearing_firm):
    session = create(client_user, own_gfid, "S01ACMN")
    assert session.clearing_firm == clearing_firm
    assert AuditEvent.objects.filter(object_id=session.pk, action="create", actor_user=client_user).exists()


def test_client_may_not_register_under_another_entitys_gfid(client_user, other_gfid):
    with pytest.raises(errors.NotFound) as refused:
        create(client_user, other_gfid, "S01OTHN")
    assert refused.value.errors == {"gfid": ["GFID OTH is not one of ACME's CME GFIDs."]}
    assert not SourceSession.objects.exists()


def test_client_of_an_entity_without_self_service_may_not_register_cme_sessions(client_user, client_entity, own_gfid):
    client_entity.self_service = False
    client_entity.save()
    with pytest.raises(errors.PermissionDenied, match="not authorised for self-service on CME"):
        create(client_user, own_gfid, "S01ACMN")
    brokertec = factories.GfidFactory(code="BT001", venue=factories.venue("BROKERTEC"), entity=client_entity)
    assert create(client_user, brokertec, "X01BT0017").pk


def test_client_may_not_name_another_clearing_firm(client_user, own_gfid, clearing_firm):
    other_firm = factories.ClearingFirmFactory(code="OF2")
    with pytest.raises(errors.PermissionDenied) as refused:
        create(client_user, own_gfid, "S01ACMN", clearing_firm=other_firm)
    assert "guaranteed by CF1" in refused.value.errors["clearing_firm"][0]
    assert create(client_user, own_gfid, "S02ACMN", clearing_firm=clearing_firm).clearing_firm == clearing_firm


def test_account_manager_registers_under_any_gfid_with_any_firm(account_manager, other_gfid):
    other_firm = factories.ClearingFirmFactory(code="OF2")
    assert create(account_manager, other_gfid, "S01OTHN", clearing_firm=other_firm).clearing_firm == other_firm


@pytest.mark.parametrize("role", [Role.CLEARING_FIRM, Role.FINANCE])
def test_other_roles_never_register(role, own_gfid):
    user = factories.UserFactory(role=role)
    with pytest.raises(errors.PermissionDenied):
        create(user, own_gfid, "S01ACMN")
    with pytest.raises(errors.PermissionDenied):
        source_sessions.source_sessions_import(actor=user, data=csv_bytes("S02ACMN,CME,PRODUCTION,MSGW,,ACM,"))


def test_client_import_refuses_each_row_of_another_entitys_gfid_and_keeps_the_good_rows(
    client_user, own_gfid, other_gfid
):
    result = source_sessions.source_sessions_import(
        actor=client_user,
        data=csv_bytes(
            "S01ACMN,CME,PRODUCTION,MSGW,,ACM,",
            "S01OTHN,CME,PRODUCTION,MSGW,,OTH,",
            "S02ACMN,CME,PRODUCTION,CGW,CGW1,ACM,CF1",
            "S03ACMN,CME,PRODUCTION,MSGW,,ACM,OF1",
            "S04ZZZN,CME,PRODUCTION,MSGW,,ZZZ,",
        ),
    )
    assert result.created == 2
    assert [(e["line"], e["code"]) for e in result.errors] == [
        (3, "not_found"),
        (5, "permission_denied"),
        (6, "not_found"),
    ]
    # A missing GFID and another entity's read alike to a client.
    assert result.errors[0]["for_people"] == "GFID OTH is not one of ACME's CME GFIDs."
    assert result.errors[2]["for_people"] == "GFID ZZZ is not one of ACME's CME GFIDs."
    assert "guaranteed by CF1" in result.errors[1]["for_people"]
    assert set(SourceSession.objects.values_list("sender_comp_id", flat=True)) == {"S01ACMN", "S02ACMN"}


def test_client_import_refuses_cme_rows_without_self_service_per_line(client_user, client_entity, own_gfid):
    client_entity.self_service = False
    client_entity.save()
    factories.GfidFactory(code="EB1", venue=factories.venue("EBS"), entity=client_entity, clearing_firm=None)
    result = source_sessions.source_sessions_import(
        actor=client_user,
        data=csv_bytes("S01ACMN,CME,PRODUCTION,MSGW,,ACM,", "E01EB10,EBS,PRODUCTION,MSGW,,EB1,"),
    )
    assert result.created == 1
    (error,) = result.errors
    assert (error["line"], error["code"]) == (2, "permission_denied")
    assert "self-service" in error["for_people"]


def test_client_import_checks_ownership_without_a_query_per_row(client_user, own_gfid, other_gfid):
    """The ownership rule reads the GFIDs of the per-batch lookups: 200 rows cost what 2 do."""

    def queries_for(count: int) -> int:
        rows = [f"{n:03d}ACMN,CME,PRODUCTION,MSGW,,{'ACM' if n % 2 else 'OTH'}," for n in range(count)]
        rows = [row if n % 2 else row.replace("ACMN", "OTHN") for n, row in enumerate(rows)]
        with CaptureQueriesContext(connection) as captured:
            source_sessions.source_sessions_import(actor=client_user, data=csv_bytes(*rows))
        SourceSession.objects.all().delete()
        AuditEvent.objects.all().delete()
        return len(captured)

    assert queries_for(200) == queries_for(2)

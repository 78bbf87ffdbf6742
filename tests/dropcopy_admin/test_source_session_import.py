"""source-sessions/import/: a CSV file of sessions; good rows stored, bad rows reported by line."""

import tracemalloc

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from dropcopy_admin.models import AuditEvent, SourceSession
from dropcopy_admin.services import source_sessions
from tests import factories
from tests.support import assert_error

URL = "/api/v1/source-sessions/import/"
HEADER = "sender_comp_id,venue,environment,gateway_type,cgw_gateway,gfid,clearing_firm"


# Every test here touches the database, some only through request.getfixturevalue(); marking the
# module keeps pytest-django from ordering those after the transactional tests (which flush the
# migrations' reference data).
pytestmark = pytest.mark.django_db


def upload(api, content: str | bytes, *, name: str = "sessions.csv"):
    data = content.encode() if isinstance(content, str) else content
    return api.post(URL, {"file": SimpleUploadedFile(name, data, content_type="text/csv")}, format="multipart")


def csv_text(*rows: str, header: str = HEADER) -> str:
    return "\n".join((header, *rows)) + "\n"


def imported(response) -> dict:
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"created", "bad_rows", "errors"}
    assert body["bad_rows"] >= len(body["errors"])
    for item in body["errors"]:
        assert set(item) == {"line", "code", "detail"} and item["detail"]
    return body


def codes_by_line(body) -> dict[int, str]:
    return {item["line"]: item["code"] for item in body["errors"]}


@pytest.fixture
def gfids(client_entity, clearing_firm):
    """CME ACM (firm CF1), BrokerTec BT001 and EBS EB1 (no firm)."""
    return {
        "CME": factories.GfidFactory(code="ACM", entity=client_entity, clearing_firm=clearing_firm),
        "BROKERTEC": factories.GfidFactory(
            code="BT001", venue=factories.venue("BROKERTEC"), entity=client_entity, clearing_firm=None
        ),
        "EBS": factories.GfidFactory(
            code="EB1", venue=factories.venue("EBS"), entity=client_entity, clearing_firm=None
        ),
    }


def test_good_rows_are_stored_with_the_gfids_clearing_firm_by_default(am_api, gfids, clearing_firm):
    other_firm = factories.ClearingFirmFactory(code="OF1")
    body = imported(
        upload(
            am_api,
            csv_text(
                "S01ACMN,CME,PRODUCTION,CGW,CGW1,ACM,",
                "S02ACMN,CME,PRODUCTION,MSGW,,ACM,OF1",
                "X01BT0017,BROKERTEC,CERT,MSGW,,BT001,",
                "E01EB10,EBS,NEW_RELEASE,CGW,CGW2,EB1,",
                "E02EB10,EBS,PRODUCTION,MSGW,,EB1,",
            ),
        )
    )
    assert body == {"created": 5, "bad_rows": 0, "errors": []}
    stored = {s.sender_comp_id: s for s in SourceSession.objects.select_related("cgw_gateway")}
    assert set(stored) == {"S01ACMN", "S02ACMN", "X01BT0017", "E01EB10", "E02EB10"}
    assert stored["S01ACMN"].clearing_firm == clearing_firm
    assert stored["S01ACMN"].cgw_gateway == factories.cgw_gateway("CME", "PRODUCTION", "CGW1")
    assert stored["S02ACMN"].clearing_firm == other_firm
    assert stored["S02ACMN"].cgw_gateway is None
    assert stored["X01BT0017"].clearing_firm is None
    assert stored["E01EB10"].cgw_gateway == factories.cgw_gateway("EBS", "NEW_RELEASE", "CGW2")
    assert stored["E01EB10"].gfid == gfids["EBS"]


def test_imported_rows_are_audited(am_api, gfids):
    upload(am_api, csv_text("S01ACMN,CME,PRODUCTION,CGW,CGW1,ACM,", "S02ACMN,CME,CERT,MSGW,,ACM,"))
    events = AuditEvent.objects.filter(object_type="sourcesession").order_by("object_id")
    sessions = SourceSession.objects.order_by("id")
    assert [e.object_id for e in events] == [s.id for s in sessions]
    for event in events:
        assert (event.action, event.actor, event.actor_user.username, event.before) == ("import", "am", "am", None)
    assert [e.after["sender_comp_id"] for e in events] == ["S01ACMN", "S02ACMN"]


def test_every_bad_row_is_reported_by_its_line_with_its_code(am_api, gfids):
    factories.SourceSessionFactory(gfid=gfids["CME"], sender_comp_id="S09ACMN")
    body = imported(
        upload(
            am_api,
            csv_text(
                "S01ACMN,CME,PRODUCTION,CGW,CGW1,ACM,",  # 2 good
                "S02ACMN,EBS_DIRECT,PRODUCTION,CGW,CGW1,ACM,",  # 3
                "X01BT0017,BROKERTEC,PRODUCTION,CGW,CGW1,BT001,",  # 4
                "S03XXXN,CME,PRODUCTION,CGW,CGW1,ACM,",  # 5 embeds another GFID
                "S04ACM,CME,PRODUCTION,CGW,CGW1,ACM,",  # 6 too short
                "S09ACMN,CME,PRODUCTION,MSGW,,ACM,",  # 7 taken
                "S01ACMN,CME,PRODUCTION,MSGW,,ACM,",  # 8 taken earlier in the file
                "S05ZZZN,CME,PRODUCTION,MSGW,,ZZZ,",  # 9 unknown GFID
                "S06ACMN,CME,PRODUCTION,CGW,CGW9,ACM,",  # 10 unknown gateway
                "S07ACMN,CME,PRODUCTION,MSGW,,ACM,ZZZ",  # 11 unknown firm
                "S08ACMN,CME,PRODUCTION,MSGW,,ACM",  # 12 a column short
                "S08ACMN,CME,PRODUCTION,MSGW,,ACM,,extra",  # 13 a column too many
                "S10ACMN,CME,PROD,MSGW,,ACM,",  # 14 unknown environment
                "S11ACMN,CME,PRODUCTION,FIX,,ACM,",  # 15 unknown gateway type
                "S12ACMN,CME,PRODUCTION,CGW,,ACM,",  # 16 CGW without gateway
                "S13ACMN,CME,PRODUCTION,MSGW,CGW1,ACM,",  # 17 MSGW with gateway
                "S09ACMN,CME,CERT,MSGW,,ACM,",  # 18 good: same SenderCompID, other environment
            ),
        )
    )
    assert body["created"] == 2
    assert codes_by_line(body) == {
        3: "venue_not_supported",
        4: "gateway_type_not_supported",
        5: "sender_comp_id_mismatch",
        6: "sender_comp_id_mismatch",
        7: "already_exists",
        8: "already_exists",
        9: "invalid",
        10: "invalid",
        11: "invalid",
        12: "invalid",
        13: "invalid",
        14: "invalid",
        15: "invalid",
        16: "invalid",
        17: "invalid",
    }
    assert [e["line"] for e in body["errors"]] == sorted(codes_by_line(body))
    assert set(SourceSession.objects.values_list("sender_comp_id", "environment")) == {
        ("S09ACMN", "PRODUCTION"),
        ("S01ACMN", "PRODUCTION"),
        ("S09ACMN", "CERT"),
    }


@pytest.mark.parametrize("venue", ["EBS_DIRECT", "ICE", "cme", "", "5"])
def test_unsupported_venue_in_a_row_comes_before_its_other_faults(am_api, gfids, venue):
    body = imported(upload(am_api, csv_text(f"bad,{venue},MARS,FAX,NOPE,???,???")))
    assert body["created"] == 0
    assert codes_by_line(body) == {2: "venue_not_supported"}


def test_brokertec_cgw_row_is_gateway_type_not_supported_before_its_gateway(am_api, gfids):
    body = imported(upload(am_api, csv_text("bad,BROKERTEC,PRODUCTION,CGW,NOPE,BT001,")))
    assert codes_by_line(body) == {2: "gateway_type_not_supported"}


def test_cme_row_without_any_clearing_firm_is_invalid(am_api, client_entity):
    factories.GfidFactory(code="NOF", entity=client_entity, clearing_firm=None)
    body = imported(upload(am_api, csv_text("S01NOFN,CME,PRODUCTION,MSGW,,NOF,")))
    assert codes_by_line(body) == {2: "invalid"}
    assert "clearing firm" in body["errors"][0]["detail"]


def test_gfid_of_another_venue_is_an_unknown_gfid(am_api, gfids):
    body = imported(upload(am_api, csv_text("S01EB1N,CME,PRODUCTION,MSGW,,EB1,CF1")))
    assert codes_by_line(body) == {2: "invalid"}


def test_rows_missing_required_values_are_invalid(am_api, gfids):
    body = imported(
        upload(
            am_api, csv_text(",CME,PRODUCTION,MSGW,,ACM,", "S01ACMN,CME,,MSGW,,ACM,", "S01ACMN,CME,PRODUCTION,MSGW,,,")
        )
    )
    assert codes_by_line(body) == {2: "invalid", 3: "invalid", 4: "invalid"}


def test_blank_lines_are_skipped_but_counted(am_api, gfids):
    body = imported(upload(am_api, HEADER + "\n\nS01ACMN,CME,PRODUCTION,MSGW,,ACM,\n\n,,,,,,\nbad,ICE,,,,,\n"))
    assert body["created"] == 1
    assert codes_by_line(body) == {6: "venue_not_supported"}


def test_cells_are_trimmed_and_header_case_and_bom_are_tolerated(am_api, gfids):
    content = "\ufeff" + HEADER.upper() + "\r\n S01ACMN , CME ,PRODUCTION, MSGW ,, ACM , \r\n"
    body = imported(upload(am_api, content))
    assert body == {"created": 1, "bad_rows": 0, "errors": []}
    assert SourceSession.objects.get().sender_comp_id == "S01ACMN"


def test_quoted_cells_are_read_as_csv(am_api, gfids):
    body = imported(upload(am_api, csv_text('"S01ACMN","CME","PRODUCTION","MSGW","","ACM",""')))
    assert body == {"created": 1, "bad_rows": 0, "errors": []}


def test_header_only_file_creates_nothing(am_api):
    assert imported(upload(am_api, csv_text())) == {"created": 0, "bad_rows": 0, "errors": []}


def test_nul_bytes_in_a_row_are_reported_not_a_server_error(am_api, gfids):
    body = imported(
        upload(
            am_api,
            csv_text(
                "S01\x00CMN,CME,PRODUCTION,MSGW,,ACM,",
                "S02ACMN,CME,PRODUCTION,MSGW,,A\x00M,",
                "S03ACMN,CME,PRODUCTION,MSGW,,ACM,C\x001",
            ),
        )
    )
    assert body["created"] == 0
    assert codes_by_line(body) == {2: "sender_comp_id_mismatch", 3: "invalid", 4: "invalid"}


def test_over_long_cells_are_reported(am_api, gfids):
    long = "A" * 5000
    body = imported(
        upload(am_api, csv_text(f"{long},CME,PRODUCTION,MSGW,,ACM,", f"S01ACMN,CME,PRODUCTION,MSGW,,{long},"))
    )
    assert codes_by_line(body) == {2: "sender_comp_id_mismatch", 3: "invalid"}


@pytest.mark.parametrize(
    "header",
    [
        "sender_comp_id,venue,environment,gateway_type,cgw_gateway,gfid",
        "venue,sender_comp_id,environment,gateway_type,cgw_gateway,gfid,clearing_firm",
        HEADER + ",extra",
        "S01ACMN,CME,PRODUCTION,MSGW,,ACM,",
    ],
)
def test_bad_header_is_invalid_and_stores_nothing(am_api, gfids, header):
    body = assert_error(upload(am_api, csv_text("S01ACMN,CME,PRODUCTION,MSGW,,ACM,", header=header)), 400, "invalid")
    assert body["errors"]["file"]
    assert not SourceSession.objects.exists()


def test_non_utf8_file_is_invalid(am_api, gfids):
    content = csv_text("S01ACMN,CME,PRODUCTION,MSGW,,ACM,Clé").encode("latin-1")
    body = assert_error(upload(am_api, content), 400, "invalid")
    assert body["errors"]["file"]
    assert not SourceSession.objects.exists()


def test_binary_file_is_invalid(am_api):
    body = assert_error(upload(am_api, b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe"), 400, "invalid")
    assert body["errors"]["file"]


def test_empty_file_is_invalid(am_api):
    body = assert_error(upload(am_api, b""), 400, "invalid")
    assert body["errors"]["file"]


def test_request_without_a_file_is_invalid(am_api):
    body = assert_error(am_api.post(URL, {"other": "x"}, format="multipart"), 400, "invalid")
    assert body["errors"]["file"]


def test_file_field_that_is_not_a_file_is_invalid(am_api):
    body = assert_error(am_api.post(URL, {"file": HEADER}, format="multipart"), 400, "invalid")
    assert body["errors"]["file"]


def test_file_over_the_size_limit_is_invalid(am_api, gfids, settings):
    settings.DROPCOPY = {**settings.DROPCOPY, "SOURCE_SESSION_IMPORT_MAX_BYTES": 100}
    body = assert_error(upload(am_api, csv_text(*["S01ACMN,CME,PRODUCTION,MSGW,,ACM,"] * 5)), 400, "invalid")
    assert body["errors"]["file"]
    assert not SourceSession.objects.exists()


def test_json_body_is_unsupported_media_type(am_api):
    assert_error(am_api.post(URL, {"file": HEADER}, format="json"), 415, "unsupported_media_type")
    assert_error(am_api.post(URL, data="{bad", content_type="application/json"), 415, "unsupported_media_type")


def test_raw_csv_body_is_unsupported_media_type(am_api):
    assert_error(am_api.post(URL, data=csv_text(), content_type="text/csv"), 415, "unsupported_media_type")


def test_import_offers_only_post(am_api):
    assert_error(am_api.get(URL), 405, "method_not_allowed")


def test_unauthenticated_import_is_refused(db):
    assert_error(upload(APIClient(), csv_text()), 401, "not_authenticated")


def test_importing_the_same_file_twice_reports_every_row_as_taken(am_api, gfids):
    content = csv_text("S01ACMN,CME,PRODUCTION,MSGW,,ACM,", "X01BT0017,BROKERTEC,CERT,MSGW,,BT001,")
    assert imported(upload(am_api, content))["created"] == 2
    again = imported(upload(am_api, content))
    assert again["created"] == 0
    assert codes_by_line(again) == {2: "already_exists", 3: "already_exists"}
    assert SourceSession.objects.count() == 2


def test_large_import_stores_every_row(am_api, gfids):
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    session_ids = [a + b + c for a in digits for b in digits for c in digits][:1500]
    rows = [f"{sid}ACMN,CME,PRODUCTION,MSGW,,ACM," for sid in session_ids]
    body = imported(upload(am_api, csv_text(*rows)))
    assert body == {"created": 1500, "bad_rows": 0, "errors": []}
    assert SourceSession.objects.count() == 1500
    assert AuditEvent.objects.filter(object_type="sourcesession", action="import").count() == 1500


# --- bounded answers: a file of bad rows (issue 13) ------------------------------------------


def bad_rows(count: int) -> list[str]:
    """``count`` bad rows of three kinds, each with its own values (no lookup is answered twice)."""
    kinds = (
        lambda i: f"S{i:06d}N,ICE,PRODUCTION,MSGW,,ACM,",  # venue_not_supported
        lambda i: f"S{i % 100:02d}ACMN,CME,PRODUCTION,MSGW,,{i:07d},",  # invalid: no such GFID
        lambda i: f"Z{i:09d}ACM,CME,PRODUCTION,MSGW,,ACM,",  # sender_comp_id_mismatch: too long
    )
    return [kinds[i % 3](i) for i in range(count)]


def test_a_file_of_bad_rows_lists_the_first_hundred_counts_them_all_and_answers_small(am_api, gfids, settings):
    rows = ["S01ACMN,CME,PRODUCTION,MSGW,,ACM,", *bad_rows(300_000), "E01EB10,EBS,PRODUCTION,MSGW,,EB1,"]
    content = csv_text(*rows).encode()
    assert len(content) <= settings.DROPCOPY["SOURCE_SESSION_IMPORT_MAX_BYTES"]
    response = upload(am_api, content)
    body = imported(response)
    assert body["created"] == 2
    assert body["bad_rows"] == 300_000
    assert len(body["errors"]) == source_sessions.IMPORT_ERRORS_LISTED == 100
    assert [item["line"] for item in body["errors"]] == list(range(3, 103))
    assert [item["code"] for item in body["errors"][:3]] == [
        "venue_not_supported",
        "invalid",
        "sender_comp_id_mismatch",
    ]
    assert len(response.content) < 20_000
    assert set(SourceSession.objects.values_list("sender_comp_id", flat=True)) == {"S01ACMN", "E01EB10"}


def test_reading_a_file_of_bad_rows_holds_no_error_for_each_row(account_manager, gfids):
    """The service itself, its memory traced: what it holds is bounded by the listed errors and a
    batch of rows, not by the file (about 1 MB here; its rows alone, held at once, would take
    several times that)."""
    content = csv_text(*bad_rows(30_000)).encode()
    tracemalloc.start()
    try:
        result = source_sessions.source_sessions_import(actor=account_manager, data=content)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (result.created, result.bad_rows, len(result.errors)) == (0, 30_000, 100)
    assert peak < 4 * 1024 * 1024


def test_a_listed_detail_quoting_a_long_cell_is_cut_short(am_api, gfids):
    long_code = "G" * 100_000
    body = imported(upload(am_api, csv_text(f"S01ACMN,CME,PRODUCTION,MSGW,,{long_code},")))
    (error,) = body["errors"]
    assert error["code"] == "invalid"
    assert len(error["detail"]) == source_sessions.IMPORT_DETAIL_MAX_CHARACTERS
    assert error["detail"].startswith("gfid: No CME GFID 'GGG") and error["detail"].endswith("…")


def test_rows_are_checked_against_each_other_and_the_stored_gfids_across_batches(am_api, client_entity, gfids):
    """A GFID code on two venues, and a SenderCompID taken many batches earlier in the same file."""
    factories.GfidFactory(code="ACM", venue=factories.venue("EBS"), entity=client_entity, clearing_firm=None)
    filler = bad_rows(3 * source_sessions.IMPORT_BATCH_ROWS)
    rows = [
        "S01ACMN,CME,PRODUCTION,MSGW,,ACM,",
        *filler,
        "E01ACM0,EBS,PRODUCTION,MSGW,,ACM,",  # the EBS GFID of the same code, batches later
        "S01ACMN,CME,PRODUCTION,CGW,CGW1,ACM,",  # taken by the first row
        "S01ACMN,CME,CERT,MSGW,,ACM,",  # another environment
    ]
    body = imported(upload(am_api, csv_text(*rows)))
    last_line = len(rows) + 1
    assert body["created"] == 3
    assert body["bad_rows"] == len(filler) + 1
    assert SourceSession.objects.get(sender_comp_id="E01ACM0").gfid.venue_id == "EBS"
    assert set(SourceSession.objects.values_list("sender_comp_id", "environment")) == {
        ("S01ACMN", "PRODUCTION"),
        ("E01ACM0", "PRODUCTION"),
        ("S01ACMN", "CERT"),
    }
    listed = {item["line"] for item in body["errors"]}
    assert last_line - 1 not in listed  # only the first hundred are listed
    again = imported(upload(am_api, csv_text("S02ACMN,CME,PRODUCTION,MSGW,,ACM,", *rows[-3:])))
    assert again["created"] == 1
    assert codes_by_line(again) == {3: "already_exists", 4: "already_exists", 5: "already_exists"}


def test_a_fault_of_encoding_deep_in_a_large_file_refuses_it_whole(am_api, gfids):
    rows = ["S01ACMN,CME,PRODUCTION,MSGW,,ACM,", *bad_rows(50_000)]
    content = csv_text(*rows).encode() + "S02ACMN,CME,PRODUCTION,MSGW,,ACM,Clé\n".encode("latin-1")
    body = assert_error(upload(am_api, content), 400, "invalid")
    assert body["errors"]["file"]
    assert not SourceSession.objects.exists()

"""The CSV imports of the session pages: sessions (good rows kept, every bad line in words, the bad
lines downloadable) and SenderCompIDs into a group (approved at once or waiting for a firm);
bad files refused in words, never a 500; another entity's GFIDs, sessions and groups out of reach."""

import base64
import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from dropcopy_admin.choices import GroupStatus, MembershipStatus
from dropcopy_admin.models import Membership, SourceSession
from dropcopy_admin.services.source_sessions import IMPORT_HEADER
from tests import factories

IMPORT = reverse("portal:sessions-import")
HEADER = ",".join(IMPORT_HEADER)


@pytest.fixture
def gfid(client_entity, clearing_firm):
    return factories.GfidFactory(code="ACM", entity=client_entity, clearing_firm=clearing_firm)


@pytest.fixture
def other_gfid(db):
    other = factories.EntityFactory(code="OTHER", name="Other Trading")
    return factories.GfidFactory(code="OTH", entity=other)


@pytest.fixture
def logged_in(client, client_user):
    client.force_login(client_user)
    return client


def upload(client, url, content: str | bytes, *, htmx=False, name="sessions.csv"):
    data = content.encode() if isinstance(content, str) else content
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(url, {"file": SimpleUploadedFile(name, data, content_type="text/csv")}, **headers)


def lines(*rows: str, header: str = HEADER) -> str:
    return "\n".join((header, *rows)) + "\n"


def data_url_rows(url: str) -> list[list[str]]:
    prefix = "data:text/csv;charset=utf-8;base64,"
    assert url.startswith(prefix)
    return list(csv.reader(io.StringIO(base64.b64decode(url[len(prefix) :]).decode())))


# --- sessions --------------------------------------------------------------------------------


def test_import_page_shows_the_header_and_the_template(logged_in):
    body = logged_in.get(IMPORT).content.decode()
    assert HEADER in body and reverse("portal:sessions-import-template") in body
    assert 'hx-encoding="multipart/form-data"' in body and 'enctype="multipart/form-data"' in body
    assert "portal/upload.js" in body and "<progress" in body
    template = logged_in.get(reverse("portal:sessions-import-template"))
    assert template["Content-Type"].startswith("text/csv")
    assert template.content.decode() == HEADER + "\r\n"


def test_import_keeps_the_good_rows_and_reports_every_bad_line_in_words(logged_in, gfid, other_gfid):
    response = upload(
        logged_in,
        IMPORT,
        lines(
            "S01ACMN,CME,PRODUCTION,CGW,CGW1,ACM,",
            "S02XYZN,CME,PRODUCTION,MSGW,,ACM,",
            "S03ACMN,CME,PRODUCTION,MSGW,,ACM,",
            "S01OTHN,CME,PRODUCTION,MSGW,,OTH,",
        ),
    )
    assert response.status_code == 200
    assert set(SourceSession.objects.values_list("sender_comp_id", flat=True)) == {"S01ACMN", "S03ACMN"}
    body = response.content.decode()
    assert "2 sessions registered." in body and "2 lines could not be imported" in body
    assert "<html" in body  # without htmx, the whole page
    bad = response.context["bad_lines"]
    assert [(b.line, b.sender_comp_id) for b in bad] == [(3, "S02XYZN"), (5, "S01OTHN")]
    assert "embeds GFID XYZ, not the session's GFID ACM" in bad[0].problem
    assert bad[1].problem == "GFID OTH is not one of ACME's CME GFIDs."
    for code in ("sender_comp_id_mismatch", "not_found", "gfid:"):
        assert code not in body
    rows = data_url_rows(response.context["bad_lines_url"])
    assert rows[0] == ["line", "problem", *IMPORT_HEADER]
    assert rows[1][:3] == ["3", bad[0].problem, "S02XYZN"] and rows[1][3:] == [
        "CME",
        "PRODUCTION",
        "MSGW",
        "",
        "ACM",
        "",
    ]
    assert rows[2][0] == "5" and rows[2][2] == "S01OTHN"


def test_htmx_upload_answers_the_component_alone(logged_in, gfid):
    response = upload(logged_in, IMPORT, lines("S01ACMN,CME,PRODUCTION,MSGW,,ACM,"), htmx=True)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="upload"') and "<html" not in body
    assert "1 session registered." in body and "Every line was imported." in body


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "The file is empty"),
        (b"sender,venue\nS01ACMN,CME\n", "The header must be: " + HEADER),
        (b"\xff\xfe\x00bad", "The file is not UTF-8 text."),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_bad_files_are_refused_in_words_beside_the_file(logged_in, gfid, content, words, htmx):
    response = upload(logged_in, IMPORT, content, htmx=htmx)
    assert response.status_code == (200 if htmx else 400)
    assert any(words in message for message in response.context["form"].errors["file"])
    assert 'data-testid="file-errors"' in response.content.decode()
    assert not SourceSession.objects.exists()


def test_a_file_too_big_is_refused_with_the_limit(logged_in, gfid, settings):
    settings.DROPCOPY = {**settings.DROPCOPY, "SOURCE_SESSION_IMPORT_MAX_BYTES": 64}
    response = upload(logged_in, IMPORT, lines(*["S01ACMN,CME,PRODUCTION,MSGW,,ACM,"] * 5))
    assert response.status_code == 400
    (message,) = response.context["form"].errors["file"]
    assert "the import accepts at most 64 bytes" in message


def test_no_file_chosen_says_so(logged_in):
    response = logged_in.post(IMPORT, {})
    assert response.context["form"].errors["file"] == ["Choose a CSV file to upload."]


def test_only_the_first_bad_lines_are_listed_and_all_are_counted(logged_in, gfid):
    response = upload(logged_in, IMPORT, lines(*[f"S{n:02d}XYZN,CME,PRODUCTION,MSGW,,ACM," for n in range(105)]))
    assert len(response.context["bad_lines"]) == 100
    assert "105 lines could not be imported; the first 100 are listed below" in response.content.decode()


# --- SenderCompIDs into a group --------------------------------------------------------------


@pytest.fixture
def group(client_entity):
    return factories.GroupFactory(entity=client_entity, name="Alpha CME Production")


def group_url(group) -> str:
    return reverse("portal:group-sessions-import", args=[group.pk])


def test_group_import_requests_each_line_and_reports_the_bad_ones(logged_in, group, gfid, client_entity, other_gfid):
    pending = factories.SourceSessionFactory(gfid=gfid, sender_comp_id="S01ACMN")
    controlled_gfid = factories.GfidFactory(code="ACC", entity=client_entity, admin_control=True)
    approved = factories.SourceSessionFactory(gfid=controlled_gfid, sender_comp_id="S01ACCN")
    factories.SourceSessionFactory(gfid=other_gfid, sender_comp_id="S01OTHN")
    factories.SourceSessionFactory(gfid=gfid, sender_comp_id="S02ACMN", environment="CERT")
    content = "note,sender_comp_id\nfirst,s01acmn\nsecond,S01ACCN\nthird,S01OTHN\nfourth,\nfifth,S02ACMN\n"
    response = upload(logged_in, group_url(group), content)
    assert response.status_code == 200
    memberships = {m.source_session_id: m.status for m in Membership.objects.filter(group=group)}
    assert memberships == {pending.pk: MembershipStatus.PENDING, approved.pk: MembershipStatus.APPROVED}
    result = response.context["result"]
    assert result.approved == ["S01ACCN"]
    assert result.pending == {f"{gfid.clearing_firm.name} (CF1)": ["S01ACMN"]}
    assert [(b.line, b.sender_comp_id) for b in result.bad_lines] == [(4, "S01OTHN"), (5, ""), (6, "S02ACMN")]
    problems = [b.problem for b in result.bad_lines]
    assert problems[0].startswith("No session S01OTHN among your entity's sessions")
    assert problems[1] == "This line has no SenderCompID."
    assert problems[2] == "Session S02ACMN is in CERT; the group is in PRODUCTION."
    body = response.content.decode()
    assert "<strong>1</strong> session approved automatically." in body
    assert "waits for the decision of First Clearing (CF1)" in body
    assert "environment_mismatch" not in body
    rows = data_url_rows(response.context["bad_lines_url"])
    assert rows == [
        ["line", "problem", "sender_comp_id"],
        ["4", problems[0], "S01OTHN"],
        ["5", problems[1], ""],
        ["6", problems[2], "S02ACMN"],
    ]


def test_group_import_twice_reports_the_duplicates(logged_in, group, gfid):
    factories.SourceSessionFactory(gfid=gfid, sender_comp_id="S01ACMN")
    upload(logged_in, group_url(group), "sender_comp_id\nS01ACMN\n")
    response = upload(logged_in, group_url(group), "sender_comp_id\nS01ACMN\n", htmx=True)
    (bad,) = response.context["result"].bad_lines
    assert bad.problem == "Session S01ACMN already has a pending or approved membership in this group."
    assert Membership.objects.count() == 1


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "The file is empty"),
        (b"session\nS01ACMN\n", "The first line must be a header naming a sender_comp_id column."),
        (b"sender_comp_id\n\n", "The file has a header but no SenderCompID below it."),
        (b"sender_comp_id\n\xff\xfe", "The file is not UTF-8 text"),
    ],
)
def test_group_import_bad_files_are_refused_in_words(logged_in, group, content, words):
    response = upload(logged_in, group_url(group), content)
    assert response.status_code == 400
    assert any(words in message for message in response.context["form"].errors["file"])
    assert not Membership.objects.exists()


def test_group_import_into_a_closed_group_says_so(logged_in, group, gfid):
    factories.SourceSessionFactory(gfid=gfid, sender_comp_id="S01ACMN")
    group.status, group.closed_at = GroupStatus.CLOSED, group.opened_at
    group.save()
    response = upload(logged_in, group_url(group), "sender_comp_id\nS01ACMN\n")
    assert response.status_code == 400
    assert "This group is closed; no session can be added." in response.content.decode()


def test_another_entitys_group_is_not_found(logged_in, other_gfid):
    their_group = factories.GroupFactory(entity=other_gfid.entity)
    assert logged_in.get(group_url(their_group)).status_code == 404
    assert upload(logged_in, group_url(their_group), "sender_comp_id\nS01OTHN\n").status_code == 404
    assert not Membership.objects.exists()


def test_group_import_page_links_back_to_the_group(logged_in, group):
    body = logged_in.get(group_url(group)).content.decode()
    assert "Alpha CME Production" in body and "sender_comp_id" in body
    assert 'data-testid="back-to-group"' in body

"""Message builders, the Message view, envelopes and resends."""

import dataclasses
import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from dropcopy_admin.fix import messages as m
from dropcopy_admin.fix import tags
from dropcopy_admin.fix.framing import FrameReader, check_frame, checksum, parse_fields
from dropcopy_admin.fix.messages import encoding, execution
from dropcopy_admin.fix.signature import verify_logon_signature
from dropcopy_admin.fix.tags import MsgType

SECRET = "2HlZ7exg8jTKltXnURjKvm3GS5iF5n4ClzHiEm_ocv4"
ACCESS_KEY_ID = "oNDxM33uE81ohWuVRtWT"
T0 = dt.datetime(2017, 6, 23, 14, 48, 42, 855000, tzinfo=dt.UTC)
CLIENT = m.SessionHeader(
    sender_comp_id="B08004N",
    sender_sub_id="MSG",
    target_comp_id="CME",
    target_sub_id="92",
    seq_num=1,
    sending_time=T0,
    sender_location_id="US,NY",
    last_msg_seq_num_processed=0,
)
GATEWAY = m.SessionHeader(
    sender_comp_id="CME", sender_sub_id="G", target_comp_id="B08004N", target_sub_id="G", seq_num=7, sending_time=T0
)


def client_logon(**overrides):
    kwargs = {
        "heartbeat_interval": 60,
        "access_key_id": ACCESS_KEY_ID,
        "secret_key": SECRET,
        "application_system_name": "BRIO",
        "trading_system_version": "8.0",
        "application_system_vendor": "ABC",
    } | overrides
    return m.build_logon(CLIENT, **kwargs)


def fill_report(kind=m.ExecKind.FILL, **overrides):
    values = {
        "kind": kind,
        "order_id": "ORD1",
        "cl_ord_id": "CL1",
        "exec_id": "EX1",
        "account": "ACCT1",
        "symbol": "ES",
        "security_desc": "ESZ5",
        "security_id": "12345",
        "side": "1",
        "order_qty": 10,
        "price": Decimal("5012.25"),
        "transact_time": T0,
        "trade_date": dt.date(2017, 6, 23),
        "last_qty": 10,
        "last_px": Decimal("5012.25"),
        "cum_qty": 10,
        "avg_px": Decimal("5012.25"),
    } | overrides
    return m.ExecutionReport(**values)


def every_builder():
    inner = m.build_execution_report(GATEWAY, fill_report())
    return {
        "logon": client_logon(reset_seq_num=True),
        "logon_response": m.build_logon_response(
            GATEWAY,
            heartbeat_interval=60,
            reset_seq_num=False,
            application_system_name="BRIO",
            trading_system_version="8.0",
            application_system_vendor="ABC",
        ),
        "heartbeat": m.build_heartbeat(GATEWAY),
        "heartbeat_answer": m.build_heartbeat(GATEWAY, test_req_id="T1"),
        "test_request": m.build_test_request(GATEWAY, test_req_id="T1"),
        "resend_request": m.build_resend_request(GATEWAY, begin_seq_no=3, end_seq_no=0),
        "reject": m.build_reject(
            GATEWAY, ref_seq_num=5, ref_msg_type="2", session_reject_reason=5, text="resend too large"
        ),
        "business_reject": m.build_business_message_reject(
            GATEWAY, ref_seq_num=5, ref_msg_type="D", business_reject_reason=3, text="drop copy is read-only"
        ),
        "gap_fill": m.build_sequence_reset_gap_fill(GATEWAY, new_seq_no=12),
        "gap_fill_resend": m.build_sequence_reset_gap_fill(GATEWAY, new_seq_no=12, resend=True),
        "logout": m.build_logout(GATEWAY, text="bye", next_expected_msg_seq_num=9),
        "execution_report": inner,
        "envelope": m.build_drop_copy_envelope(GATEWAY, inner=inner),
    }


BUILT = every_builder()


@pytest.mark.parametrize("name", sorted(BUILT))
def test_every_builder_round_trips_through_the_frame_reader_and_parser(name):
    raw = BUILT[name]
    assert FrameReader().feed(raw) == [raw]
    assert check_frame(raw) is None
    fields = parse_fields(raw)
    assert fields[0] == (8, b"FIX.4.2")
    assert fields[1] == (9, str(len(raw) - raw.index(b"35=") - 7).encode())
    assert fields[-1] == (10, f"{checksum(raw[:-7]):03d}".encode())
    message = m.Message.parse(raw)
    assert message.raw == raw
    assert message.sending_time == T0
    assert message.seq_num in (1, 7)


def test_header_fields_are_encoded():
    message = m.Message.parse(BUILT["heartbeat"])
    assert message.msg_type == MsgType.HEARTBEAT
    assert message.get(tags.SENDER_COMP_ID) == b"CME"
    assert message.get(tags.SENDER_SUB_ID) == b"G"
    assert message.get(tags.TARGET_COMP_ID) == b"B08004N"
    assert message.get(tags.TARGET_SUB_ID) == b"G"
    assert message.get(tags.SENDING_TIME) == b"20170623-14:48:42.855"
    assert tags.TEST_REQ_ID not in message
    assert tags.LAST_MSG_SEQ_NUM_PROCESSED not in message


def test_client_logon_is_signed_over_what_it_carries():
    message = m.Message.parse(client_logon())
    assert message.msg_type == MsgType.LOGON
    assert message.get(tags.ENCRYPTED_PASSWORD_METHOD) == b"CME-1-SHA-256"
    assert message.get_int(tags.ENCRYPTED_PASSWORD_LEN) == 43
    assert message.get(tags.ENCRYPTED_PASSWORD) == b"oHZ2Dx1ihFAp7kHOFcJPkijm27xfApJFp-ZhsSCxr3s"
    assert message.get_int(tags.ENCODED_TEXT_LEN) == 20
    assert message.get(tags.ENCODED_TEXT) == ACCESS_KEY_ID.encode()
    assert message.get_int(tags.HEART_BT_INT) == 60
    assert message.get(tags.APPLICATION_SYSTEM_NAME) == b"BRIO"
    assert message.get(tags.TRADING_SYSTEM_VERSION) == b"8.0"
    assert message.get(tags.APPLICATION_SYSTEM_VENDOR) == b"ABC"
    for absent in (tags.RESET_SEQ_NUM_FLAG, tags.ENCRYPT_METHOD, tags.ORIG_SENDING_TIME, tags.POSS_DUP_FLAG):
        assert absent not in message
    assert verify_logon_signature(SECRET, message.first_values(), message.get(tags.ENCRYPTED_PASSWORD))


def test_client_logon_maps_reset_flag_to_y_and_n_and_can_carry_encrypt_method():
    assert m.Message.parse(client_logon(reset_seq_num=True)).get(tags.RESET_SEQ_NUM_FLAG) == b"Y"
    assert m.Message.parse(client_logon(reset_seq_num=False)).get(tags.RESET_SEQ_NUM_FLAG) == b"N"
    assert m.Message.parse(client_logon(encrypt_method=0)).get_int(tags.ENCRYPT_METHOD) == 0


def test_client_logon_refuses_a_malformed_secret():
    with pytest.raises(ValueError):
        client_logon(secret_key="not-a-key")


def test_logon_response_echoes_the_client_values():
    message = m.Message.parse(BUILT["logon_response"])
    assert message.get_int(tags.HEART_BT_INT) == 60
    assert message.get_bool(tags.RESET_SEQ_NUM_FLAG) is False
    assert [message.get(t) for t in (1603, 1604, 1605)] == [b"BRIO", b"8.0", b"ABC"]
    assert tags.ENCRYPTED_PASSWORD not in message


def test_heartbeat_answers_a_test_request_with_its_id():
    assert m.Message.parse(BUILT["heartbeat_answer"]).get(tags.TEST_REQ_ID) == b"T1"
    assert m.Message.parse(BUILT["test_request"]).get(tags.TEST_REQ_ID) == b"T1"


def test_resend_request_carries_its_range():
    message = m.Message.parse(BUILT["resend_request"])
    assert (message.get_int(tags.BEGIN_SEQ_NO), message.get_int(tags.END_SEQ_NO)) == (3, 0)


@pytest.mark.parametrize(("begin", "end"), [(0, 5), (5, 4), (1, -1)])
def test_resend_request_refuses_an_invalid_range(begin, end):
    with pytest.raises(ValueError):
        m.build_resend_request(GATEWAY, begin_seq_no=begin, end_seq_no=end)


def test_reject_and_business_reject_carry_their_references():
    reject = m.Message.parse(BUILT["reject"])
    assert reject.msg_type == MsgType.REJECT
    assert [reject.get(t) for t in (45, 372, 373, 58)] == [b"5", b"2", b"5", b"resend too large"]
    bmr = m.Message.parse(BUILT["business_reject"])
    assert bmr.msg_type == MsgType.BUSINESS_MESSAGE_REJECT
    assert [bmr.get(t) for t in (45, 372, 380, 58)] == [b"5", b"D", b"3", b"drop copy is read-only"]


def test_gap_fill_outside_a_resend_has_no_possdup():
    message = m.Message.parse(BUILT["gap_fill"])
    assert message.msg_type == MsgType.SEQUENCE_RESET
    assert message.get(tags.GAP_FILL_FLAG) == b"Y"
    assert message.get_int(tags.NEW_SEQ_NO) == 12
    assert not message.poss_dup and tags.ORIG_SENDING_TIME not in message


def test_gap_fill_in_a_resend_carries_possdup_and_orig_sending_time():
    message = m.Message.parse(BUILT["gap_fill_resend"])
    assert message.poss_dup
    assert message.get_time(tags.ORIG_SENDING_TIME) == T0
    earlier = T0 - dt.timedelta(hours=1)
    explicit = m.Message.parse(
        m.build_sequence_reset_gap_fill(GATEWAY, new_seq_no=9, resend=True, orig_sending_time=earlier)
    )
    assert explicit.get_time(tags.ORIG_SENDING_TIME) == earlier


def test_gap_fill_refuses_a_new_seq_no_not_ahead_and_orig_time_without_resend():
    with pytest.raises(ValueError):
        m.build_sequence_reset_gap_fill(GATEWAY, new_seq_no=7)
    with pytest.raises(ValueError):
        m.build_sequence_reset_gap_fill(GATEWAY, new_seq_no=9, orig_sending_time=T0)


def test_logout_carries_text_and_next_expected_seq_num():
    message = m.Message.parse(BUILT["logout"])
    assert message.get(tags.TEXT) == b"bye"
    assert message.get_int(tags.NEXT_EXPECTED_MSG_SEQ_NUM) == 9
    assert tags.NEXT_EXPECTED_MSG_SEQ_NUM not in m.Message.parse(m.build_logout(GATEWAY))


# --- value checks -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["a\x01b", "café", "tab\there", "", "del\x7f"])
def test_values_fix_cannot_carry_are_refused(text):
    with pytest.raises(ValueError):
        m.build_logout(GATEWAY, text=text)


def test_header_values_are_checked_too():
    with pytest.raises(ValueError):
        m.build_heartbeat(m.SessionHeader("CME\x01", "X", 1, T0))
    with pytest.raises(ValueError):
        m.build_heartbeat(m.SessionHeader("CME", "X", 0, T0))


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        m.format_sending_time(dt.datetime(2024, 1, 1))


def test_sending_time_is_utc_with_milliseconds():
    chicago = dt.timezone(dt.timedelta(hours=-5))
    moment = dt.datetime(2024, 3, 1, 7, 8, 9, 123999, tzinfo=chicago)
    assert m.format_sending_time(moment) == "20240301-12:08:09.123"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20240301-12:08:09", dt.datetime(2024, 3, 1, 12, 8, 9, tzinfo=dt.UTC)),
        ("20240301-12:08:09.123", dt.datetime(2024, 3, 1, 12, 8, 9, 123000, tzinfo=dt.UTC)),
        (b"20240301-12:08:09.123456", dt.datetime(2024, 3, 1, 12, 8, 9, 123456, tzinfo=dt.UTC)),
    ],
)
def test_sending_time_parses(text, expected):
    assert m.parse_sending_time(text) == expected


@pytest.mark.parametrize("text", ["2024-03-01 12:08:09", "20240301-12:08", "20241301-12:08:09", "20240301-12:08:09.1"])
def test_malformed_sending_times_are_refused(text):
    with pytest.raises(ValueError):
        m.parse_sending_time(text)


# --- envelope ---------------------------------------------------------------------------------


def test_envelope_wraps_a_whole_inner_message_with_its_own_checksum():
    envelope = m.Message.parse(BUILT["envelope"])
    assert envelope.msg_type == MsgType.XML
    data = envelope.get(tags.XML_DATA)
    assert envelope.get_int(tags.XML_DATA_LEN) == len(data)
    assert data.startswith(b"<RTRF>8=FIX.4.2\x019=") and data.endswith(b"\x01</RTRF>")
    inner = m.envelope_payload(envelope)
    assert inner == BUILT["execution_report"]
    assert check_frame(inner) is None
    assert m.Message.parse(inner).msg_type == MsgType.EXECUTION_REPORT
    # The outer parse does not see the inner fields: 213 is one opaque value.
    assert envelope.get_all(tags.CHECKSUM) == [BUILT["envelope"][-4:-1]]


@pytest.mark.parametrize(
    "inner",
    [b"", b"8=FIX.4.2\x019=5\x0135=0\x0110=000\x01", BUILT["heartbeat"][:-3], BUILT["heartbeat"] * 2],
)
def test_envelope_refuses_anything_but_one_valid_frame(inner):
    with pytest.raises(ValueError):
        m.build_drop_copy_envelope(GATEWAY, inner=inner)


def test_envelope_refuses_an_inner_message_over_8000_bytes():
    big = fill_report(account="A" * 8000)
    with pytest.raises(ValueError):
        m.build_drop_copy_envelope(GATEWAY, inner=m.build_execution_report(GATEWAY, big))


def test_envelope_payload_refuses_a_wrong_envelope():
    with pytest.raises(ValueError):
        m.envelope_payload(m.Message.parse(BUILT["heartbeat"]))
    bad_length = m.Message([(35, b"n"), (212, b"3"), (213, b"<RTRF></RTRF>")])
    with pytest.raises(ValueError):
        m.envelope_payload(bad_length)
    unwrapped = m.Message([(35, b"n"), (212, b"4"), (213, b"abcd")])
    with pytest.raises(ValueError):
        m.envelope_payload(unwrapped)


# --- execution reports ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("report", "codes", "cum", "leaves"),
    [
        (fill_report(m.ExecKind.NEW, last_qty=0, last_px=None, cum_qty=0), ("0", "0", "0"), 0, 10),
        (fill_report(m.ExecKind.CANCELED, last_qty=0, cum_qty=0, orig_cl_ord_id="CL0"), ("0", "4", "4"), 0, 0),
        (fill_report(m.ExecKind.REPLACED, last_qty=0, cum_qty=4, orig_cl_ord_id="CL0"), ("0", "5", "5"), 4, 6),
        (fill_report(m.ExecKind.ELIMINATED, last_qty=0, cum_qty=0), ("0", "C", "C"), 0, 0),
        (fill_report(m.ExecKind.PARTIAL_FILL, last_qty=3, cum_qty=3), ("0", "1", "1"), 3, 7),
        (fill_report(m.ExecKind.FILL), ("0", "2", "2"), 10, 0),
        (fill_report(m.ExecKind.TRADE_CANCEL, exec_id="EX2", exec_ref_id="EX1"), ("1", "H", "H"), 10, 0),
        (
            fill_report(m.ExecKind.TRADE_CORRECTION, exec_id="EX3", exec_ref_id="EX1", last_px=Decimal("5012.50")),
            ("2", "G", "G"),
            0,
            0,
        ),
    ],
    ids=lambda value: value.kind.value if isinstance(value, m.ExecutionReport) else None,
)
def test_execution_report_codes_and_quantities(report, codes, cum, leaves):
    raw = m.build_execution_report(GATEWAY, report)
    message = m.Message.parse(raw)
    assert message.msg_type == MsgType.EXECUTION_REPORT
    assert (message.get_str(20), message.get_str(150), message.get_str(39)) == codes
    assert (message.get_int(tags.CUM_QTY), message.get_int(tags.LEAVES_QTY)) == (cum, leaves)
    assert message.get(tags.TRADE_DATE) == b"20170623"
    assert message.get(tags.TRANSACT_TIME) == b"20170623-14:48:42.855"
    assert message.get(tags.MANUAL_ORDER_INDICATOR) == b"N"
    assert check_frame(m.build_drop_copy_envelope(GATEWAY, inner=raw)) is None


# The feed's builders write from templates; a header whose SendingTime is not in UTC (the same
# instant in Chicago) takes the field-by-field encoder instead, so the two must agree byte for byte.
GATEWAY_IN_CHICAGO = dataclasses.replace(GATEWAY, sending_time=T0.astimezone(ZoneInfo("America/Chicago")))
EVERY_KIND = [
    fill_report(m.ExecKind.NEW, last_qty=0, last_px=None, cum_qty=0, manual_order=True),
    fill_report(m.ExecKind.CANCELED, last_qty=0, cum_qty=0, orig_cl_ord_id="CL0", correlation_cl_ord_id="CL1"),
    fill_report(m.ExecKind.REPLACED, last_qty=0, cum_qty=4, orig_cl_ord_id="CL0"),
    fill_report(m.ExecKind.ELIMINATED, last_qty=0, cum_qty=0),
    fill_report(m.ExecKind.PARTIAL_FILL, last_qty=3, cum_qty=3, aggressor=True, secondary_exec_id="T1"),
    fill_report(m.ExecKind.FILL, aggressor=False, avg_px=Decimal("5012.2500000")),
    fill_report(m.ExecKind.TRADE_CANCEL, exec_id="EX2", exec_ref_id="EX1"),
    fill_report(m.ExecKind.TRADE_CORRECTION, exec_id="EX3", exec_ref_id="EX1", last_px=Decimal("5012.50")),
]


@pytest.mark.parametrize("report", EVERY_KIND, ids=lambda report: report.kind.value)
def test_the_templated_execution_report_is_the_field_by_field_one(report, monkeypatch):
    field_by_field = m.build_execution_report(GATEWAY_IN_CHICAGO, report)
    monkeypatch.setattr(execution, "build_message", None)  # the template alone, or a TypeError

    assert m.build_execution_report(GATEWAY, report) == field_by_field


@pytest.mark.parametrize(
    "overrides",
    [{"account": ""}, {"orig_cl_ord_id": ""}, {"account": "A\x01B"}, {"symbol": "É"}, {"price": Decimal("NaN")}],
    ids=["empty", "empty-optional", "soh", "non-ascii", "nan"],
)
def test_a_value_the_template_cannot_write_is_refused_by_the_field_by_field_encoder(overrides):
    with pytest.raises(ValueError):
        m.build_execution_report(GATEWAY, fill_report(**overrides))


def test_a_time_given_as_text_is_written_as_it_is_by_the_field_by_field_encoder():
    as_text = fill_report(transact_time="20170623-14:48:42.855")

    assert m.build_execution_report(GATEWAY, as_text) == m.build_execution_report(GATEWAY, fill_report())


@pytest.mark.parametrize("check", [True, False])
@pytest.mark.parametrize("header", [GATEWAY, CLIENT, GATEWAY_IN_CHICAGO], ids=["gateway", "client", "not-utc"])
def test_envelopes_built_together_are_the_ones_built_one_by_one(header, check):
    inners = [m.build_execution_report(GATEWAY, report) for report in EVERY_KIND]

    together = m.build_drop_copy_envelopes(header, inners, check=check)

    one_by_one = [
        m.build_drop_copy_envelope(dataclasses.replace(header, seq_num=header.seq_num + i), inner=inner)
        for i, inner in enumerate(inners)
    ]
    assert together == one_by_one


def test_envelopes_built_together_refuse_a_bad_inner_message_unless_told_it_is_built_here():
    inners = [BUILT["execution_report"], BUILT["heartbeat"][:-3]]
    with pytest.raises(ValueError, match="not one valid FIX frame"):
        m.build_drop_copy_envelopes(GATEWAY, inners)
    with pytest.raises(ValueError, match="exceeds 8000"):
        m.build_drop_copy_envelopes(GATEWAY, [b"8" * 8000], check=False)


def test_correction_references_the_trade_and_resets_totals():
    report = fill_report(m.ExecKind.TRADE_CORRECTION, exec_id="EX3", exec_ref_id="EX1", last_px=Decimal("5012.50"))
    message = m.Message.parse(m.build_execution_report(GATEWAY, report))
    assert message.get(tags.EXEC_REF_ID) == b"EX1"
    assert message.get(tags.EXEC_ID) == b"EX3"
    assert message.get(tags.LAST_PX) == b"5012.50"
    assert message.get_int(tags.LAST_QTY) == 10
    assert message.get(tags.AVG_PX) == b"0"


def test_fills_carry_the_trade():
    message = m.Message.parse(
        m.build_execution_report(GATEWAY, fill_report(m.ExecKind.PARTIAL_FILL, last_qty=3, cum_qty=3, aggressor=True))
    )
    assert (message.get(tags.LAST_PX), message.get_int(tags.LAST_QTY)) == (b"5012.25", 3)
    assert message.get_bool(tags.AGGRESSOR_INDICATOR) is True
    ack = m.Message.parse(m.build_execution_report(GATEWAY, fill_report(m.ExecKind.NEW, last_qty=0, cum_qty=0)))
    assert tags.LAST_PX not in ack and tags.LAST_QTY not in ack


@pytest.mark.parametrize(
    "report",
    [
        fill_report(m.ExecKind.FILL, cum_qty=9),
        fill_report(m.ExecKind.PARTIAL_FILL, last_qty=3, cum_qty=10),
        fill_report(m.ExecKind.PARTIAL_FILL, last_qty=0, cum_qty=3),
        fill_report(m.ExecKind.TRADE_CANCEL),
        fill_report(m.ExecKind.TRADE_CORRECTION),
        fill_report(m.ExecKind.FILL, last_px=None),
        fill_report(m.ExecKind.FILL, side="3"),
        fill_report(m.ExecKind.NEW, order_qty=0, cum_qty=0),
    ],
)
def test_inconsistent_execution_reports_are_refused(report):
    with pytest.raises(ValueError):
        m.build_execution_report(GATEWAY, report)


# --- resend -----------------------------------------------------------------------------------

LATER = T0 + dt.timedelta(minutes=5)


def test_mark_as_resent_adds_possdup_and_orig_sending_time_and_a_new_checksum():
    stored = BUILT["execution_report"]
    resent = m.mark_as_resent(stored, T0, LATER)
    assert check_frame(resent) is None
    message = m.Message.parse(resent)
    assert message.poss_dup
    assert message.get_time(tags.ORIG_SENDING_TIME) == T0
    assert message.sending_time == LATER
    original_tags = [tag for tag, _ in parse_fields(stored) if tag not in (9, 10, 52)]
    assert [tag for tag, _ in message if tag not in (9, 10, 52, 43, 122)] == original_tags
    tag_order = [tag for tag, _ in message]
    assert tag_order[tag_order.index(52) + 1 : tag_order.index(52) + 3] == [43, 122]


def test_mark_as_resent_defaults_orig_sending_time_to_the_stored_one_and_never_repeats_tags():
    once = m.mark_as_resent(BUILT["envelope"], None, LATER)
    twice = m.mark_as_resent(once, None, LATER + dt.timedelta(seconds=1))
    message = m.Message.parse(twice)
    assert message.get_all(tags.POSS_DUP_FLAG) == [b"Y"]
    assert message.get_all(tags.ORIG_SENDING_TIME) == [b"20170623-14:53:42.855"]
    assert m.envelope_payload(message) == BUILT["execution_report"]
    assert FrameReader().feed(twice) == [twice]


def test_mark_as_resent_accepts_a_stored_timestamp_string():
    resent = m.Message.parse(m.mark_as_resent(BUILT["execution_report"], "20170623-14:00:00.000", LATER))
    assert resent.get(tags.ORIG_SENDING_TIME) == b"20170623-14:00:00.000"
    with pytest.raises(ValueError):
        m.mark_as_resent(BUILT["execution_report"], "yesterday", LATER)


@pytest.mark.parametrize("name", ["heartbeat", "test_request", "resend_request", "gap_fill", "logout", "logon"])
def test_session_messages_are_gap_filled_not_resent(name):
    with pytest.raises(ValueError):
        m.mark_as_resent(BUILT[name], None, LATER)


def test_a_reject_can_be_resent():
    assert m.Message.parse(m.mark_as_resent(BUILT["reject"], None, LATER)).poss_dup


def test_mark_as_resent_refuses_a_damaged_frame():
    damaged = BUILT["execution_report"][:-4] + b"000\x01"
    with pytest.raises(ValueError):
        m.mark_as_resent(damaged, None, LATER)


# --- reading ----------------------------------------------------------------------------------


def test_message_accessors():
    message = m.Message([(35, b"0"), (34, b"x"), (43, b"Q"), (58, b"a"), (58, b"b")])
    assert message.get(58, 2) == b"b" and message.get(58, 3) is None
    assert message.get_all(58) == [b"a", b"b"]
    assert message.first_values()[58] == b"a"
    assert message.get_str(99) is None and message.get_int(99) is None and message.get_bool(99) is None
    with pytest.raises(ValueError):
        _ = message.seq_num
    with pytest.raises(ValueError):
        message.get_bool(43)
    assert not message.poss_dup
    assert len(message) == 5 and 58 in message and 59 not in message
    assert "58=a" in repr(message)


@pytest.mark.parametrize(
    "frame",
    [
        b"8=FIX.4.2\x0135",
        b"8=FIX.4.2\x01x5=0\x01",
        b"8=FIX.4.2\x01=0\x01",
        b"8=FIX.4.2\x0135=0",
        b"212=5\x01213=abc\x01",
        b"212=x\x01213=abc\x01",
        b"212=3\x01213=abcd\x01",
    ],
)
def test_parse_fields_refuses_what_does_not_tokenise(frame):
    with pytest.raises(m.FixParseError):
        parse_fields(frame)


def test_parse_fields_reads_data_fields_by_length():
    assert parse_fields(b"212=5\x01213=a\x01b=c\x0158=x\x01") == [(212, b"5"), (213, b"a\x01b=c"), (58, b"x")]
    # A data value tag not announced by its length tag is an ordinary field.
    assert parse_fields(b"213=a\x01") == [(213, b"a")]


# --- the gateway's own messages ---------------------------------------------------------------


def test_acceptor_messages_put_routing_first_then_sequence_time_and_last_processed():
    header = m.SessionHeader(
        sender_comp_id="CME",
        sender_sub_id="G",
        target_comp_id="B08004N",
        target_sub_id="MSG",
        seq_num=7,
        sending_time=T0,
        last_msg_seq_num_processed=3,
    )

    raw = m.build_acceptor_message(MsgType.TEST_REQUEST, header, [(tags.TEST_REQ_ID, "TEST1")])

    assert raw == frame(b"35=1|49=CME|50=G|56=B08004N|57=MSG|34=7|52=20170623-14:48:42.855|369=3|112=TEST1|")


def test_a_resent_acceptor_gap_fill_carries_poss_dup_right_after_its_sequence_number():
    raw = m.build_acceptor_message(
        MsgType.SEQUENCE_RESET,
        GATEWAY,
        [(tags.ORIG_SENDING_TIME, T0), (tags.GAP_FILL_FLAG, True), (tags.NEW_SEQ_NO, 9)],
        poss_dup=True,
    )

    assert raw == frame(
        b"35=4|49=CME|50=G|56=B08004N|57=G|34=7|43=Y|52=20170623-14:48:42.855|122=20170623-14:48:42.855|123=Y|36=9|"
    )


def test_echoed_peer_values_go_back_as_they_came_even_empty():
    raw = m.build_acceptor_message(MsgType.HEARTBEAT, GATEWAY, [(tags.TEST_REQ_ID, m.Echoed(b""))])

    assert m.Message.parse(raw).get(tags.TEST_REQ_ID) == b""
    with pytest.raises(ValueError):
        m.build_heartbeat(GATEWAY, test_req_id="")  # a value of our own is never empty
    with pytest.raises(ValueError):
        m.build_acceptor_message(MsgType.HEARTBEAT, GATEWAY, [(tags.TEST_REQ_ID, m.Echoed(b"A\x01B"))])


GATEWAY_MESSAGES = [
    (MsgType.LOGON, [(98, 0), (108, m.Echoed(b"30")), (1603, m.Echoed(b"PROBE")), (1604, m.Echoed(b""))], False),
    (MsgType.HEARTBEAT, [], False),
    (MsgType.HEARTBEAT, [(tags.TEST_REQ_ID, m.Echoed(b"PROBE-1f2e"))], False),
    (MsgType.TEST_REQUEST, [(tags.TEST_REQ_ID, "TEST1")], False),
    (MsgType.REJECT, [(45, 3), (372, "A"), (58, "Already logged on")], False),
    (MsgType.BUSINESS_MESSAGE_REJECT, [(45, 3), (372, "D"), (380, 3), (58, "read-only")], False),
    (MsgType.LOGOUT, [(789, 5), (58, "MsgSeqNum too low, expecting 5")], False),
    (MsgType.SEQUENCE_RESET, [(tags.ORIG_SENDING_TIME, T0), (tags.GAP_FILL_FLAG, True), (tags.NEW_SEQ_NO, 9)], True),
    (MsgType.LOGOUT, [(tags.BEGIN_STRING, "FIX.4.4"), (58, None), (141, False)], False),
]


@pytest.mark.parametrize(("msg_type", "body", "poss_dup"), GATEWAY_MESSAGES)
@pytest.mark.parametrize(
    "header",
    [
        GATEWAY,
        dataclasses.replace(GATEWAY, sender_sub_id=None, target_sub_id=None, last_msg_seq_num_processed=0),
        dataclasses.replace(GATEWAY, sender_location_id="US,IL", last_msg_seq_num_processed=12),
    ],
    ids=["gateway", "no-sub-ids", "location"],
)
def test_the_templated_session_message_is_the_field_by_field_one(header, msg_type, body, poss_dup):
    as_acceptor = encoding.encode_message(msg_type, header.acceptor_pairs(poss_dup=poss_dup), body)
    as_client = encoding.encode_message(msg_type, header.pairs(), body)

    # the templates write them (nothing here needs the field-by-field encoder)
    assert header.acceptor_fields_text(poss_dup=poss_dup) is not None and header.fields_text() is not None
    assert m.build_acceptor_message(msg_type, header, body, poss_dup=poss_dup) == as_acceptor
    if not poss_dup:
        assert encoding.build_message(msg_type, header, body) == as_client


def frame(body: bytes) -> bytes:
    """``8=FIX.4.2``, BodyLength, ``body`` (``|`` for SOH) and CheckSum: a whole frame."""
    body = body.replace(b"|", b"\x01")
    head = b"8=FIX.4.2\x019=" + str(len(body)).encode() + b"\x01"
    return head + body + b"10=%03d\x01" % checksum(head + body)


# --- exact bytes ------------------------------------------------------------------------------
# Recorded before the encoder was made cheaper: the encoding of every kind of value, byte for byte.


def test_an_envelope_of_an_execution_report_is_exactly_these_bytes():
    assert BUILT["envelope"] == frame(
        b"35=n|34=7|49=CME|50=G|52=20170623-14:48:42.855|56=B08004N|57=G|212=292|213=<RTRF>"
        b"8=FIX.4.2\x019=256\x0135=8\x0134=7\x0149=CME\x0150=G\x0152=20170623-14:48:42.855\x0156=B08004N\x0157=G\x01"
        b"37=ORD1\x0111=CL1\x0117=EX1\x0120=0\x01150=2\x0139=2\x011=ACCT1\x0148=12345\x0155=ES\x01107=ESZ5\x01"
        b"167=FUT\x0154=1\x0138=10\x0140=2\x0144=5012.25\x0159=0\x0131=5012.25\x0132=10\x0114=10\x01151=0\x01"
        b"6=5012.25\x0160=20170623-14:48:42.855\x0175=20170623\x011028=N\x0110=248\x01</RTRF>|"
    )
    assert BUILT["envelope"].endswith(b"\x0110=177\x01")


def test_values_of_every_kind_are_encoded_exactly():
    chicago = dt.timezone(dt.timedelta(hours=-5))
    body = [
        (tags.TEXT, "a=b c"),
        (tags.PRICE, Decimal("-0.50")),
        (tags.AVG_PX, Decimal("1E+2")),
        (tags.ORDER_QTY, 0),
        (tags.MANUAL_ORDER_INDICATOR, True),
        (tags.AGGRESSOR_INDICATOR, False),
        (tags.TRANSACT_TIME, dt.datetime(2017, 6, 23, 9, 48, 42, 999999, tzinfo=chicago)),
        (96, b"raw~"),
        (tags.TEST_REQ_ID, m.Echoed(b"")),
    ]

    raw = m.build_acceptor_message(MsgType.HEARTBEAT, GATEWAY, body)

    assert raw == frame(
        b"35=0|49=CME|50=G|56=B08004N|57=G|34=7|52=20170623-14:48:42.855|"
        b"58=a=b c|44=-0.50|6=100|38=0|1028=Y|1057=N|60=20170623-14:48:42.999|96=raw~|112=|"
    )


def test_the_first_refused_value_in_field_order_is_the_one_reported():
    with pytest.raises(ValueError, match="tag 58: value must be printable ASCII"):
        m.build_acceptor_message(MsgType.HEARTBEAT, GATEWAY, [(58, "café"), (60, dt.datetime(2024, 1, 1))])
    with pytest.raises(ValueError, match="aware datetime"):
        m.build_acceptor_message(MsgType.HEARTBEAT, GATEWAY, [(58, "ok"), (60, dt.datetime(2024, 1, 1)), (59, "")])
    with pytest.raises(ValueError, match="tag 59: FIX values cannot be empty"):
        m.build_acceptor_message(MsgType.HEARTBEAT, GATEWAY, [(58, "ok"), (59, ""), (60, "a\x01")])


def test_the_two_instants_of_a_repeated_hour_are_told_apart():
    chicago = ZoneInfo("America/Chicago")
    first = dt.datetime(2026, 11, 1, 1, 30, tzinfo=chicago)  # CDT
    second = first.replace(fold=1)  # an hour later: CST, the clocks were set back at 02:00

    assert m.format_sending_time(first) == "20261101-06:30:00.000"
    assert m.format_sending_time(second) == "20261101-07:30:00.000"
    assert m.format_sending_time(first.astimezone(dt.UTC)) == "20261101-06:30:00.000"


# --- tokenising -------------------------------------------------------------------------------


def test_data_fields_are_read_by_length_among_ordinary_fields_and_repeated():
    raw = b"35=A\x01354=3\x01355=a\x01b\x0158=x\x011401=2\x011402=\x01\x01\x010095=1\x0196==\x0110=000\x01"

    assert parse_fields(raw) == [
        (35, b"A"),
        (354, b"3"),
        (355, b"a\x01b"),
        (58, b"x"),
        (1401, b"2"),
        (1402, b"\x01\x01"),
        (95, b"1"),
        (96, b"="),
        (10, b"000"),
    ]


def test_a_length_field_not_followed_by_its_data_field_announces_nothing():
    assert parse_fields(b"212=3\x0158=abc\x01213=x\x01") == [(212, b"3"), (58, b"abc"), (213, b"x")]
    assert parse_fields(b"58=x\x01212=3\x01") == [(58, b"x"), (212, b"3")]


@pytest.mark.parametrize(
    ("frame_bytes", "message"),
    [
        (b"212=3\x01213=ab\x01", "data field 213 does not end where its length says"),
        (b"212=1\x01213=ab\x01", "data field 213 does not end where its length says"),
        (b"58=x\x01212=\x01213=\x01", "length field 212 is not a number"),
        (b"58=x\x011234567890=1\x01", "tag b'1234567890' at offset 5 is not a number"),
        (b"58=x\x01\xd9\xa1=1\x01", "at offset 5 is not a number"),
        (b"58=x\x0159", "field at offset 5 has no '='"),
        (b"58=x\x0159=1", "field 59 is not terminated by SOH"),
    ],
)
def test_what_does_not_tokenise_is_refused_with_its_reason(frame_bytes, message):
    with pytest.raises(m.FixParseError, match=re.escape(message)):
        parse_fields(frame_bytes)

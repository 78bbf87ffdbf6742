"""FrameReader: framing strictly by BodyLength, validation, and recovery after bad input."""

import datetime as dt
import itertools

import pytest
import simplefix
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dropcopy_admin.fix import framing
from dropcopy_admin.fix import messages as m
from dropcopy_admin.fix.framing import (
    BEGIN_MARKER,
    FixParseError,
    FrameError,
    FrameErrorReason,
    FrameReader,
    check_frame,
    checksum,
    iter_frames,
    parse_fields,
)

T0 = dt.datetime(2024, 3, 1, 12, 0, 0, 250000, tzinfo=dt.UTC)
HEADER = m.SessionHeader(
    sender_comp_id="CME", sender_sub_id="G", target_comp_id="ABC123N", target_sub_id="G", seq_num=42, sending_time=T0
)
HEARTBEAT = m.build_heartbeat(HEADER)
TEST_REQUEST = m.build_test_request(HEADER, test_req_id="PING-1")
INNER = m.build_logout(HEADER, text="inner 10=123 lookalike")
ENVELOPE = m.build_drop_copy_envelope(HEADER, inner=INNER)
LOGOUT = m.build_logout(HEADER, text="bye", next_expected_msg_seq_num=43)
VALID_FRAMES = [HEARTBEAT, TEST_REQUEST, ENVELOPE, LOGOUT]


def frame_from_body(body: bytes, *, begin: bytes = BEGIN_MARKER) -> bytes:
    """Build a frame with a correct BodyLength and CheckSum around ``body`` (which starts 35=)."""
    head = begin + b"9=" + str(len(body)).encode() + b"\x01" + body
    return head + b"10=" + f"{checksum(head):03d}".encode() + b"\x01"


def reasons(items):
    return [item.reason for item in items if isinstance(item, FrameError)]


def frames(items):
    return [item for item in items if isinstance(item, bytes)]


# --- good input -------------------------------------------------------------------------------


def test_envelope_frames_whole_when_split_at_every_byte_position():
    for split in range(len(ENVELOPE) + 1):
        reader = FrameReader()
        assert reader.feed(ENVELOPE[:split]) + reader.feed(ENVELOPE[split:]) == [ENVELOPE], split


def test_frames_simplefix_would_accept_are_checked():
    """simplefix's parser returns a frame with a wrong CheckSum silently (stack-notes); we do not."""
    bad = corrupt_checksum(ENVELOPE)
    parser = simplefix.FixParser()
    parser.append_buffer(bad)
    assert parser.get_message() is not None
    assert reasons(FrameReader().feed(bad)) == [FrameErrorReason.BAD_CHECKSUM]


def test_envelope_fed_one_byte_at_a_time():
    reader = FrameReader()
    out = []
    for byte in ENVELOPE + HEARTBEAT:
        out += reader.feed(bytes([byte]))
    assert out == [ENVELOPE, HEARTBEAT]
    assert reader.buffered == 0


def test_several_frames_in_one_read():
    stream = b"".join(VALID_FRAMES * 3)
    assert FrameReader().feed(stream) == VALID_FRAMES * 3


def test_iter_frames_over_chunks():
    stream = b"".join(VALID_FRAMES)
    chunks = [stream[i : i + 7] for i in range(0, len(stream), 7)]
    assert list(iter_frames(chunks)) == VALID_FRAMES


def test_check_frame():
    assert check_frame(ENVELOPE) is None
    assert check_frame(HEARTBEAT + HEARTBEAT).reason == FrameErrorReason.BAD_BODY_LENGTH
    assert check_frame(HEARTBEAT[:-2] + b"\x02\x01").reason == FrameErrorReason.BAD_BODY_LENGTH
    assert check_frame(b"").reason == FrameErrorReason.BAD_BODY_LENGTH


# --- garbage ----------------------------------------------------------------------------------


def test_garbage_before_between_and_after_frames_is_reported_and_skipped():
    stream = b"hello" + HEARTBEAT + b"\x00\xff junk 10=000\x01" + ENVELOPE + b"trailing"
    items = FrameReader().feed(stream)
    assert frames(items) == [HEARTBEAT, ENVELOPE]
    garbage = [item for item in items if isinstance(item, FrameError)]
    assert [g.reason for g in garbage] == [FrameErrorReason.GARBAGE] * 3
    assert [g.data for g in garbage] == [b"hello", b"\x00\xff junk 10=000\x01", b"trailing"]


def test_a_partial_begin_string_at_the_end_of_a_read_is_kept():
    reader = FrameReader()
    items = reader.feed(b"xx" + HEARTBEAT[:5])
    assert reasons(items) == [FrameErrorReason.GARBAGE]
    assert reader.buffered == 5
    assert reader.feed(HEARTBEAT[5:]) == [HEARTBEAT]


def test_other_begin_strings_are_garbage():
    fix44 = HEARTBEAT.replace(b"8=FIX.4.2", b"8=FIX.4.4")
    items = FrameReader().feed(fix44 + HEARTBEAT)
    assert reasons(items) == [FrameErrorReason.GARBAGE]
    assert frames(items) == [HEARTBEAT]


# --- bad frames -------------------------------------------------------------------------------


def corrupt_checksum(frame: bytes) -> bytes:
    digits = int(frame[-4:-1])
    return frame[:-4] + f"{(digits + 1) % 256:03d}".encode() + b"\x01"


def set_body_length(frame: bytes, length: int) -> bytes:
    start = frame.index(b"\x019=") + 3
    end = frame.index(b"\x01", start)
    return frame[:start] + str(length).encode() + frame[end:]


def body_length_of(frame: bytes) -> int:
    start = frame.index(b"\x019=") + 3
    return int(frame[start : frame.index(b"\x01", start)])


def test_bad_checksum_drops_the_frame_whole_and_the_next_one_is_read():
    bad = corrupt_checksum(ENVELOPE)
    items = FrameReader().feed(bad + HEARTBEAT)
    assert items[0] == FrameError(FrameErrorReason.BAD_CHECKSUM, bad, items[0].detail)
    # The inner message of the damaged envelope is not surfaced as a frame of its own.
    assert items[1:] == [HEARTBEAT]


@pytest.mark.parametrize("checksum_field", [b"10=1\x01", b"10=abc\x01", b"10=0001"])
def test_a_malformed_checksum_field_is_a_bad_body_length(checksum_field):
    bad = HEARTBEAT[:-7] + checksum_field
    items = FrameReader().feed(bad + HEARTBEAT)
    assert reasons(items)[0] == FrameErrorReason.BAD_BODY_LENGTH
    assert frames(items) == [HEARTBEAT]


@pytest.mark.parametrize("delta", [-30, -1, 1, 30])
def test_a_wrong_body_length_is_reported_and_the_following_frames_recovered(delta):
    bad = set_body_length(HEARTBEAT, body_length_of(HEARTBEAT) + delta)
    reader = FrameReader(max_frame_size=4096)
    items = reader.feed(bad + TEST_REQUEST + LOGOUT)
    assert reasons(items) == [FrameErrorReason.BAD_BODY_LENGTH]
    assert frames(items) == [TEST_REQUEST, LOGOUT]


def test_a_body_length_pointing_at_the_inner_checksum_of_an_envelope_does_not_surface_the_inner_message():
    inner_end = ENVELOPE.index(b"</RTRF>")
    body_start = ENVELOPE.index(b"35=")
    # 10=NNN of the inner message is the last 7 bytes before </RTRF>.
    lying = set_body_length(ENVELOPE, inner_end - 7 - body_start)
    items = FrameReader().feed(lying + HEARTBEAT)
    assert INNER not in items
    assert items[-1] == HEARTBEAT
    assert all(isinstance(item, FrameError) for item in items[:-1])


@pytest.mark.parametrize("value", [b"", b"abc", b"-5", b"3", b"12a"])
def test_a_malformed_body_length_is_reported(value):
    bad = BEGIN_MARKER + b"9=" + value + b"\x0135=0\x0110=000\x01"
    items = FrameReader().feed(bad + HEARTBEAT)
    assert reasons(items) == [FrameErrorReason.BAD_BODY_LENGTH]
    assert frames(items) == [HEARTBEAT]


def test_a_missing_body_length_is_reported():
    items = FrameReader().feed(BEGIN_MARKER + b"35=0\x0110=000\x01" + HEARTBEAT)
    assert reasons(items) == [FrameErrorReason.BAD_BODY_LENGTH]
    assert frames(items) == [HEARTBEAT]


def test_a_frame_not_starting_with_msg_type_is_a_bad_body_length():
    items = FrameReader().feed(frame_from_body(b"34=1\x0135=0\x01") + HEARTBEAT)
    assert reasons(items) == [FrameErrorReason.BAD_BODY_LENGTH]
    assert frames(items) == [HEARTBEAT]


@pytest.mark.parametrize("length", [10**6, 10**12, 64 * 1024])
def test_oversized_frames_are_refused_without_waiting_for_them(length):
    reader = FrameReader()
    items = reader.feed(BEGIN_MARKER + b"9=" + str(length).encode() + b"\x0135=n\x01" + HEARTBEAT)
    assert reasons(items) == [FrameErrorReason.OVERSIZED]
    assert frames(items) == [HEARTBEAT]


def test_a_frame_at_the_size_limit_is_accepted():
    body = b"35=0\x0158=" + b"x" * 200 + b"\x01"
    frame = frame_from_body(body)
    assert FrameReader(max_frame_size=len(frame)).feed(frame) == [frame]
    assert reasons(FrameReader(max_frame_size=len(frame) - 1).feed(frame)) == [FrameErrorReason.OVERSIZED]


@pytest.mark.parametrize("byte", [b"\x00", b"\x02", b"\t", b"\x7f", b"\x80", b"\xc3\xa9"])
def test_non_ascii_bytes_in_a_well_formed_frame_are_refused(byte):
    bad = frame_from_body(b"35=0\x0158=caf" + byte + b"\x01")
    items = FrameReader().feed(bad + HEARTBEAT)
    assert items[0] == FrameError(FrameErrorReason.NON_ASCII, bad, items[0].detail)
    assert items[1:] == [HEARTBEAT]


@pytest.mark.parametrize(
    "body", [b"35=0\x01garbage\x01", b"35=0\x01x=1\x01", b"35=n\x01212=99\x01213=<RTRF></RTRF>\x01"]
)
def test_well_framed_but_untokenisable_frames_are_malformed(body):
    bad = frame_from_body(body)
    items = FrameReader().feed(bad + HEARTBEAT)
    assert reasons(items) == [FrameErrorReason.MALFORMED]
    assert frames(items) == [HEARTBEAT]


def test_a_truncated_frame_is_reported_once_enough_bytes_arrive():
    reader = FrameReader(max_frame_size=512)
    items = reader.feed(ENVELOPE[:60])
    assert items == []
    out = []
    for _ in range(10):
        out += reader.feed(HEARTBEAT)
    assert reasons(out)[0] == FrameErrorReason.BAD_BODY_LENGTH
    assert frames(out)[-1] == HEARTBEAT
    assert len(frames(out)) >= 10 - 1 - 512 // len(HEARTBEAT)


def test_max_frame_size_must_hold_a_minimal_frame():
    with pytest.raises(ValueError):
        FrameReader(max_frame_size=10)


def test_the_buffer_stays_below_the_frame_size_limit_whatever_arrives():
    reader = FrameReader(max_frame_size=1024)
    for chunk in (b"x" * 100_000, BEGIN_MARKER + b"9=1000\x01" + b"y" * 5000, BEGIN_MARKER * 500, b"8=FIX.4."):
        reader.feed(chunk)
        assert reader.buffered < 1024
    assert reader.feed(b"2\x01" + HEARTBEAT[len(BEGIN_MARKER) :]) == [HEARTBEAT]


# --- property-based ---------------------------------------------------------------------------

MAX_FRAME = 2048


def _mutations(frame: bytes):
    """Strategies turning one valid frame into the kinds of junk a socket can deliver."""
    n = len(frame)
    return st.one_of(
        st.just(frame),
        st.just(corrupt_checksum(frame)),
        st.integers(-40, 40).map(lambda d: set_body_length(frame, max(0, body_length_of(frame) + d))),
        st.integers(1, n - 1).map(lambda i: frame[:i]),
        st.tuples(st.integers(0, n - 1), st.binary(min_size=1, max_size=3)).map(
            lambda t: frame[: t[0]] + t[1] + frame[t[0] :]
        ),
        st.tuples(st.integers(0, n - 1), st.integers(0x80, 0xFF)).map(
            lambda t: frame[: t[0]] + bytes([t[1]]) + frame[t[0] + 1 :]
        ),
        st.integers(0, n - 1).map(lambda i: frame[:i] + frame[i + 1 :]),
        st.integers(MAX_FRAME, 10**9).map(lambda size: set_body_length(frame, size)),
        st.binary(min_size=1, max_size=40).map(
            lambda junk: frame_from_body(b"35=0\x0158=" + junk.replace(b"\x01", b"") + b"x\x01")
        ),
    )


_junk_piece = st.one_of(
    st.sampled_from(VALID_FRAMES).flatmap(_mutations),
    st.binary(max_size=200),
    st.lists(
        st.sampled_from([BEGIN_MARKER, b"9=", b"35=n\x01", b"10=", b"212=40\x01213=", b"\x01", b"<RTRF>", b"123"]),
        max_size=12,
    ).map(b"".join),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    junk=st.lists(_junk_piece, min_size=1, max_size=12),
    tail_frame=st.sampled_from([HEARTBEAT, TEST_REQUEST, LOGOUT]),
    cuts=st.lists(st.integers(0, 10_000), max_size=20),
)
def test_reader_survives_any_junk_stays_bounded_and_recovers_the_next_valid_frame(junk, tail_frame, cuts):
    # Enough copies of a valid frame after the junk that any frame begun in the junk has been
    # resolved (frames are at most MAX_FRAME bytes) before the last copy starts.
    copies = MAX_FRAME // len(tail_frame) + 2
    stream = b"".join(junk) + tail_frame * copies
    points = sorted({min(cut, len(stream)) for cut in cuts} | {0, len(stream)})
    reader = FrameReader(max_frame_size=MAX_FRAME)
    items = []
    for start, end in itertools.pairwise(points):
        items += reader.feed(stream[start:end])
        assert reader.buffered < MAX_FRAME
    assert items[-1] == tail_frame
    assert reader.buffered == 0
    for item in items:
        if isinstance(item, bytes):
            assert check_frame(item, max_frame_size=MAX_FRAME) is None
            m.Message.parse(item)
        else:
            assert isinstance(item.reason, FrameErrorReason)
            assert item.data
    # Nothing is invented or lost: every byte is in exactly one item.
    assert b"".join(item if isinstance(item, bytes) else item.data for item in items) == stream


@settings(max_examples=200, deadline=None)
@given(
    sequence=st.lists(st.sampled_from(VALID_FRAMES), min_size=1, max_size=10),
    cuts=st.lists(st.integers(0, 5_000), max_size=30),
)
def test_valid_frames_come_out_exactly_whatever_the_read_boundaries(sequence, cuts):
    stream = b"".join(sequence)
    points = sorted({min(cut, len(stream)) for cut in cuts} | {0, len(stream)})
    reader = FrameReader()
    items = []
    for start, end in itertools.pairwise(points):
        items += reader.feed(stream[start:end])
    assert items == sequence


# check_frame and parse_fields take short cuts for good input; they answer as the reader and the
# field-by-field scan do, for any input.

LOGON = m.build_logon(
    HEADER,
    heartbeat_interval=30,
    access_key_id="oNDxM33uE81ohWuVRtWT",
    secret_key="2HlZ7exg8jTKltXnURjKvm3GS5iF5n4ClzHiEm_ocv4",
    application_system_name="BRIO",
    trading_system_version="8.0",
    application_system_vendor="ABC",
)
_field_pieces = st.lists(
    st.sampled_from(
        [
            b"35=0\x01",
            b"58=a=b\x01",
            b"212=",
            b"213=",
            b"354=",
            b"355=",
            b"0212=",
            b"3",
            b"12",
            b"\x01",
            b"=",
            b"x",
            b"\x80",
        ]
    ),
    max_size=16,
).map(b"".join)


def zero_padded_body_length(frame: bytes, zeros: int) -> bytes:
    """``frame`` with its BodyLength written with leading zeros, its CheckSum made right again."""
    start = frame.index(b"\x019=") + 3
    head = frame[:start] + b"0" * zeros + frame[start:-7]
    return head + b"10=%03d\x01" % checksum(head)


_one_frame = st.one_of(
    st.sampled_from([*VALID_FRAMES, LOGON]).flatmap(_mutations),
    _field_pieces.map(frame_from_body),
    st.tuples(st.sampled_from(VALID_FRAMES), st.integers(1, 4)).map(lambda t: zero_padded_body_length(*t)),
)


def reader_verdict(frame: bytes, max_frame_size: int) -> FrameError | None:
    """What a fresh FrameReader makes of ``frame`` alone: ``None`` when it returns it whole."""
    items = FrameReader(max_frame_size=max_frame_size).feed(frame)
    if items == [frame]:
        return None
    errors = [item for item in items if isinstance(item, FrameError)]
    return errors[0] if errors else FrameError(FrameErrorReason.BAD_BODY_LENGTH, frame, "not exactly one whole frame")


@settings(max_examples=600, deadline=None)
@given(frame=_one_frame, max_frame_size=st.sampled_from([64, 300, 65536]))
def test_check_frame_answers_as_the_reader_does(frame, max_frame_size):
    assert check_frame(frame, max_frame_size=max_frame_size) == reader_verdict(frame, max_frame_size)


def scan(frame: bytes):
    try:
        return framing._scan_fields(frame)
    except FixParseError as exc:
        return str(exc)


def tokens(frame: bytes):
    try:
        return parse_fields(frame)
    except FixParseError as exc:
        return str(exc)


@settings(max_examples=600, deadline=None)
@given(body=st.one_of(_field_pieces, _one_frame))
def test_parse_fields_answers_as_the_field_by_field_scan(body):
    assert tokens(body) == scan(body)


@settings(max_examples=300, deadline=None)
@given(data=st.one_of(st.binary(max_size=2000), st.integers(0, 1100).map(lambda n: b"\xff" * n)))
def test_the_checksum_is_the_sum_of_the_bytes_modulo_256_at_any_length(data):
    assert checksum(data) == sum(data) % 256

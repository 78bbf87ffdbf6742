"""Splitting a FIX 4.2 byte stream into frames, strictly by BodyLength, and tokenising a frame.

Pure code: bytes in, frames (or :class:`FrameError` items) out. The gateway and the client own the
sockets and decide what to answer (Reject, Logout) to each error.

How :class:`FrameReader` frames (why not simplefix's parser: it does not check BodyLength or
CheckSum, and cuts a ``35=n`` envelope at the inner ``10=``, simplefix issue #16):

1. Find ``8=FIX.4.2<SOH>``. Bytes before it are one ``garbage`` item.
2. Read ``9=<digits><SOH>``. Non-digits, a length below the shortest possible body or too many
   digits give ``bad_body_length``; a frame that would exceed ``max_frame_size`` gives
   ``oversized``. Either way the reader skips that ``8=`` and resynchronises on the next one.
3. Wait until header + BodyLength + ``10=NNN<SOH>`` bytes are buffered (at most
   ``max_frame_size``). If ``10=`` does not sit exactly where BodyLength says, or the body does
   not start with ``35=``: ``bad_body_length``, resynchronise from the byte after this ``8=`` (so a
   frame hidden behind a lying BodyLength is still found).
4. A frame whose structure holds but whose CheckSum is wrong is dropped whole (``bad_checksum``),
   as FIX prescribes for garbled messages: resynchronising inside it would surface the inner
   message of a damaged ``35=n`` envelope as if it were a frame of its own.
5. A well-formed frame with a byte outside printable ASCII (SOH excepted) is ``non_ascii``; one
   whose fields do not tokenise is ``malformed``. Both are dropped whole.

Memory: after each :meth:`FrameReader.feed` the buffer holds less than ``max_frame_size`` bytes,
so it never grows past ``max_frame_size`` plus one read. A lying BodyLength can delay the frames
behind it until ``max_frame_size`` bytes have arrived, never lose them.
"""

import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from . import tags

SOH = b"\x01"
BEGIN_MARKER = b"8=" + tags.BEGIN_STRING_FIX42.encode("ascii") + SOH
BODY_LENGTH_PREFIX = b"9="
CHECKSUM_FIELD_LENGTH = len(b"10=000\x01")
MIN_BODY_LENGTH = len(b"35=0\x01")
DEFAULT_MAX_FRAME_SIZE = 64 * 1024

_PRINTABLE = frozenset(range(0x20, 0x7F)) | {0x01}
_NON_PRINTABLE = bytes(b for b in range(256) if b not in _PRINTABLE)

# Tokenising in C: a field is 1-9 digits, "=", a value up to the next SOH; a "plain" field is one
# whose tag is not a data length (95, 212, 354, 1401, leading zeros allowed, as int() reads them).
# Possessive quantifiers (*+): no backtracking, which could not find another match here anyway.
_FIELD_RE = re.compile(rb"(\d{1,9}+)=([^\x01]*+)\x01")
_DATA_LENGTH_TAG = rb"0*(?:%b)=" % b"|".join(b"%d" % tag for tag in tags.DATA_FIELDS)
_PLAIN_FIELDS_RE = re.compile(rb"(?:(?!%b)\d{1,9}+=[^\x01]*+\x01)*+" % _DATA_LENGTH_TAG)
_TAG_RE = re.compile(rb"(\d{1,9})=")
_TAG_NUMBERS = {b"%d" % tag: tag for tag in vars(tags).values() if type(tag) is int and tag > 0}
"""The tags ``tags`` names, by their digits: a lookup is quicker than ``int()``."""
_FRAME_HEAD_RE = re.compile(re.escape(BEGIN_MARKER) + rb"9=(\d+)\x01")


class FixParseError(ValueError):
    """A frame's fields cannot be tokenised."""


class FrameErrorReason(StrEnum):
    BAD_CHECKSUM = "bad_checksum"
    BAD_BODY_LENGTH = "bad_body_length"
    GARBAGE = "garbage"
    OVERSIZED = "oversized"
    NON_ASCII = "non_ascii"
    MALFORMED = "malformed"


@dataclass(frozen=True)
class FrameError:
    """A stretch of input that is not a valid frame.

    ``data`` holds the bytes dropped: the whole frame for ``bad_checksum``, ``non_ascii`` and
    ``malformed`` (so the caller may read its MsgSeqNum to reject it), the stretch for
    ``garbage``, and the start of the frame up to what was read for the others.
    """

    reason: FrameErrorReason
    data: bytes
    detail: str = ""


FrameItem = bytes | FrameError


def checksum(data: bytes) -> int:
    """Return the FIX CheckSum of ``data``: the sum of its bytes modulo 256.

    Summed in C, by zlib's Adler-32 over blocks of 256 bytes: its low 16 bits are 1 plus the sum
    of the block's bytes modulo 65521, and 256 bytes sum to at most 65280, so nothing is lost.
    """
    size = len(data)
    if size <= 2 * _CHECKSUM_BLOCK:  # most messages: one or two blocks, without the loop
        low = zlib.adler32(data[:_CHECKSUM_BLOCK]) & 0xFFFF
        high = zlib.adler32(data[_CHECKSUM_BLOCK:]) & 0xFFFF if size > _CHECKSUM_BLOCK else 1
        return (low + high - 2) % 256
    total = 0
    for start in range(0, size, _CHECKSUM_BLOCK):
        total += (zlib.adler32(data[start : start + _CHECKSUM_BLOCK]) & 0xFFFF) - 1
    return total % 256


_CHECKSUM_BLOCK = 256


def is_printable_ascii(data: bytes) -> bool:
    """Tell whether ``data`` holds only printable ASCII and SOH (R19: refuse non-ASCII input)."""
    return len(data.translate(None, _NON_PRINTABLE)) == len(data)


def parse_fields(frame: bytes) -> list[tuple[int, bytes]]:
    """Tokenise ``frame`` into ``(tag, value)`` pairs, in order, repeats kept.

    Data fields (212/213, 354/355, 95/96, 1401/1402) are read by the length in the preceding
    length field, so their value may contain SOH (a 35=n envelope's 213 holds a whole FIX
    message). Raise :class:`FixParseError` (a ``ValueError``) on a non-numeric tag, a field with
    no ``=``, a data length that does not fit, or a frame that does not end with SOH.
    """
    fields = _split_fields(frame)
    if fields is None:
        return _scan_fields(frame)
    return fields


def _split_fields(frame: bytes, *, keep: bool = True) -> list[tuple[int, bytes]] | None:
    """Tokenise ``frame`` with regular expressions (in C), or return ``None`` to leave it to the scan.

    Runs of ordinary fields are matched whole; a data field is cut by the length before it. Where
    this answers, it answers as :func:`_scan_fields`; any doubt (a syntax error, whose message the
    scan words) returns ``None``. Without ``keep`` only the verdict counts: ordinary fields are not kept.
    """
    fields: list[tuple[int, bytes]] = []
    pos = 0
    end = len(frame)
    while True:
        run_end = _PLAIN_FIELDS_RE.match(frame, pos).end()
        if keep:
            fields += [
                (_TAG_NUMBERS.get(tag) or int(tag), value) for tag, value in _FIELD_RE.findall(frame, pos, run_end)
            ]
        if run_end == end:
            return fields
        length_field = _FIELD_RE.match(frame, run_end)  # a data length field, unless the syntax is wrong
        if length_field is None or not length_field[2].isdigit():
            return None
        length_tag = int(length_field[1])
        data_tag = tags.DATA_FIELDS.get(length_tag)
        if data_tag is None:
            return None
        fields.append((length_tag, length_field[2]))
        pos = length_field.end()
        next_tag = _TAG_RE.match(frame, pos)
        if next_tag is not None and int(next_tag[1]) == data_tag:
            stop = next_tag.end() + int(length_field[2])
            if stop >= end or frame[stop] != SOH[0]:
                return None
            fields.append((data_tag, frame[next_tag.end() : stop]))
            pos = stop + 1


def _scan_fields(frame: bytes) -> list[tuple[int, bytes]]:
    """Tokenise ``frame`` field by field (see :func:`parse_fields`)."""
    fields: list[tuple[int, bytes]] = []
    pos = 0
    end = len(frame)
    pending_data: tuple[int, int] | None = None  # (value tag, length) announced by a length tag
    while pos < end:
        eq = frame.find(b"=", pos)
        if eq == -1:
            raise FixParseError(f"field at offset {pos} has no '='")
        tag_bytes = frame[pos:eq]
        if not tag_bytes.isdigit() or not tag_bytes.isascii() or len(tag_bytes) > 9:
            raise FixParseError(f"tag {tag_bytes[:20]!r} at offset {pos} is not a number")
        tag = int(tag_bytes)
        start = eq + 1
        if pending_data is not None and pending_data[0] == tag:
            stop = start + pending_data[1]
            if stop >= end or frame[stop : stop + 1] != SOH:
                raise FixParseError(f"data field {tag} does not end where its length says")
        else:
            stop = frame.find(SOH, start)
            if stop == -1:
                raise FixParseError(f"field {tag} is not terminated by SOH")
        value = frame[start:stop]
        pending_data = None
        if tag in tags.DATA_FIELDS:
            if not value.isdigit() or not value.isascii():
                raise FixParseError(f"length field {tag} is not a number")
            pending_data = (tags.DATA_FIELDS[tag], int(value))
        fields.append((tag, value))
        pos = stop + 1
    return fields


def check_frame(frame: bytes, *, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> FrameError | None:
    """Validate one complete frame; return ``None`` if it is good, else the :class:`FrameError`."""
    if _is_one_good_frame(frame, max_frame_size):
        return None
    reader = FrameReader(max_frame_size=max_frame_size)
    items = reader.feed(frame)
    if items == [frame]:
        return None
    for item in items:
        if isinstance(item, FrameError):
            return item
    return FrameError(FrameErrorReason.BAD_BODY_LENGTH, frame, "not exactly one whole frame")


def _is_one_good_frame(frame: bytes, max_frame_size: int) -> bool:
    """Tell whether ``frame`` is exactly one frame :class:`FrameReader` would return whole.

    The same checks as :meth:`FrameReader._step`, on the frame as it stands instead of a buffer;
    ``False`` leaves the finding (and its wording) to the reader.
    """
    head = _FRAME_HEAD_RE.match(frame)
    if head is None or len(head[1]) > len(str(max_frame_size)):
        return False
    body_start = head.end()
    body_end = body_start + int(head[1])
    frame_end = body_end + CHECKSUM_FIELD_LENGTH
    if body_end - body_start < MIN_BODY_LENGTH or frame_end > max_frame_size or frame_end != len(frame):
        return False
    trailer = frame[body_end:]
    if (
        frame[body_end - 1] != SOH[0]
        or not trailer.startswith(b"10=")
        or not trailer[3:6].isdigit()
        or trailer[6:] != SOH
        or not frame.startswith(b"35=", body_start)
        or int(trailer[3:6]) != checksum(frame[:body_end])
        or not is_printable_ascii(frame)
    ):
        return False
    return _tokenise_problem(frame) is None


def _tokenise_problem(frame: bytes) -> str | None:
    """Why :func:`parse_fields` refuses ``frame``, or ``None`` (found without building the fields)."""
    if _split_fields(frame, keep=False) is not None:
        return None
    try:
        parse_fields(frame)
    except FixParseError as exc:
        return str(exc)
    return None


class FrameReader:
    """Incremental FIX 4.2 framer: :meth:`feed` bytes as they arrive, get frames and errors back.

    Each item returned is either the ``bytes`` of one valid frame (BeginString, BodyLength,
    CheckSum, printable ASCII and field syntax all checked) or a :class:`FrameError`. The reader
    never raises on input.
    """

    def __init__(self, *, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        min_frame = len(BEGIN_MARKER) + len(b"9=5\x01") + MIN_BODY_LENGTH + CHECKSUM_FIELD_LENGTH
        if max_frame_size < min_frame:
            raise ValueError(f"max_frame_size must be at least {min_frame}")
        self.max_frame_size = max_frame_size
        self._max_length_digits = len(str(max_frame_size))
        self._buffer = bytearray()

    @property
    def buffered(self) -> int:
        """Bytes held waiting for the rest of a frame (always < ``max_frame_size`` between feeds)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[FrameItem]:
        """Add ``data`` to the stream; return every frame and error it completes, in order."""
        self._buffer += data
        items: list[FrameItem] = []
        while self._buffer:
            if not self._step(items):
                break
        return items

    def _step(self, items: list[FrameItem]) -> bool:
        """Consume what can be consumed at the head of the buffer; False when more input is needed."""
        buf = self._buffer
        start = buf.find(BEGIN_MARKER)
        if start == -1:
            keep = _partial_marker_suffix(buf)
            if len(buf) > keep:
                items.append(FrameError(FrameErrorReason.GARBAGE, bytes(buf[: len(buf) - keep]), "no FIX.4.2 frame"))
                del buf[: len(buf) - keep]
            return False
        if start > 0:
            items.append(FrameError(FrameErrorReason.GARBAGE, bytes(buf[:start]), "bytes before BeginString"))
            del buf[:start]

        # buf now starts with 8=FIX.4.2<SOH>
        pos = len(BEGIN_MARKER)
        prefix = bytes(buf[pos : pos + len(BODY_LENGTH_PREFIX)])
        if not BODY_LENGTH_PREFIX.startswith(prefix):
            return self._skip_marker(items, FrameErrorReason.BAD_BODY_LENGTH, "BodyLength (9) does not follow 8")
        if len(prefix) < len(BODY_LENGTH_PREFIX):
            return False
        pos += len(BODY_LENGTH_PREFIX)
        digits_end = pos
        while digits_end < len(buf) and 0x30 <= buf[digits_end] <= 0x39:
            digits_end += 1
        n_digits = digits_end - pos
        if n_digits > self._max_length_digits:
            return self._skip_marker(items, FrameErrorReason.OVERSIZED, "BodyLength has too many digits")
        if digits_end == len(buf):
            return False
        if buf[digits_end] != SOH[0] or n_digits == 0:
            return self._skip_marker(items, FrameErrorReason.BAD_BODY_LENGTH, "BodyLength is not a number")
        body_length = int(buf[pos:digits_end])
        if body_length < MIN_BODY_LENGTH:
            return self._skip_marker(items, FrameErrorReason.BAD_BODY_LENGTH, f"BodyLength {body_length} is too small")
        body_start = digits_end + 1
        body_end = body_start + body_length
        frame_end = body_end + CHECKSUM_FIELD_LENGTH
        if frame_end > self.max_frame_size:
            return self._skip_marker(
                items, FrameErrorReason.OVERSIZED, f"frame of {frame_end} bytes exceeds {self.max_frame_size}"
            )
        if len(buf) < frame_end:
            return False

        trailer = bytes(buf[body_end:frame_end])
        if (
            buf[body_end - 1] != SOH[0]
            or not trailer.startswith(b"10=")
            or not trailer[3:6].isdigit()
            or trailer[6:] != SOH
            or not buf.startswith(b"35=", body_start)
        ):
            return self._skip_marker(
                items, FrameErrorReason.BAD_BODY_LENGTH, "CheckSum (10) is not where BodyLength says"
            )

        frame = bytes(buf[:frame_end])
        del buf[:frame_end]
        expected = checksum(frame[:body_end])
        if int(trailer[3:6]) != expected:
            items.append(
                FrameError(
                    FrameErrorReason.BAD_CHECKSUM, frame, f"CheckSum {trailer[3:6].decode()} should be {expected:03d}"
                )
            )
        elif not is_printable_ascii(frame):
            items.append(FrameError(FrameErrorReason.NON_ASCII, frame, "non-printable or non-ASCII bytes"))
        elif (problem := _tokenise_problem(frame)) is not None:
            items.append(FrameError(FrameErrorReason.MALFORMED, frame, problem))
        else:
            items.append(frame)
        return True

    def _skip_marker(self, items: list[FrameItem], reason: FrameErrorReason, detail: str) -> bool:
        """Report the frame start at the head of the buffer and resynchronise after its first byte."""
        buf = self._buffer
        next_start = buf.find(BEGIN_MARKER, 1)
        dropped_to = next_start if next_start != -1 else max(1, len(buf) - _partial_marker_suffix(buf))
        items.append(FrameError(reason, bytes(buf[:dropped_to]), detail))
        del buf[:dropped_to]
        return True


def _partial_marker_suffix(buf: bytes | bytearray) -> int:
    """Length of the longest tail of ``buf`` that could be the start of ``8=FIX.4.2<SOH>``."""
    for length in range(min(len(BEGIN_MARKER) - 1, len(buf)), 0, -1):
        if buf.endswith(BEGIN_MARKER[:length]):
            return length
    return 0


def iter_frames(chunks: Iterable[bytes], *, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> Iterator[FrameItem]:
    """Frame a stream given as chunks (as read from a socket); yield frames and errors in order."""
    reader = FrameReader(max_frame_size=max_frame_size)
    for chunk in chunks:
        yield from reader.feed(chunk)

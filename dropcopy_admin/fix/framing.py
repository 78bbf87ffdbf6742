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
    """Return the FIX CheckSum of ``data``: the sum of its bytes modulo 256."""
    return sum(data) % 256


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
    reader = FrameReader(max_frame_size=max_frame_size)
    items = reader.feed(frame)
    if items == [frame]:
        return None
    for item in items:
        if isinstance(item, FrameError):
            return item
    return FrameError(FrameErrorReason.BAD_BODY_LENGTH, frame, "not exactly one whole frame")


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
        else:
            try:
                parse_fields(frame)
            except FixParseError as exc:
                items.append(FrameError(FrameErrorReason.MALFORMED, frame, str(exc)))
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

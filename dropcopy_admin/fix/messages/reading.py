"""Reading a frame back: ``Message``, a read-only view of its fields with typed getters."""

import datetime as dt
from collections.abc import Iterable, Iterator

from .. import tags
from ..framing import parse_fields
from .encoding import parse_sending_time


class Message:
    """A read-only view of one frame's fields (as returned by :func:`parse_fields`)."""

    __slots__ = ("fields", "raw")

    def __init__(self, fields: Iterable[tuple[int, bytes]], raw: bytes = b"") -> None:
        self.fields: tuple[tuple[int, bytes], ...] = tuple(fields)
        self.raw = raw

    @classmethod
    def parse(cls, frame: bytes) -> "Message":
        """Tokenise ``frame``; :class:`FixParseError` (a ``ValueError``) if it does not tokenise."""
        return cls(parse_fields(frame), raw=frame)

    def get(self, tag: int, nth: int = 1) -> bytes | None:
        """Return the ``nth`` value of ``tag`` (first by default), or ``None``."""
        for field_tag, value in self.fields:
            if field_tag == tag:
                nth -= 1
                if nth == 0:
                    return value
        return None

    def get_all(self, tag: int) -> list[bytes]:
        return [value for field_tag, value in self.fields if field_tag == tag]

    def get_str(self, tag: int) -> str | None:
        value = self.get(tag)
        return None if value is None else value.decode("ascii", "replace")

    def get_int(self, tag: int) -> int | None:
        """Return ``tag`` as an int; ``ValueError`` if it is present but not a plain number."""
        value = self.get(tag)
        if value is None:
            return None
        if not (value.isdigit() or (value[:1] == b"-" and value[1:].isdigit())):
            raise ValueError(f"tag {tag} is not an integer: {value[:20]!r}")
        return int(value)

    def get_bool(self, tag: int) -> bool | None:
        """Return a ``Y``/``N`` field as a bool; ``ValueError`` for any other value."""
        value = self.get(tag)
        if value is None:
            return None
        if value not in (b"Y", b"N"):
            raise ValueError(f"tag {tag} is not Y/N: {value[:20]!r}")
        return value == b"Y"

    def get_time(self, tag: int) -> dt.datetime | None:
        value = self.get(tag)
        return None if value is None else parse_sending_time(value)

    def first_values(self) -> dict[int, bytes]:
        """Map each tag to its first value (what :func:`~.signature.verify_logon_signature` takes)."""
        result: dict[int, bytes] = {}
        for tag, value in self.fields:
            result.setdefault(tag, value)
        return result

    @property
    def msg_type(self) -> str | None:
        return self.get_str(tags.MSG_TYPE)

    @property
    def seq_num(self) -> int | None:
        return self.get_int(tags.MSG_SEQ_NUM)

    @property
    def poss_dup(self) -> bool:
        return self.get(tags.POSS_DUP_FLAG) == b"Y"

    @property
    def sending_time(self) -> dt.datetime | None:
        return self.get_time(tags.SENDING_TIME)

    def __contains__(self, tag: object) -> bool:
        return any(field_tag == tag for field_tag, _ in self.fields)

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def __repr__(self) -> str:
        shown = "|".join(f"{tag}={value.decode('ascii', 'replace')}" for tag, value in self.fields[:12])
        more = "|…" if len(self.fields) > 12 else ""
        return f"<Message {shown}{more}>"

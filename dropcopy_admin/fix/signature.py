"""CME secure logon: the canonical request string and its HMAC-SHA256 signature.

Algorithm (domain-reference §1.5, verified against the public test vector there):

1. Take the values of tags 34, 49, 50, 52, 57, 108, 142, 369, 1603, 1604, 1605 in that order.
2. Join them with ``\\n``; no trailing newline. A tag missing from the logon contributes an
   empty value, so the number of separators is always ten and the receiver recomputes the same
   string from what it received.
3. base64url-decode the Secret Key (43 characters → 32 bytes) and compute HMAC-SHA256 over the
   canonical string.
4. base64url-encode the digest without padding: 43 characters, sent in 1402 with 1401=43.
"""

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping

from . import tags

CANONICAL_TAGS: tuple[int, ...] = (
    tags.MSG_SEQ_NUM,
    tags.SENDER_COMP_ID,
    tags.SENDER_SUB_ID,
    tags.SENDING_TIME,
    tags.TARGET_SUB_ID,
    tags.HEART_BT_INT,
    tags.SENDER_LOCATION_ID,
    tags.LAST_MSG_SEQ_NUM_PROCESSED,
    tags.APPLICATION_SYSTEM_NAME,
    tags.TRADING_SYSTEM_VERSION,
    tags.APPLICATION_SYSTEM_VENDOR,
)
"""Tags whose values make up the canonical logon string, in signing order."""

SIGNATURE_LENGTH = 43
SECRET_KEY_LENGTH = 43
_SECRET_KEY_RE = re.compile(r"[A-Za-z0-9_-]{43}=?")
_SIGNATURE_RE = re.compile(rb"[A-Za-z0-9_-]{43}")

FieldValue = str | bytes | int


def _as_bytes(value: FieldValue) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


def canonical_logon_string(fields: Mapping[int, FieldValue]) -> bytes:
    """Return the canonical string CME signs for a logon built from ``fields`` (tag → value).

    A tag absent from ``fields`` (or mapped to ``None``) is an empty value: the line is kept, so
    ``\\n`` separators never shift.
    """
    values = []
    for tag in CANONICAL_TAGS:
        value = fields.get(tag)
        values.append(b"" if value is None else _as_bytes(value))
    return b"\n".join(values)


def decode_secret_key(secret_key_b64url: str) -> bytes:
    """Decode a 43-character base64url Secret Key into its 32 bytes; ``ValueError`` if malformed."""
    if not isinstance(secret_key_b64url, str) or not _SECRET_KEY_RE.fullmatch(secret_key_b64url):
        raise ValueError("secret key must be 43 base64url characters")
    key = base64.urlsafe_b64decode(secret_key_b64url.rstrip("=") + "=")
    if len(key) != 32:  # pragma: no cover - 43 base64 characters always give 32 bytes
        raise ValueError("secret key must decode to 32 bytes")
    return key


def sign_logon(secret_key_b64url: str, fields: Mapping[int, FieldValue]) -> str:
    """Return the 43-character base64url (unpadded) HMAC-SHA256 signature of a logon's fields."""
    key = decode_secret_key(secret_key_b64url)
    digest = hmac.new(key, canonical_logon_string(fields), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify_logon_signature(
    secret_key_b64url: str, fields: Mapping[int, FieldValue], signature: str | bytes | None
) -> bool:
    """Tell whether ``signature`` (tag 1402) signs ``fields`` under the Secret Key, in constant time.

    A malformed signature is simply not valid; a malformed secret key raises ``ValueError``
    (a configuration error, not the client's).
    """
    expected = sign_logon(secret_key_b64url, fields).encode("ascii")
    if signature is None:
        return False
    presented = signature if isinstance(signature, bytes) else signature.encode("utf-8")
    if not _SIGNATURE_RE.fullmatch(presented):
        return False
    return hmac.compare_digest(expected, presented)

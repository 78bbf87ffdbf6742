"""CME secure logon signature (domain-reference §1.5)."""

import base64
import hashlib
import hmac

import pytest

from dropcopy_admin.fix import signature, tags
from dropcopy_admin.fix.signature import canonical_logon_string, sign_logon, verify_logon_signature

SECRET = "2HlZ7exg8jTKltXnURjKvm3GS5iF5n4ClzHiEm_ocv4"
EXPECTED = "oHZ2Dx1ihFAp7kHOFcJPkijm27xfApJFp-ZhsSCxr3s"
VECTOR = {
    34: "1",
    49: "B08004N",
    50: "MSG",
    52: "20170623-14:48:42.855",
    57: "92",
    108: "60",
    142: "US,NY",
    369: "0",
    1603: "BRIO",
    1604: "8.0",
    1605: "ABC",
}


def test_public_test_vector_reproduces_exactly():
    assert sign_logon(SECRET, VECTOR) == EXPECTED
    assert verify_logon_signature(SECRET, VECTOR, EXPECTED)


def test_canonical_string_joins_values_in_order_without_trailing_newline():
    assert canonical_logon_string(VECTOR) == (
        b"1\nB08004N\nMSG\n20170623-14:48:42.855\n92\n60\nUS,NY\n0\nBRIO\n8.0\nABC"
    )


def test_bytes_and_int_values_sign_like_strings():
    mixed = {tag: value.encode() for tag, value in VECTOR.items()} | {34: 1, 108: 60, 369: 0}
    assert sign_logon(SECRET, mixed) == EXPECTED


def test_a_missing_tag_is_an_empty_value_and_keeps_every_separator():
    without_location = {tag: value for tag, value in VECTOR.items() if tag != tags.SENDER_LOCATION_ID}
    assert canonical_logon_string(without_location) == (
        b"1\nB08004N\nMSG\n20170623-14:48:42.855\n92\n60\n\n0\nBRIO\n8.0\nABC"
    )
    assert canonical_logon_string({}) == b"\n" * 10


def test_tags_outside_the_canonical_set_do_not_change_the_signature():
    assert sign_logon(SECRET, VECTOR | {56: "CME", 355: "oNDxM33uE81ohWuVRtWT"}) == EXPECTED


@pytest.mark.parametrize("tag", signature.CANONICAL_TAGS)
def test_changing_any_signed_field_fails_verification(tag):
    changed = VECTOR | {tag: VECTOR[tag] + "X"}
    assert not verify_logon_signature(SECRET, changed, EXPECTED)


def test_the_buggy_ordering_without_1604_does_not_match():
    buggy = b"\n".join(VECTOR[tag].encode() for tag in signature.CANONICAL_TAGS if tag != tags.TRADING_SYSTEM_VERSION)
    key = base64.urlsafe_b64decode(SECRET + "=")
    buggy_signature = base64.urlsafe_b64encode(hmac.new(key, buggy, hashlib.sha256).digest()).rstrip(b"=").decode()
    assert buggy_signature != EXPECTED
    assert not verify_logon_signature(SECRET, VECTOR, buggy_signature)


def test_another_secret_key_fails_verification():
    other = "A" * 43
    assert not verify_logon_signature(other, VECTOR, EXPECTED)


@pytest.mark.parametrize(
    "secret",
    ["", "short", SECRET[:-1], SECRET + "AB", SECRET[:-1] + "+", SECRET[:-1] + "/", SECRET[:-1] + "é", None, 42],
)
def test_malformed_secret_keys_are_refused(secret):
    with pytest.raises(ValueError):
        sign_logon(secret, VECTOR)
    with pytest.raises(ValueError):
        verify_logon_signature(secret, VECTOR, EXPECTED)


def test_a_padded_secret_key_is_accepted():
    assert sign_logon(SECRET + "=", VECTOR) == EXPECTED


@pytest.mark.parametrize(
    "presented", [None, "", EXPECTED[:-1], EXPECTED + "=", EXPECTED[:-1] + "é", EXPECTED.encode(), EXPECTED.lower()]
)
def test_malformed_or_wrong_signatures_are_simply_invalid(presented):
    assert verify_logon_signature(SECRET, VECTOR, presented) is (presented == EXPECTED.encode())


def test_signature_is_43_base64url_characters():
    value = sign_logon(SECRET, VECTOR)
    assert len(value) == signature.SIGNATURE_LENGTH == 43
    assert "=" not in value and "+" not in value and "/" not in value

"""Session-level messages: Logon (signed and answering), Heartbeat, TestRequest, ResendRequest,
Reject, Business Message Reject, SequenceReset-GapFill and Logout.
"""

import datetime as dt

from .. import tags
from ..signature import sign_logon
from ..tags import MsgType
from .encoding import SessionHeader, Value, build_message, encode_message, wire_value


def build_logon(
    header: SessionHeader,
    *,
    heartbeat_interval: int,
    access_key_id: str,
    secret_key: str,
    application_system_name: str,
    trading_system_version: str,
    application_system_vendor: str,
    reset_seq_num: bool | None = None,
    encrypt_method: int | None = None,
) -> bytes:
    """Build the client's signed Logon (35=A), CME secure logon style (domain-reference §1.5).

    Carries 108, 354/355 (the Access Key ID), 1603/1604/1605, optional 141, and 1400
    ``CME-1-SHA-256`` / 1401 / 1402 signed over the very values encoded (142 and 369 come from
    ``header``; when absent they sign as empty). 98 EncryptMethod is left out unless given: the
    public CME client code strips it.
    """
    body: list[tuple[int, Value]] = [
        (tags.ENCRYPT_METHOD, encrypt_method),
        (tags.HEART_BT_INT, heartbeat_interval),
        (tags.RESET_SEQ_NUM_FLAG, reset_seq_num),
        (tags.ENCODED_TEXT_LEN, len(access_key_id)),
        (tags.ENCODED_TEXT, access_key_id),
        (tags.APPLICATION_SYSTEM_NAME, application_system_name),
        (tags.TRADING_SYSTEM_VERSION, trading_system_version),
        (tags.APPLICATION_SYSTEM_VENDOR, application_system_vendor),
    ]
    signed = {tag: wire_value(tag, value) for tag, value in header.pairs() + body if value is not None}
    signature = sign_logon(secret_key, signed)
    body += [
        (tags.ENCRYPTED_PASSWORD_METHOD, tags.ENCRYPTED_PASSWORD_METHOD_CME),
        (tags.ENCRYPTED_PASSWORD_LEN, len(signature)),
        (tags.ENCRYPTED_PASSWORD, signature),
    ]
    return build_message(MsgType.LOGON, header, body)


def build_logon_response(
    header: SessionHeader,
    *,
    heartbeat_interval: int,
    application_system_name: str | None,
    trading_system_version: str | None,
    application_system_vendor: str | None,
    reset_seq_num: bool | None = None,
    encrypt_method: int | None = None,
) -> bytes:
    """Build the acceptor's answering Logon, echoing the client's 108, 141 and 1603–1605 (§1.4)."""
    return build_message(
        MsgType.LOGON,
        header,
        [
            (tags.ENCRYPT_METHOD, encrypt_method),
            (tags.HEART_BT_INT, heartbeat_interval),
            (tags.RESET_SEQ_NUM_FLAG, reset_seq_num),
            (tags.APPLICATION_SYSTEM_NAME, application_system_name),
            (tags.TRADING_SYSTEM_VERSION, trading_system_version),
            (tags.APPLICATION_SYSTEM_VENDOR, application_system_vendor),
        ],
    )


def build_heartbeat(header: SessionHeader, *, test_req_id: str | None = None) -> bytes:
    """Build a Heartbeat (35=0); answer a TestRequest by echoing its 112."""
    return build_message(MsgType.HEARTBEAT, header, [(tags.TEST_REQ_ID, test_req_id)])


def build_test_request(header: SessionHeader, *, test_req_id: str) -> bytes:
    """Build a TestRequest (35=1)."""
    return build_message(MsgType.TEST_REQUEST, header, [(tags.TEST_REQ_ID, test_req_id)])


def build_resend_request(header: SessionHeader, *, begin_seq_no: int, end_seq_no: int) -> bytes:
    """Build a ResendRequest (35=2); ``end_seq_no`` 0 means "up to the latest"."""
    if begin_seq_no < 1 or end_seq_no < 0 or (end_seq_no and end_seq_no < begin_seq_no):
        raise ValueError("ResendRequest range is invalid")
    return build_message(
        MsgType.RESEND_REQUEST, header, [(tags.BEGIN_SEQ_NO, begin_seq_no), (tags.END_SEQ_NO, end_seq_no)]
    )


def build_reject(
    header: SessionHeader,
    *,
    ref_seq_num: int,
    ref_msg_type: str | None = None,
    session_reject_reason: int | None = None,
    text: str | None = None,
    ref_tag_id: int | None = None,
) -> bytes:
    """Build a session-level Reject (35=3) of the message numbered ``ref_seq_num``."""
    return build_message(
        MsgType.REJECT,
        header,
        [
            (tags.REF_SEQ_NUM, ref_seq_num),
            (tags.REF_TAG_ID, ref_tag_id),
            (tags.REF_MSG_TYPE, ref_msg_type),
            (tags.SESSION_REJECT_REASON, session_reject_reason),
            (tags.TEXT, text),
        ],
    )


def build_business_message_reject(
    header: SessionHeader,
    *,
    ref_seq_num: int,
    ref_msg_type: str,
    business_reject_reason: int,
    text: str | None = None,
) -> bytes:
    """Build a Business Message Reject (35=j); R14 answers order entry with 380=3."""
    return build_message(
        MsgType.BUSINESS_MESSAGE_REJECT,
        header,
        [
            (tags.REF_SEQ_NUM, ref_seq_num),
            (tags.REF_MSG_TYPE, ref_msg_type),
            (tags.BUSINESS_REJECT_REASON, business_reject_reason),
            (tags.TEXT, text),
        ],
    )


def build_sequence_reset_gap_fill(
    header: SessionHeader,
    *,
    new_seq_no: int,
    resend: bool = False,
    orig_sending_time: dt.datetime | None = None,
) -> bytes:
    """Build a SequenceReset-GapFill (35=4, 123=Y, 36) standing for messages not resent.

    ``header.seq_num`` is the first number filled. With ``resend`` (answering a ResendRequest)
    it carries 43=Y and 122 OrigSendingTime, which defaults to the SendingTime, as FIX allows
    when the original time is unknown.
    """
    if new_seq_no <= header.seq_num:
        raise ValueError("NewSeqNo must be above the gap fill's own MsgSeqNum")
    extra: list[tuple[int, Value]] = []
    if resend:
        extra = [
            (tags.POSS_DUP_FLAG, True),
            (tags.ORIG_SENDING_TIME, orig_sending_time or header.sending_time),
        ]
    elif orig_sending_time is not None:
        raise ValueError("OrigSendingTime is for resent messages only")
    return encode_message(
        MsgType.SEQUENCE_RESET,
        header.pairs() + extra,
        [(tags.GAP_FILL_FLAG, True), (tags.NEW_SEQ_NO, new_seq_no)],
    )


def build_logout(
    header: SessionHeader, *, text: str | None = None, next_expected_msg_seq_num: int | None = None
) -> bytes:
    """Build a Logout (35=5), with 789 when the peer's MsgSeqNum was too low (mid-week logon)."""
    return build_message(
        MsgType.LOGOUT, header, [(tags.TEXT, text), (tags.NEXT_EXPECTED_MSG_SEQ_NUM, next_expected_msg_seq_num)]
    )

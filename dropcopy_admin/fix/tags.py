"""FIX 4.2 tag numbers and MsgType values used by the drop copy session layer and its payloads.

Sources: ``docs/domain-reference.md`` §1.2–1.7 (CME Drop Copy 4.0 / iLink 2) and the FIX 4.2
specification. Tags are ``int``; MsgTypes are ``str`` exactly as they appear after ``35=``.
"""

from typing import Final

BEGIN_STRING_FIX42: Final = "FIX.4.2"

# --- Standard header / trailer ---------------------------------------------------------------
BEGIN_STRING: Final = 8
BODY_LENGTH: Final = 9
MSG_TYPE: Final = 35
MSG_SEQ_NUM: Final = 34
SENDER_COMP_ID: Final = 49
SENDER_SUB_ID: Final = 50
SENDING_TIME: Final = 52
TARGET_COMP_ID: Final = 56
TARGET_SUB_ID: Final = 57
POSS_DUP_FLAG: Final = 43
POSS_RESEND: Final = 97
ORIG_SENDING_TIME: Final = 122
SENDER_LOCATION_ID: Final = 142
TARGET_LOCATION_ID: Final = 143
LAST_MSG_SEQ_NUM_PROCESSED: Final = 369
CHECKSUM: Final = 10

# --- Session layer ---------------------------------------------------------------------------
ENCRYPT_METHOD: Final = 98
HEART_BT_INT: Final = 108
RESET_SEQ_NUM_FLAG: Final = 141
TEST_REQ_ID: Final = 112
BEGIN_SEQ_NO: Final = 7
END_SEQ_NO: Final = 16
NEW_SEQ_NO: Final = 36
GAP_FILL_FLAG: Final = 123
REF_SEQ_NUM: Final = 45
REF_TAG_ID: Final = 371
REF_MSG_TYPE: Final = 372
SESSION_REJECT_REASON: Final = 373
BUSINESS_REJECT_REASON: Final = 380
TEXT: Final = 58
NEXT_EXPECTED_MSG_SEQ_NUM: Final = 789

# --- CME secure logon (domain-reference §1.5) ------------------------------------------------
RAW_DATA_LENGTH: Final = 95
RAW_DATA: Final = 96
ENCODED_TEXT_LEN: Final = 354
ENCODED_TEXT: Final = 355
ENCRYPTED_PASSWORD_METHOD: Final = 1400
ENCRYPTED_PASSWORD_LEN: Final = 1401
ENCRYPTED_PASSWORD: Final = 1402
APPLICATION_SYSTEM_NAME: Final = 1603
TRADING_SYSTEM_VERSION: Final = 1604
APPLICATION_SYSTEM_VENDOR: Final = 1605

# --- Drop copy envelope (35=n, domain-reference §1.7) ----------------------------------------
XML_DATA_LEN: Final = 212
XML_DATA: Final = 213

# --- Execution report payload (35=8, iLink 2 style, domain-reference §1.7) -------------------
ACCOUNT: Final = 1
AVG_PX: Final = 6
CL_ORD_ID: Final = 11
CUM_QTY: Final = 14
EXEC_ID: Final = 17
EXEC_REF_ID: Final = 19
EXEC_TRANS_TYPE: Final = 20
LAST_PX: Final = 31
LAST_QTY: Final = 32
ORDER_ID: Final = 37
ORDER_QTY: Final = 38
ORD_STATUS: Final = 39
ORD_TYPE: Final = 40
ORIG_CL_ORD_ID: Final = 41
PRICE: Final = 44
SECURITY_ID: Final = 48
SIDE: Final = 54
SYMBOL: Final = 55
TIME_IN_FORCE: Final = 59
TRANSACT_TIME: Final = 60
TRADE_DATE: Final = 75
SECURITY_DESC: Final = 107
EXEC_TYPE: Final = 150
LEAVES_QTY: Final = 151
SECURITY_TYPE: Final = 167
CONTRA_BROKER: Final = 375
SECONDARY_EXEC_ID: Final = 527
MANUAL_ORDER_INDICATOR: Final = 1028
AGGRESSOR_INDICATOR: Final = 1057
CORRELATION_CL_ORD_ID: Final = 9717

# --- Length-prefixed (FIX "data") fields: length tag -> value tag -----------------------------
# The value of a data field may legitimately contain SOH (213 carries a whole FIX message), so a
# parser must read it by the length given in the preceding length tag.
DATA_FIELDS: Final[dict[int, int]] = {
    RAW_DATA_LENGTH: RAW_DATA,
    XML_DATA_LEN: XML_DATA,
    ENCODED_TEXT_LEN: ENCODED_TEXT,
    ENCRYPTED_PASSWORD_LEN: ENCRYPTED_PASSWORD,
}


class MsgType:
    """MsgType (35) values."""

    HEARTBEAT: Final = "0"
    TEST_REQUEST: Final = "1"
    RESEND_REQUEST: Final = "2"
    REJECT: Final = "3"
    SEQUENCE_RESET: Final = "4"
    LOGOUT: Final = "5"
    EXECUTION_REPORT: Final = "8"
    LOGON: Final = "A"
    BUSINESS_MESSAGE_REJECT: Final = "j"
    XML: Final = "n"

    # Order entry and quoting: refused by a drop copy gateway (product-spec R14).
    NEW_ORDER_SINGLE: Final = "D"
    ORDER_CANCEL_REQUEST: Final = "F"
    ORDER_CANCEL_REPLACE_REQUEST: Final = "G"
    ORDER_STATUS_REQUEST: Final = "H"
    ORDER_MASS_CANCEL_REQUEST: Final = "q"
    NEW_ORDER_CROSS: Final = "s"
    NEW_ORDER_MULTILEG: Final = "AB"
    MULTILEG_ORDER_CANCEL_REPLACE: Final = "AC"
    QUOTE_REQUEST: Final = "R"
    QUOTE: Final = "S"
    MASS_QUOTE: Final = "i"


ADMIN_MSG_TYPES: Final = frozenset(
    {
        MsgType.HEARTBEAT,
        MsgType.TEST_REQUEST,
        MsgType.RESEND_REQUEST,
        MsgType.REJECT,
        MsgType.SEQUENCE_RESET,
        MsgType.LOGOUT,
        MsgType.LOGON,
    }
)
"""Session-level MsgTypes."""

ORDER_ENTRY_MSG_TYPES: Final = frozenset(
    {
        MsgType.NEW_ORDER_SINGLE,
        MsgType.ORDER_CANCEL_REQUEST,
        MsgType.ORDER_CANCEL_REPLACE_REQUEST,
        MsgType.ORDER_STATUS_REQUEST,
        MsgType.ORDER_MASS_CANCEL_REQUEST,
        MsgType.NEW_ORDER_CROSS,
        MsgType.NEW_ORDER_MULTILEG,
        MsgType.MULTILEG_ORDER_CANCEL_REPLACE,
        MsgType.QUOTE_REQUEST,
        MsgType.QUOTE,
        MsgType.MASS_QUOTE,
    }
)
"""Order-entry and quote MsgTypes a drop copy gateway answers with 35=j, 380=3 (R14)."""


class SessionRejectReason:
    """SessionRejectReason (373) values, FIX 4.2."""

    INVALID_TAG_NUMBER: Final = 0
    REQUIRED_TAG_MISSING: Final = 1
    TAG_NOT_DEFINED_FOR_MSG_TYPE: Final = 2
    UNDEFINED_TAG: Final = 3
    TAG_WITHOUT_VALUE: Final = 4
    VALUE_INCORRECT: Final = 5
    INCORRECT_DATA_FORMAT: Final = 6
    DECRYPTION_PROBLEM: Final = 7
    SIGNATURE_PROBLEM: Final = 8
    COMP_ID_PROBLEM: Final = 9
    SENDING_TIME_ACCURACY_PROBLEM: Final = 10
    INVALID_MSG_TYPE: Final = 11


class BusinessRejectReason:
    """BusinessRejectReason (380) values, FIX 4.2."""

    OTHER: Final = 0
    UNKNOWN_ID: Final = 1
    UNKNOWN_SECURITY: Final = 2
    UNSUPPORTED_MESSAGE_TYPE: Final = 3
    APPLICATION_NOT_AVAILABLE: Final = 4
    CONDITIONALLY_REQUIRED_FIELD_MISSING: Final = 5


ENCRYPTED_PASSWORD_METHOD_CME: Final = "CME-1-SHA-256"
"""Value of 1400 on a CME secure logon (domain-reference §1.5)."""

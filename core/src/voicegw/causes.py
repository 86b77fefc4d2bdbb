"""Hang-up causes: ITU-T Q.850 cause values and SIP final responses → :class:`HangupCause`.

Every Q.850 value 0–127 and every SIP final status 200–699 has a category. Values that the
standards leave unassigned fall back to the category of their class (Q.850 groups causes in
classes of 16: normal events, resource unavailable, service not available, …).

SIP responses also carry the Q.850 cause that RFC 3398 §8.2.6.1 maps them to, so a record from
a SIP-speaking provider can be compared with one from a Q.850-speaking provider.

>>> from_q850(17).category
<HangupCategory.BUSY: 'busy'>
>>> cause = from_sip(486)
>>> cause.category, cause.q850
(<HangupCategory.BUSY: 'busy'>, 17)
"""

from __future__ import annotations

from voicegw.models import CallStatus, HangupCategory, HangupCause

__all__ = [
    "Q850_CATEGORIES",
    "Q850_NAMES",
    "SIP_CATEGORIES",
    "SIP_PHRASES",
    "SIP_TO_Q850",
    "from_q850",
    "from_sip",
    "status_for",
]

C = HangupCategory

#: ITU-T Q.850 cause values with their standard names.
Q850_NAMES: dict[int, str] = {
    0: "not applicable",
    1: "unallocated (unassigned) number",
    2: "no route to specified transit network",
    3: "no route to destination",
    4: "send special information tone",
    5: "misdialled trunk prefix",
    6: "channel unacceptable",
    7: "call awarded and being delivered in an established channel",
    8: "preemption",
    9: "preemption — circuit reserved for reuse",
    14: "query on portability, number ported out",
    16: "normal call clearing",
    17: "user busy",
    18: "no user responding",
    19: "no answer from user (user alerted)",
    20: "subscriber absent",
    21: "call rejected",
    22: "number changed",
    23: "redirection to new destination",
    25: "exchange routing error",
    26: "non-selected user clearing",
    27: "destination out of order",
    28: "invalid number format (address incomplete)",
    29: "facility rejected",
    30: "response to STATUS ENQUIRY",
    31: "normal, unspecified",
    34: "no circuit/channel available",
    38: "network out of order",
    39: "permanent frame mode connection out of service",
    40: "permanent frame mode connection operational",
    41: "temporary failure",
    42: "switching equipment congestion",
    43: "access information discarded",
    44: "requested circuit/channel not available",
    46: "precedence call blocked",
    47: "resource unavailable, unspecified",
    49: "quality of service not available",
    50: "requested facility not subscribed",
    53: "outgoing calls barred within CUG",
    55: "incoming calls barred within CUG",
    57: "bearer capability not authorized",
    58: "bearer capability not presently available",
    62: "inconsistency in designated outgoing access information and subscriber class",
    63: "service or option not available, unspecified",
    65: "bearer capability not implemented",
    66: "channel type not implemented",
    69: "requested facility not implemented",
    70: "only restricted digital information bearer capability is available",
    79: "service or option not implemented, unspecified",
    81: "invalid call reference value",
    82: "identified channel does not exist",
    83: "a suspended call exists, but this call identity does not",
    84: "call identity in use",
    85: "no call suspended",
    86: "call having the requested call identity has been cleared",
    87: "user not member of CUG",
    88: "incompatible destination",
    90: "non-existent CUG",
    91: "invalid transit network selection",
    95: "invalid message, unspecified",
    96: "mandatory information element is missing",
    97: "message type non-existent or not implemented",
    98: "message not compatible with call state or message type non-existent",
    99: "information element / parameter non-existent or not implemented",
    100: "invalid information element contents",
    101: "message not compatible with call state",
    102: "recovery on timer expiry",
    103: "parameter non-existent or not implemented, passed on",
    110: "message with unrecognized parameter, discarded",
    111: "protocol error, unspecified",
    127: "interworking, unspecified",
}

#: Categories of the causes that have one of their own; others follow their class.
Q850_CATEGORIES: dict[int, HangupCategory] = {
    0: C.UNKNOWN,
    1: C.INVALID_NUMBER,
    2: C.UNREACHABLE,
    3: C.UNREACHABLE,
    4: C.INVALID_NUMBER,
    5: C.INVALID_NUMBER,
    6: C.NETWORK_ERROR,
    7: C.NORMAL,
    8: C.CONGESTION,
    9: C.CONGESTION,
    14: C.INVALID_NUMBER,
    16: C.NORMAL,
    17: C.BUSY,
    18: C.NO_ANSWER,
    19: C.NO_ANSWER,
    20: C.UNREACHABLE,
    21: C.REJECTED,
    22: C.INVALID_NUMBER,
    23: C.INVALID_NUMBER,
    25: C.NETWORK_ERROR,
    26: C.CANCELED,
    27: C.UNREACHABLE,
    28: C.INVALID_NUMBER,
    29: C.REJECTED,
    30: C.NORMAL,
    31: C.NORMAL,
    34: C.CONGESTION,
    38: C.NETWORK_ERROR,
    39: C.NETWORK_ERROR,
    40: C.NETWORK_ERROR,
    41: C.NETWORK_ERROR,
    42: C.CONGESTION,
    43: C.NETWORK_ERROR,
    44: C.CONGESTION,
    46: C.BLOCKED,
    47: C.CONGESTION,
    49: C.NETWORK_ERROR,
    50: C.BLOCKED,
    53: C.BLOCKED,
    55: C.BLOCKED,
    57: C.BLOCKED,
    58: C.CONGESTION,
    62: C.BLOCKED,
    63: C.BLOCKED,
    87: C.BLOCKED,
    88: C.INVALID_NUMBER,
    90: C.BLOCKED,
    91: C.INVALID_NUMBER,
    102: C.NETWORK_ERROR,
}

# Q.850 cause classes (values 0-127 in blocks of 16) → category for unlisted values.
_Q850_CLASS_CATEGORY: tuple[HangupCategory, ...] = (
    C.UNKNOWN,  # 0-15 normal event (unassigned values)
    C.UNKNOWN,  # 16-31 normal event (unassigned values)
    C.CONGESTION,  # 32-47 resource unavailable
    C.BLOCKED,  # 48-63 service or option not available
    C.NETWORK_ERROR,  # 64-79 service or option not implemented
    C.NETWORK_ERROR,  # 80-95 invalid message
    C.NETWORK_ERROR,  # 96-111 protocol error
    C.NETWORK_ERROR,  # 112-127 interworking
)

#: SIP reason phrases of the final responses the RFCs define.
SIP_PHRASES: dict[int, str] = {
    200: "OK",
    202: "Accepted",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    305: "Use Proxy",
    380: "Alternative Service",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    410: "Gone",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    421: "Extension Required",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    485: "Ambiguous",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    491: "Request Pending",
    493: "Undecipherable",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}

#: RFC 3398 §8.2.6.1: SIP response → ISUP/Q.850 cause (487, 488 and 606 have no mapping).
SIP_TO_Q850: dict[int, int] = {
    400: 41,
    401: 21,
    402: 21,
    403: 21,
    404: 1,
    405: 63,
    406: 79,
    407: 21,
    408: 102,
    410: 22,
    413: 127,
    414: 127,
    415: 79,
    416: 127,
    420: 127,
    421: 127,
    423: 127,
    480: 18,
    481: 41,
    482: 25,
    483: 25,
    484: 28,
    485: 1,
    486: 17,
    500: 41,
    501: 79,
    502: 38,
    503: 41,
    504: 102,
    505: 127,
    513: 127,
    600: 17,
    603: 21,
    604: 1,
}

#: Categories for SIP responses (the outcome table of the ITNIO reference, §4.2). Where this
#: differs from the category of the RFC 3398 cause, the SIP meaning wins: a 503 is congestion
#: although cause 41 is a temporary failure, a 487 is a cancel although it maps to no cause.
SIP_CATEGORIES: dict[int, HangupCategory] = {
    200: C.NORMAL,
    202: C.NORMAL,
    401: C.BLOCKED,
    402: C.BLOCKED,
    403: C.REJECTED,
    404: C.INVALID_NUMBER,
    407: C.BLOCKED,
    408: C.NO_ANSWER,
    410: C.INVALID_NUMBER,
    415: C.NETWORK_ERROR,
    480: C.NO_ANSWER,
    484: C.INVALID_NUMBER,
    485: C.INVALID_NUMBER,
    486: C.BUSY,
    487: C.CANCELED,
    488: C.NETWORK_ERROR,
    500: C.NETWORK_ERROR,
    501: C.NETWORK_ERROR,
    502: C.UNREACHABLE,
    503: C.CONGESTION,
    504: C.NETWORK_ERROR,
    600: C.BUSY,
    603: C.REJECTED,
    604: C.INVALID_NUMBER,
    606: C.NETWORK_ERROR,
}


def q850_category(value: int) -> HangupCategory:
    """The category of Q.850 cause ``value`` (0–127)."""
    if value in Q850_CATEGORIES:
        return Q850_CATEGORIES[value]
    return _Q850_CLASS_CATEGORY[value // 16]


def from_q850(value: int, *, provider_code: str | None = None) -> HangupCause:
    """The :class:`HangupCause` for Q.850 cause ``value``.

    Values outside 0–127 (or not integers) give category ``unknown`` and keep the raw value in
    ``provider_code``, so a malformed push still yields a record.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 127:
        return HangupCause(
            C.UNKNOWN,
            q850=None,
            provider_code=provider_code if provider_code is not None else str(value),
            description=f"Q.850 cause out of range: {value!r}",
        )
    name = Q850_NAMES.get(value, f"unassigned cause {value}")
    return HangupCause(
        q850_category(value), q850=value, provider_code=provider_code, description=name
    )


def sip_category(status: int) -> HangupCategory:
    """The category of SIP final response ``status`` (200–699)."""
    if status in SIP_CATEGORIES:
        return SIP_CATEGORIES[status]
    if status in SIP_TO_Q850:
        return q850_category(SIP_TO_Q850[status])
    if 200 <= status < 300:
        return C.NORMAL
    if 500 <= status < 600:
        return C.NETWORK_ERROR
    return C.UNKNOWN


def from_sip(status: int, *, provider_code: str | None = None) -> HangupCause:
    """The :class:`HangupCause` for SIP final response ``status``, with its RFC 3398 cause.

    Statuses outside 200–699 (provisional responses, garbage) give category ``unknown``.
    """
    if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 699:
        return HangupCause(
            C.UNKNOWN,
            sip=None,
            provider_code=provider_code if provider_code is not None else str(status),
            description=f"not a SIP final response: {status!r}",
        )
    phrase = SIP_PHRASES.get(status, f"SIP {status}")
    return HangupCause(
        sip_category(status),
        q850=SIP_TO_Q850.get(status),
        sip=status,
        provider_code=provider_code,
        description=phrase,
    )


_STATUS_BY_CATEGORY: dict[HangupCategory, CallStatus] = {
    C.BUSY: CallStatus.BUSY,
    C.NO_ANSWER: CallStatus.NO_ANSWER,
    C.REJECTED: CallStatus.REJECTED,
    C.CANCELED: CallStatus.CANCELED,
}


def status_for(cause: HangupCause | None, *, answered: bool) -> CallStatus:
    """The final :class:`CallStatus` of a call that ended with ``cause``.

    An answered call is ``completed`` whatever released it. An unanswered call ending
    "normally" did not reach anyone: ``no_answer``.
    """
    if answered:
        return CallStatus.COMPLETED
    if cause is None:
        return CallStatus.FAILED
    if cause.category is C.NORMAL:
        return CallStatus.NO_ANSWER
    return _STATUS_BY_CATEGORY.get(cause.category, CallStatus.FAILED)


def q850_markdown() -> str:
    """Every Q.850 value 0–127 with its name and category, as a Markdown table."""
    lines = ["| Q.850 | name | category |", "|---|---|---|"]
    for value in range(128):
        cause = from_q850(value)
        lines.append(f"| {value} | {cause.description} | `{cause.category.value}` |")
    return "\n".join(lines)


def sip_markdown() -> str:
    """The named SIP final responses with their RFC 3398 cause and category, as Markdown."""
    lines = ["| SIP | phrase | Q.850 (RFC 3398) | category |", "|---|---|---|---|"]
    for status in sorted(SIP_PHRASES):
        cause = from_sip(status)
        q850 = "—" if cause.q850 is None else str(cause.q850)
        lines.append(f"| {status} | {cause.description} | {q850} | `{cause.category.value}` |")
    lines.append("")
    lines.append(
        "Other statuses follow their class: 2xx `normal`, 5xx `network_error`, "
        "3xx, 4xx and 6xx `unknown`."
    )
    return "\n".join(lines)

"""Huawei Voice Call codes as data: result codes, hang-up reasons, teardown points.

* :data:`API_CODES` — every ``resultcode`` of spec §11 and §2.3 → the exception it raises.
  Undocumented ``1023xxx`` codes are authentication failures (prefix rule); anything else
  unknown raises :class:`~voicegw.errors.ProviderError` and keeps the raw code.
* :data:`STATE_CODES` — ``stateCode`` of a ``disconnect`` push (§13) → (category, meaning).
* :data:`TEARDOWN_POINTS` — ``ulFailReason`` of a CDR (§14) → (category, meaning); values
  400–699 not listed are the raw SIP status of the failed leg and go through
  :func:`voicegw.causes.from_sip`.
* Q.850 values (§12: ``callOutUnaswRsn``, ``fwdUnaswRsn``) go through
  :func:`voicegw.causes.from_q850`.

The provider raises from these tables and the docs page shows them, so they cannot drift.
"""

from __future__ import annotations

from voicegw.causes import from_q850, from_sip
from voicegw.codes import CodeEntry, CodeTable
from voicegw.errors import (
    AuthenticationError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    RequestExpired,
)
from voicegw.models import HangupCategory, HangupCause

__all__ = [
    "API_CODES",
    "REQUEST_EXPIRED",
    "STATE_CODES",
    "SUCCESS",
    "TEARDOWN_POINTS",
    "cause_from_q850",
    "cause_from_state_code",
    "cause_from_teardown",
    "code_markdown",
    "http_status_for",
    "state_codes_markdown",
    "teardown_markdown",
]

PLUGIN = "huawei"
SUCCESS = "0"
#: ``Created`` outside the platform's window: the plugin re-signs and retries once.
REQUEST_EXPIRED = "1010013"

C = HangupCategory

_ENTRIES = [
    CodeEntry(SUCCESS, None, "Success"),
    # §11.1 — general
    CodeEntry("1010001", ProviderUnavailable, "Internal system error"),
    CodeEntry("1010002", InvalidRequest, "Invalid request: a parameter is malformed"),
    CodeEntry("1010003", AuthenticationError, "Invalid app_key: unknown APP_Key"),
    CodeEntry("1010006", InvalidRequest, "Invalid Rest API: wrong URI or HTTP method"),
    CodeEntry("1010007", PermissionDenied, "User state is not active (e.g. account in arrears)"),
    CodeEntry("1010008", PermissionDenied, "app_key status unavailable: the app is suspended"),
    CodeEntry("1010009", PermissionDenied, "No more APIs can be invoked: allowance exhausted"),
    # Conflict in the docs (§11.1): the per-API tables say "Invalid digest" (HTTP 401), the
    # developer guide says platform flow control. We follow the per-API tables.
    CodeEntry("1010010", AuthenticationError, "Invalid digest (X-AKSK signature check failed)"),
    CodeEntry("1010011", PermissionDenied, "The app may not access the commercial address"),
    CodeEntry(REQUEST_EXPIRED, RequestExpired, "Time out limit: Created is outside the window"),
    CodeEntry("1010021", PermissionDenied, "Application unavailable (disabled)"),
    CodeEntry("1010023", PermissionDenied, "Invalid display number: not bound to this app"),
    CodeEntry("1010024", InvalidRequest, "Invalid caller number"),
    # §11.2 — numbers, files, templates, recording
    CodeEntry("1012001", PermissionDenied, "app_key and service number not bound"),
    CodeEntry("1012002", InvalidRequest, "Template not approved"),
    CodeEntry("1012003", InvalidRequest, "Template ID does not exist"),
    CodeEntry("1012004", InvalidRequest, "templateParas count does not match the template"),
    CodeEntry("1012005", InvalidRequest, "A templateParas value does not fit its variable"),
    CodeEntry("1012006", PermissionDenied, "Service number not applied for"),
    CodeEntry("1012012", InvalidRequest, "The app has no recording function (recordFlag)"),
    # §11.3 — call control, frequency, blacklist
    CodeEntry("1013001", RateLimited, "Calls exceed the SP limit"),
    CodeEntry("1013002", RateLimited, "Calls exceed the APP limit"),
    CodeEntry("1013003", RateLimited, "Calls exceed the display number limit"),
    CodeEntry("1013004", InvalidRequest, "Callee in blacklist"),
    *(
        CodeEntry(
            str(code),
            RateLimited,
            "Frequency/restriction control (meaning unverified; not retried)",
            retryable=False,
        )
        for code in range(1013112, 1013117)
    ),
    CodeEntry(
        "1013117",
        RateLimited,
        "Callee call-frequency restriction (meaning unverified; not retried)",
        retryable=False,
    ),
    CodeEntry("1013118", RateLimited, "Service number call frequency restricted"),
    CodeEntry("1013119", PermissionDenied, "Service number suspended"),
    CodeEntry("1013120", PermissionDenied, "IP address is null"),
    CodeEntry(
        "1013121",
        RateLimited,
        "Call black time forbidden: calls not allowed in the quiet period",
        retryable=False,
    ),
    # §11.4 — 1020xxx
    CodeEntry("1020001", InvalidRequest, "Parameter error"),
    CodeEntry("1020002", ProviderUnavailable, "Internal error"),
    CodeEntry("1020003", InvalidRequest, "Parameter error"),
    CodeEntry("1020150", AuthenticationError, "The app_key is invalid"),
    CodeEntry("1020151", ProviderError, "Undocumented (added 2019-09-17, meaning unverified)"),
    CodeEntry("1020152", NotFound, "Invalid Call SessionId: no such call in progress"),
    CodeEntry("1020165", RateLimited, "The app's concurrent-call ports are exhausted"),
    CodeEntry("1020166", PermissionDenied, "The client IP is not in the app's IP whitelist"),
    CodeEntry("1020168", PermissionDenied, "Call rejected by carrier IP-region control"),
    CodeEntry(
        "1020176",
        AuthenticationError,
        "Authentication failed, try again later: IP blocked for about 30 minutes",
    ),
    # §2.3 — authentication of the request
    CodeEntry("1023001", ProviderUnavailable, "Internal error during authentication"),
    CodeEntry("1023006", AuthenticationError, "Authorization header absent"),
    CodeEntry("1023007", AuthenticationError, "realm missing in Authorization"),
    CodeEntry("1023008", AuthenticationError, "profile missing in Authorization"),
    CodeEntry("1023009", AuthenticationError, "realm is not SDP"),
    CodeEntry("1023010", AuthenticationError, "profile is not UsernameToken"),
    CodeEntry("1023011", AuthenticationError, "type is not Appkey"),
    CodeEntry("1023012", AuthenticationError, "type missing in Authorization"),
    CodeEntry("1023033", AuthenticationError, "X-AKSK header absent or not a UsernameToken"),
    CodeEntry("1023034", AuthenticationError, "Username missing in X-AKSK"),
    CodeEntry("1023035", AuthenticationError, "Nonce missing or invalid in X-AKSK"),
    CodeEntry("1023036", AuthenticationError, "Created missing in X-AKSK"),
    CodeEntry("1023037", AuthenticationError, "PasswordDigest missing in X-AKSK"),
]

#: Every documented ``resultcode`` → its exception (``ProviderPlugin.codes["api"]``).
API_CODES = CodeTable(PLUGIN, _ENTRIES, prefixes={"1023": AuthenticationError})

_HTTP_500 = frozenset({"1010001", "1020002", "1023001"})
_HTTP_401 = frozenset({"1010010", REQUEST_EXPIRED})


def http_status_for(code: str) -> int:
    """The HTTP status the platform answers ``code`` with (spec §11 ASSUMPTION).

    Clients must not depend on it — the provider decides by ``resultcode`` — but the
    emulator answers like this: 1023xxx → 400, 1010010/1010013 → 401, internal errors → 500,
    every other refusal → 403.
    """
    if code == SUCCESS:
        return 200
    if code in _HTTP_500:
        return 500
    if code in _HTTP_401:
        return 401
    if code.startswith("1023"):
        return 400
    return 403


# ---------------------------------------------------------------------------------------------
# Hang-up reasons (stateCode of the disconnect push, §13)

#: ``stateCode`` → (category, meaning). 8106–8111 are caller-side reasons from third-party
#: lists; their use as ``stateCode`` is unverified (they are documented teardown points).
STATE_CODES: dict[int, tuple[HangupCategory, str]] = {
    0: (C.NORMAL, "normal release after the call was answered"),
    7001: (C.BLOCKED, "call-frequency control of the developer (SP)"),
    7002: (C.BLOCKED, "call-frequency control of the app"),
    7003: (C.BLOCKED, "call-frequency control of the display number"),
    7004: (C.BLOCKED, "callee is on the blacklist"),
    7108: (C.BLOCKED, "user (account) frozen"),
    7109: (C.CONGESTION, "insufficient voice ports (concurrency)"),
    8000: (C.NETWORK_ERROR, "internal error"),
    8001: (C.NETWORK_ERROR, "call could not be connected (line fault, frequency control, …)"),
    8002: (C.UNREACHABLE, "far end played a failure announcement"),
    8003: (C.NO_ANSWER, "ringing timeout"),
    8004: (C.REJECTED, "hung up while ringing"),
    8005: (C.UNKNOWN, "TTS conversion failed"),
    8006: (C.UNKNOWN, "voice file does not exist"),
    8007: (C.UNKNOWN, "playback failed"),
    8008: (C.NORMAL, "play-and-collect failed (no digits within 5 s)"),
    8009: (C.CANCELED, "caller hung up before answer"),
    8010: (C.NORMAL, "maximum call duration (maxDuration) reached"),
    8012: (C.BLOCKED, "invalid app_key"),
    8015: (C.UNKNOWN, "recording failed"),
    8017: (C.CANCELED, "call released on user instruction"),
    8018: (C.BLOCKED, "no service permission"),
    8020: (C.NETWORK_ERROR, "service exception"),
    8100: (C.INVALID_NUMBER, "callee number does not exist"),
    8101: (C.NO_ANSWER, "callee did not answer"),
    8102: (C.BUSY, "callee busy"),
    8103: (C.UNREACHABLE, "callee unreachable"),
    8104: (C.UNREACHABLE, "callee switched off"),
    8105: (C.UNREACHABLE, "callee hung up / line suspended"),
    8106: (C.INVALID_NUMBER, "caller number does not exist (as stateCode: unverified)"),
    8107: (C.NO_ANSWER, "caller did not answer (as stateCode: unverified)"),
    8108: (C.BUSY, "caller busy (as stateCode: unverified)"),
    8109: (C.UNREACHABLE, "caller unreachable (as stateCode: unverified)"),
    8110: (C.UNREACHABLE, "caller switched off (as stateCode: unverified)"),
    8111: (C.UNREACHABLE, "caller hung up / line suspended (as stateCode: unverified)"),
}


# ---------------------------------------------------------------------------------------------
# Teardown points (ulFailReason of a CDR, §14)


def _teardown_points() -> dict[int, tuple[HangupCategory, str]]:
    points: dict[int, tuple[HangupCategory, str]] = {
        0: (C.NORMAL, "no failure"),
        100: (C.NORMAL, "digit collection returned nothing"),
        501: (C.UNKNOWN, "recording: creating the conference failed"),
        502: (C.UNKNOWN, "recording: creating the conference timed out"),
        503: (C.UNKNOWN, "recording: caller joining the conference failed"),
        504: (C.UNKNOWN, "recording: caller joining the conference timed out"),
        505: (C.UNKNOWN, "recording: adding the recording endpoint failed"),
        506: (C.UNKNOWN, "recording: adding the recording endpoint timed out"),
        507: (C.UNKNOWN, "recording: start of recording failed"),
        508: (C.UNKNOWN, "recording: start of recording timed out"),
        509: (C.UNKNOWN, "recording: hint tone failed"),
        510: (C.UNKNOWN, "recording: hint tone timed out"),
        512: (C.NETWORK_ERROR, "call released by a VCU switchover"),
        513: (C.NO_ANSWER, "call timeout"),
        514: (C.NO_ANSWER, "ringing timeout"),
        515: (C.CANCELED, "remote cancel"),
        516: (C.CANCELED, "local cancel"),
        517: (C.NETWORK_ERROR, "platform response timeout"),
        518: (C.UNKNOWN, "remote side failed the call (see the Q.850 value / sipStatusCode)"),
        519: (C.NETWORK_ERROR, "local call failed (0XX response)"),
        520: (C.NETWORK_ERROR, "local call failed (18X response)"),
        521: (C.UNREACHABLE, "remote released before ringing"),
        522: (C.CONGESTION, "insufficient voice ports"),
        524: (C.UNKNOWN, "voice file does not exist"),
        526: (C.UNKNOWN, "mute failed"),
        527: (C.UNKNOWN, "unmute failed"),
        528: (C.BLOCKED, "number prefix not allowed"),
        529: (C.BLOCKED, "appkey does not exist"),
        530: (C.CANCELED, "caller hung up before the call was forwarded"),
        539: (C.CANCELED, "caller hung up before the recording flow completed"),
        540: (C.CANCELED, "callee hung up before the recording flow completed"),
        541: (C.NETWORK_ERROR, "media renegotiation failed"),
        542: (C.NETWORK_ERROR, "released because of recording timeout"),
        550: (C.NETWORK_ERROR, "local ringing failed"),
        551: (C.NETWORK_ERROR, "click-to-call: local side received 0XX"),
        552: (C.CANCELED, "local side hung up while the remote side was ringing"),
        553: (C.CANCELED, "local side hung up before the remote side rang"),
        1001: (C.NORMAL, "agent hung up"),
        1002: (C.NORMAL, "user hung up"),
        1003: (C.CANCELED, "SP released the call through the API (callStop)"),
        1004: (C.NORMAL, "agent blind transfer"),
        2801: (C.UNKNOWN, "IVR playback failed"),
        2802: (C.UNKNOWN, "IVR rule invalid"),
        2803: (C.UNKNOWN, "IVR maximum key presses exceeded"),
        2805: (C.BLOCKED, "IVR outside service time (variant 1)"),
        2806: (C.BLOCKED, "IVR outside service time (variant 2)"),
        2810: (C.NETWORK_ERROR, "no MRF configured"),
        2811: (C.NETWORK_ERROR, "no I-CSCF configured"),
        2812: (C.UNKNOWN, "playback timeout"),
        2825: (C.NORMAL, "satisfaction survey finished"),
        2829: (C.NO_ANSWER, "extension busy or no answer"),
        2831: (C.CONGESTION, "enterprise inbound licence limit"),
        2837: (C.UNKNOWN, "playback failed"),
        2838: (C.NO_ANSWER, "INVITE timeout"),
        2847: (C.CONGESTION, "no idle agent"),
        2853: (C.UNREACHABLE, "agent unavailable"),
        2863: (C.UNKNOWN, "voicemail recording failed"),
        2868: (C.BLOCKED, "enterprise suspended"),
        2871: (C.NETWORK_ERROR, "dynamic IVR: timeout waiting for the SP"),
    }
    for code in range(2901, 2915):
        points[code] = (C.UNKNOWN, "recording failure (individual meaning not documented)")
    points.update(
        {
            7005: (C.BLOCKED, "caller on blacklist"),
            7100: (C.BLOCKED, "app information missing"),
            7105: (C.BLOCKED, "service type mismatch"),
            7106: (C.BLOCKED, "app lacks the required number capability"),
            7107: (C.UNKNOWN, "security (compliance) tone playback failed"),
        }
    )
    # 7001–7004, 7108, 7109 and 8000–8111: as the hang-up reasons (§13).
    for code, (category, meaning) in STATE_CODES.items():
        if code >= 7000:
            points[code] = (category, meaning.replace(" (as stateCode: unverified)", ""))
    return dict(sorted(points.items()))


#: ``ulFailReason`` → (category, meaning). Unlisted 400–699 values are raw SIP statuses.
TEARDOWN_POINTS: dict[int, tuple[HangupCategory, str]] = _teardown_points()


# ---------------------------------------------------------------------------------------------
# Causes


def cause_from_state_code(code: int) -> HangupCause:
    """The :class:`HangupCause` of a ``disconnect`` push's ``stateCode``."""
    entry = STATE_CODES.get(code)
    if entry is None:
        return HangupCause(C.UNKNOWN, provider_code=str(code), description="undocumented stateCode")
    category, meaning = entry
    return HangupCause(category, provider_code=str(code), description=meaning)


def cause_from_teardown(code: int) -> HangupCause:
    """The :class:`HangupCause` of a CDR's ``ulFailReason`` (teardown point)."""
    entry = TEARDOWN_POINTS.get(code)
    if entry is not None:
        category, meaning = entry
        return HangupCause(category, provider_code=str(code), description=meaning)
    if 400 <= code <= 699:
        return from_sip(code, provider_code=str(code))
    return HangupCause(
        C.UNKNOWN, provider_code=str(code), description="undocumented teardown point"
    )


def cause_from_q850(value: int, *, provider_code: str | None = None) -> HangupCause:
    """The :class:`HangupCause` of a Q.850 value (``callOutUnaswRsn``, ``fwdUnaswRsn``)."""
    return from_q850(value, provider_code=provider_code)


# ---------------------------------------------------------------------------------------------
# Documentation


def code_markdown() -> str:
    """The result-code table as Markdown (what ``<!-- voicegw:codes huawei api -->`` renders)."""
    return API_CODES.markdown()


def _pairs_markdown(title: str, table: dict[int, tuple[HangupCategory, str]]) -> str:
    lines = [f"| {title} | meaning | category |", "|---|---|---|"]
    for code, (category, meaning) in table.items():
        lines.append(f"| {code} | {meaning} | `{category.value}` |")
    return "\n".join(lines)


def state_codes_markdown() -> str:
    """The hang-up reason table (``stateCode``) as Markdown."""
    return _pairs_markdown("stateCode", STATE_CODES) + (
        "\n\nAny other stateCode gives category `unknown` and keeps the raw value."
    )


def teardown_markdown() -> str:
    """The teardown-point table (``ulFailReason``) as Markdown."""
    return _pairs_markdown("ulFailReason", TEARDOWN_POINTS) + (
        "\n\nOther values from 400 to 699 are the raw SIP status of the failed leg and map "
        "like any SIP response; anything else gives category `unknown`."
    )

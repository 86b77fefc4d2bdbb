"""Every row of every Huawei code table: result codes, hang-up reasons, teardown points."""

from __future__ import annotations

from pathlib import Path

import pytest

from voicegw.causes import from_q850
from voicegw.errors import (
    AuthenticationError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    RequestExpired,
    VoiceError,
)
from voicegw.models import HangupCategory
from voicegw_huawei.codes import (
    API_CODES,
    STATE_CODES,
    TEARDOWN_POINTS,
    cause_from_q850,
    cause_from_state_code,
    cause_from_teardown,
    http_status_for,
    state_codes_markdown,
    teardown_markdown,
)

C = HangupCategory

#: Spec §11 and §2.3, code by code, with the class our reading gives it.
EXPECTED_API: dict[str, type[VoiceError] | None] = {
    "0": None,
    "1010001": ProviderUnavailable,
    "1010002": InvalidRequest,
    "1010003": AuthenticationError,
    "1010006": InvalidRequest,
    "1010007": PermissionDenied,
    "1010008": PermissionDenied,
    "1010009": PermissionDenied,
    "1010010": AuthenticationError,
    "1010011": PermissionDenied,
    "1010013": RequestExpired,
    "1010021": PermissionDenied,
    "1010023": PermissionDenied,
    "1010024": InvalidRequest,
    "1012001": PermissionDenied,
    "1012002": InvalidRequest,
    "1012003": InvalidRequest,
    "1012004": InvalidRequest,
    "1012005": InvalidRequest,
    "1012006": PermissionDenied,
    "1012012": InvalidRequest,
    "1013001": RateLimited,
    "1013002": RateLimited,
    "1013003": RateLimited,
    "1013004": InvalidRequest,
    "1013112": RateLimited,
    "1013113": RateLimited,
    "1013114": RateLimited,
    "1013115": RateLimited,
    "1013116": RateLimited,
    "1013117": RateLimited,
    "1013118": RateLimited,
    "1013119": PermissionDenied,
    "1013120": PermissionDenied,
    "1013121": RateLimited,
    "1020001": InvalidRequest,
    "1020002": ProviderUnavailable,
    "1020003": InvalidRequest,
    "1020150": AuthenticationError,
    "1020151": ProviderError,
    "1020152": NotFound,
    "1020165": RateLimited,
    "1020166": PermissionDenied,
    "1020168": PermissionDenied,
    "1020176": AuthenticationError,
    "1023001": ProviderUnavailable,
    "1023006": AuthenticationError,
    "1023007": AuthenticationError,
    "1023008": AuthenticationError,
    "1023009": AuthenticationError,
    "1023010": AuthenticationError,
    "1023011": AuthenticationError,
    "1023012": AuthenticationError,
    "1023033": AuthenticationError,
    "1023034": AuthenticationError,
    "1023035": AuthenticationError,
    "1023036": AuthenticationError,
    "1023037": AuthenticationError,
}

#: Restrictions that do not lift in seconds: never retried.
NOT_RETRIED = {"1013112", "1013113", "1013114", "1013115", "1013116", "1013117", "1013121"}


def test_the_table_holds_exactly_the_documented_codes() -> None:
    assert {entry.code for entry in API_CODES} == set(EXPECTED_API)


@pytest.mark.parametrize(("code", "error"), sorted(EXPECTED_API.items()))
def test_every_result_code(code: str, error: type[VoiceError] | None) -> None:
    entry = API_CODES.lookup(code)
    assert entry.error is error
    if error is None:
        assert API_CODES.is_success(code)
        return
    raised = API_CODES.error(code, "text from the platform", provider="hw")
    assert type(raised) is error
    assert raised.code == code
    assert raised.call_placed is False
    assert raised.plugin == "huawei"
    assert "text from the platform" in raised.message
    expected_retry = error.default_retryable and code not in NOT_RETRIED
    assert raised.retryable is expected_retry


def test_undocumented_1023_codes_are_authentication_failures() -> None:
    raised = API_CODES.error("1023099", None, provider="hw")
    assert type(raised) is AuthenticationError
    assert raised.code == "1023099"


def test_other_undocumented_codes_keep_the_raw_code() -> None:
    raised = API_CODES.error("1099999", "new", provider="hw")
    assert type(raised) is ProviderError
    assert raised.code == "1099999"


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("0", 200),
        ("1023006", 400),
        ("1023099", 400),
        ("1010010", 401),
        ("1010013", 401),
        ("1010001", 500),
        ("1020002", 500),
        ("1023001", 500),
        ("1010002", 403),
        ("1020165", 403),
    ],
)
def test_http_status_per_code(code: str, status: int) -> None:
    assert http_status_for(code) == status


# -- stateCode (§13) ----------------------------------------------------------------------------

EXPECTED_STATE: dict[int, HangupCategory] = {
    0: C.NORMAL,
    7001: C.BLOCKED,
    7002: C.BLOCKED,
    7003: C.BLOCKED,
    7004: C.BLOCKED,
    7108: C.BLOCKED,
    7109: C.CONGESTION,
    8000: C.NETWORK_ERROR,
    8001: C.NETWORK_ERROR,
    8002: C.UNREACHABLE,
    8003: C.NO_ANSWER,
    8004: C.REJECTED,
    8005: C.UNKNOWN,
    8006: C.UNKNOWN,
    8007: C.UNKNOWN,
    8008: C.NORMAL,
    8009: C.CANCELED,
    8010: C.NORMAL,
    8012: C.BLOCKED,
    8015: C.UNKNOWN,
    8017: C.CANCELED,
    8018: C.BLOCKED,
    8020: C.NETWORK_ERROR,
    8100: C.INVALID_NUMBER,
    8101: C.NO_ANSWER,
    8102: C.BUSY,
    8103: C.UNREACHABLE,
    8104: C.UNREACHABLE,
    8105: C.UNREACHABLE,
    8106: C.INVALID_NUMBER,
    8107: C.NO_ANSWER,
    8108: C.BUSY,
    8109: C.UNREACHABLE,
    8110: C.UNREACHABLE,
    8111: C.UNREACHABLE,
}


def test_state_code_table_covers_the_spec() -> None:
    assert set(STATE_CODES) == set(EXPECTED_STATE)


@pytest.mark.parametrize(("code", "category"), sorted(EXPECTED_STATE.items()))
def test_every_state_code(code: int, category: HangupCategory) -> None:
    cause = cause_from_state_code(code)
    assert cause.category is category
    assert cause.provider_code == str(code)
    assert cause.description == STATE_CODES[code][1]
    assert cause.q850 is None


def test_undocumented_state_code() -> None:
    cause = cause_from_state_code(8013)
    assert (cause.category, cause.provider_code) == (C.UNKNOWN, "8013")


# -- teardown points (§14) -------------------------------------------------------------------

#: Every teardown point of spec §14 that has a meaning of its own.
DOCUMENTED_POINTS = {
    0, 100, 501, 502, 503, 504, 505, 506, 507, 508, 509, 510, 512, 513, 514, 515, 516, 517,
    518, 519, 520, 521, 522, 524, 526, 527, 528, 529, 530, 539, 540, 541, 542, 550, 551, 552,
    553, 1001, 1002, 1003, 1004, 2801, 2802, 2803, 2805, 2806, 2810, 2811, 2812, 2825, 2829,
    2831, 2837, 2838, 2847, 2853, 2863, 2868, 2871, *range(2901, 2915), 7001, 7002, 7003,
    7004, 7005, 7100, 7105, 7106, 7107, 7108, 7109, *(c for c in EXPECTED_STATE if c >= 8000),
}  # fmt: skip


def test_teardown_table_covers_the_spec() -> None:
    assert set(TEARDOWN_POINTS) == DOCUMENTED_POINTS


@pytest.mark.parametrize("code", sorted(TEARDOWN_POINTS))
def test_every_teardown_point(code: int) -> None:
    category, meaning = TEARDOWN_POINTS[code]
    cause = cause_from_teardown(code)
    assert (cause.category, cause.description, cause.provider_code) == (
        category,
        meaning,
        str(code),
    )
    if code in EXPECTED_STATE:
        assert category is EXPECTED_STATE[code]
    assert "unverified" not in meaning


@pytest.mark.parametrize(
    ("code", "category"),
    [
        (1003, C.CANCELED),
        (514, C.NO_ANSWER),
        (522, C.CONGESTION),
        (528, C.BLOCKED),
        (0, C.NORMAL),
    ],
)
def test_key_teardown_categories(code: int, category: HangupCategory) -> None:
    assert cause_from_teardown(code).category is category


@pytest.mark.parametrize(
    ("code", "category"),
    [(486, C.BUSY), (480, C.NO_ANSWER), (404, C.INVALID_NUMBER), (603, C.REJECTED)],
)
def test_raw_sip_teardown_points(code: int, category: HangupCategory) -> None:
    cause = cause_from_teardown(code)
    assert cause.category is category
    assert cause.sip == code
    assert cause.provider_code == str(code)


def test_undocumented_teardown_point() -> None:
    assert cause_from_teardown(3333).category is C.UNKNOWN


@pytest.mark.parametrize("value", range(128))
def test_every_q850_value_goes_through_voicegw_causes(value: int) -> None:
    assert cause_from_q850(value) == from_q850(value)


# -- the docs page shows these same tables -----------------------------------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs" / "providers" / "huawei.md"


def test_docs_page_has_the_code_table_marker() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert "\n<!-- voicegw:codes huawei api -->\n" in text


def test_docs_page_renders_the_state_code_and_teardown_tables_from_the_data() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert "\n<!-- voicegw:python voicegw_huawei.codes.state_codes_markdown -->\n" in text
    assert "\n<!-- voicegw:python voicegw_huawei.codes.teardown_markdown -->\n" in text
    assert state_codes_markdown().startswith("| stateCode |")
    assert teardown_markdown().startswith("| ")

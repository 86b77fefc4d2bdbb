"""Hang-up causes: Q.850 and SIP final responses → HangupCategory, and the final status.

The tables below are copied from the ITNIO reference (/work/shared/specs/itniotech-voice.md):
§4.4 (RFC 3398 §8.2.6.1, SIP → Q.850) and §4.2 (SIP final code → outcome).
"""

from __future__ import annotations

from typing import Any

import pytest

from voicegw.causes import (
    Q850_NAMES,
    SIP_PHRASES,
    SIP_TO_Q850,
    from_q850,
    from_sip,
    q850_markdown,
    sip_markdown,
    status_for,
)
from voicegw.models import CallStatus, HangupCategory, HangupCause

C = HangupCategory

#: RFC 3398 §8.2.6.1, row by row. None: "no mapping" / "taken from the Warning header".
RFC3398_SIP_TO_Q850: dict[int, int | None] = {
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
    487: None,
    488: None,
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
    606: None,
}

#: §4.2: SIP final code → our category (the rows that name one).
OUTCOME_CATEGORIES: dict[int, HangupCategory] = {
    200: C.NORMAL,
    486: C.BUSY,
    600: C.BUSY,
    480: C.NO_ANSWER,
    408: C.NO_ANSWER,
    487: C.CANCELED,  # "no_answer if ringingTime set, else canceled": the cause alone says canceled
    603: C.REJECTED,
    403: C.REJECTED,
    404: C.INVALID_NUMBER,
    604: C.INVALID_NUMBER,
    484: C.INVALID_NUMBER,
    485: C.INVALID_NUMBER,
    410: C.INVALID_NUMBER,
    502: C.UNREACHABLE,
    503: C.CONGESTION,
    500: C.NETWORK_ERROR,
    504: C.NETWORK_ERROR,
}

#: §4.2 rows whose outcome is "failed": not answered, and the final status must be ``failed``.
OUTCOME_FAILED = [401, 407, 402, 488, 606, 415, 501, 505, 513, 599, 400, 405, 499, 699]

#: §4.2 "other 5xx → network_error".
OTHER_5XX = [505, 513, 550, 580, 599]


@pytest.mark.parametrize(("sip", "q850"), RFC3398_SIP_TO_Q850.items())
def test_rfc3398_sip_to_q850(sip: int, q850: int | None) -> None:
    cause = from_sip(sip)
    assert cause.sip == sip
    assert cause.q850 == q850
    assert cause.description == SIP_PHRASES[sip]


def test_rfc3398_table_has_no_extra_rows() -> None:
    assert {k: v for k, v in RFC3398_SIP_TO_Q850.items() if v is not None} == SIP_TO_Q850


@pytest.mark.parametrize(("sip", "category"), OUTCOME_CATEGORIES.items())
def test_sip_outcome_table(sip: int, category: HangupCategory) -> None:
    assert from_sip(sip).category is category


@pytest.mark.parametrize("sip", OUTCOME_FAILED)
def test_sip_failures_end_as_failed(sip: int) -> None:
    cause = from_sip(sip)
    assert cause.category not in {C.NORMAL, C.BUSY, C.NO_ANSWER, C.REJECTED, C.CANCELED}
    assert status_for(cause, answered=False) is CallStatus.FAILED


@pytest.mark.parametrize("sip", OTHER_5XX)
def test_other_5xx_are_network_errors(sip: int) -> None:
    assert from_sip(sip).category is C.NETWORK_ERROR


@pytest.mark.parametrize(
    ("sip", "status"),
    [
        (486, CallStatus.BUSY),
        (600, CallStatus.BUSY),
        (480, CallStatus.NO_ANSWER),
        (408, CallStatus.NO_ANSWER),
        (603, CallStatus.REJECTED),
        (403, CallStatus.REJECTED),
        (487, CallStatus.CANCELED),
        (404, CallStatus.FAILED),
        (502, CallStatus.FAILED),
        (503, CallStatus.FAILED),
        (500, CallStatus.FAILED),
    ],
)
def test_sip_outcomes_give_the_twilio_like_status(sip: int, status: CallStatus) -> None:
    assert status_for(from_sip(sip), answered=False) is status


def test_every_sip_final_status_has_a_category() -> None:
    for sip in range(200, 700):
        cause = from_sip(sip)
        assert isinstance(cause.category, HangupCategory), sip
        assert (cause.sip, bool(cause.description)) == (sip, True), sip
        if 200 <= sip < 300:
            assert cause.category is C.NORMAL, sip
        if 500 <= sip < 600:
            assert cause.category not in {C.NORMAL, C.UNKNOWN}, sip


def test_every_q850_value_has_a_category() -> None:
    for value in range(128):
        cause = from_q850(value)
        assert isinstance(cause.category, HangupCategory), value
        assert (cause.q850, cause.sip) == (value, None), value
        assert cause.description == Q850_NAMES.get(value, f"unassigned cause {value}")


@pytest.mark.parametrize(
    ("value", "category"),
    [
        (1, C.INVALID_NUMBER),
        (3, C.UNREACHABLE),
        (16, C.NORMAL),
        (17, C.BUSY),
        (18, C.NO_ANSWER),
        (19, C.NO_ANSWER),
        (20, C.UNREACHABLE),
        (21, C.REJECTED),
        (22, C.INVALID_NUMBER),
        (27, C.UNREACHABLE),
        (28, C.INVALID_NUMBER),
        (31, C.NORMAL),
        (34, C.CONGESTION),
        (38, C.NETWORK_ERROR),
        (41, C.NETWORK_ERROR),
        (42, C.CONGESTION),
        (47, C.CONGESTION),
        (57, C.BLOCKED),
        (63, C.BLOCKED),
        (79, C.NETWORK_ERROR),
        (102, C.NETWORK_ERROR),
        (127, C.NETWORK_ERROR),
    ],
)
def test_q850_well_known_causes(value: int, category: HangupCategory) -> None:
    assert from_q850(value).category is category


@pytest.mark.parametrize(
    ("value", "unspecified"),
    [(35, 47), (60, 63), (67, 79), (93, 95), (104, 111), (120, 127)],
)
def test_unassigned_q850_values_follow_their_class(value: int, unspecified: int) -> None:
    # Q.850: an unrecognized value is treated as the "unspecified" cause of its class.
    assert value not in Q850_NAMES
    assert from_q850(value).category is from_q850(unspecified).category
    assert from_q850(value).description == f"unassigned cause {value}"


def test_sip_and_q850_agree_on_the_busy_and_no_answer_cases() -> None:
    for sip in (486, 600, 480):
        cause = from_sip(sip)
        assert cause.q850 is not None
        assert from_q850(cause.q850).category is cause.category


@pytest.mark.parametrize("value", [-1, 128, 1000, "17", None, True, 17.0])
def test_q850_out_of_range_is_unknown_and_keeps_the_raw_value(value: Any) -> None:
    cause = from_q850(value)
    assert cause.category is C.UNKNOWN
    assert cause.q850 is None
    assert cause.provider_code == str(value)
    assert "out of range" in cause.description


@pytest.mark.parametrize("value", [0, 100, 180, 199, 700, -486, "486", None, False, 486.0])
def test_sip_outside_final_responses_is_unknown(value: Any) -> None:
    cause = from_sip(value)
    assert cause.category is C.UNKNOWN
    assert cause.sip is None
    assert cause.q850 is None
    assert cause.provider_code == str(value)


def test_provider_code_is_kept() -> None:
    assert from_q850(17, provider_code="USER_BUSY").provider_code == "USER_BUSY"
    assert from_sip(486, provider_code="486").provider_code == "486"
    assert from_sip(99, provider_code="weird").provider_code == "weird"
    assert from_q850(500, provider_code="x").provider_code == "x"


# -- status_for --------------------------------------------------------------------------------


@pytest.mark.parametrize("category", list(HangupCategory))
def test_an_answered_call_is_completed_whatever_released_it(category: HangupCategory) -> None:
    assert status_for(HangupCause(category), answered=True) is CallStatus.COMPLETED
    assert status_for(None, answered=True) is CallStatus.COMPLETED


@pytest.mark.parametrize(
    ("category", "status"),
    [
        (C.NORMAL, CallStatus.NO_ANSWER),
        (C.BUSY, CallStatus.BUSY),
        (C.NO_ANSWER, CallStatus.NO_ANSWER),
        (C.REJECTED, CallStatus.REJECTED),
        (C.CANCELED, CallStatus.CANCELED),
        (C.INVALID_NUMBER, CallStatus.FAILED),
        (C.UNREACHABLE, CallStatus.FAILED),
        (C.NETWORK_ERROR, CallStatus.FAILED),
        (C.CONGESTION, CallStatus.FAILED),
        (C.BLOCKED, CallStatus.FAILED),
        (C.UNKNOWN, CallStatus.FAILED),
    ],
)
def test_status_of_an_unanswered_call(category: HangupCategory, status: CallStatus) -> None:
    assert status_for(HangupCause(category), answered=False) is status


def test_an_unanswered_call_without_a_cause_failed() -> None:
    assert status_for(None, answered=False) is CallStatus.FAILED


def test_status_for_is_always_final() -> None:
    for value in range(128):
        for answered in (True, False):
            assert status_for(from_q850(value), answered=answered).is_final


# -- documentation tables ----------------------------------------------------------------------


def test_q850_markdown_lists_all_128_values() -> None:
    lines = q850_markdown().splitlines()
    assert lines[0] == "| Q.850 | name | category |"
    assert len(lines) == 2 + 128
    assert "| 17 | user busy | `busy` |" in lines


def test_sip_markdown_lists_every_named_response() -> None:
    text = sip_markdown()
    assert "| 486 | Busy Here | 17 | `busy` |" in text
    assert "| 487 | Request Terminated | — | `canceled` |" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == len(SIP_PHRASES)
